package testwait

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a testing.TB that keeps what Fatalf says instead of
// ending the test.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

func TestForReturnsOnceTrue(t *testing.T) {
	var n atomic.Int32
	go func() {
		for range 5 {
			n.Add(1)
		}
	}()
	r := &recorder{TB: t}
	For(r, "five", func() bool { return n.Load() == 5 })
	if r.failed != "" {
		t.Errorf("failed: %s", r.failed)
	}
}

func TestWithinFailsSayingWhat(t *testing.T) {
	r := &recorder{TB: t}
	calls := 0
	start := time.Now()
	Within(r, 30*time.Millisecond, "the impossible", func() bool { calls++; return false })
	if want := "waited 30ms for the impossible"; r.failed != want {
		t.Errorf("failure %q, want %q", r.failed, want)
	}
	if time.Since(start) < 30*time.Millisecond {
		t.Errorf("gave up after %v, before its time", time.Since(start))
	}
	if calls < 2 {
		t.Errorf("cond called %d times, want it polled", calls)
	}
}
