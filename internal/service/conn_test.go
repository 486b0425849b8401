package service

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestExtend checks the coarse deadlines of Conn: after any activity the
// deadline is at least the timeout away and at most 9/8 of it, and a run
// of activity moves it once, not every time.
func TestExtend(t *testing.T) {
	const d = 800 * time.Millisecond
	var dl atomic.Int64
	var sets []time.Time
	set := func(t time.Time) error { sets = append(sets, t); return nil }
	for range 100 {
		before := time.Now()
		extend(&dl, d, set)
		got := time.Unix(0, dl.Load())
		if got.Before(before.Add(d)) || got.After(time.Now().Add(d+d/8)) {
			t.Fatalf("deadline %v after activity at %v: want within [d, 9/8 d]", got.Sub(before), before)
		}
	}
	if len(sets) != 1 {
		t.Errorf("%d deadlines set for 100 quick calls, want 1", len(sets))
	}
	dl.Store(time.Now().Add(d - time.Millisecond).UnixNano()) // less than d left
	extend(&dl, d, set)
	if len(sets) != 2 {
		t.Errorf("the deadline was not moved with less than the timeout left")
	}
}
