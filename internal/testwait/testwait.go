// Package testwait waits, in tests, for something another goroutine or a
// server makes true: a count reached, a connection closed. It polls, from
// every millisecond at first to every 20 at most, and fails the test with
// what it waited for once the time is up, so that no test sleeps a fixed
// time that a loaded machine can outlast.
package testwait

import (
	"testing"
	"time"
)

// Timeout is how long For waits: long enough for a machine running many
// tests at once, short enough to fail before the test binary's timeout.
const Timeout = 10 * time.Second

// maxPoll bounds the time between two looks at the condition.
const maxPoll = 20 * time.Millisecond

// For waits until cond holds, for Timeout at most, then fails t with what
// it was waiting for. cond is called from the test's goroutine.
func For(t testing.TB, what string, cond func() bool) {
	t.Helper()
	Within(t, Timeout, what, cond)
}

// Within is For with a time limit of d.
func Within(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	poll := time.Millisecond
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("waited %v for %s", d, what)
			return
		}
		time.Sleep(poll)
		poll = min(2*poll, maxPoll)
	}
}
