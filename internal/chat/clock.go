package chat

import "time"

// Clock is where the chat takes its time from: the wall clock (the
// default, SystemClock) or, in tests, one that moves only when told to,
// so that batching windows, write rounds and waits are tested without
// sleeping.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed, as
	// time.AfterFunc does.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending call of Clock.AfterFunc.
type Timer interface {
	// Stop prevents the call if it has not happened, and reports whether
	// it did so.
	Stop() bool
}

// SystemClock is the wall clock, package time's.
var SystemClock Clock = systemClock{}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
