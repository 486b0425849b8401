//go:build !linux

package scan

import (
	"context"
	"errors"
	"sync/atomic"

	"golang.org/x/time/rate"
)

// ErrUnsupported is what a scan returns where its engine is not built:
// the event loops are Linux's epoll.
var ErrUnsupported = errors.New("scan: needs Linux (the engine uses epoll)")

// loop stands in for the Linux event loop: it probes nothing and fails.
type loop struct {
	probes, retries, localWait int
	err                        error
}

func newLoop(Timing, []Target, []Port, int, *rate.Limiter, chan<- []Result, chan []Result, []atomic.Uint32) *loop {
	return &loop{}
}

func (l *loop) run(context.Context) { l.err = ErrUnsupported }

func fdBudget() int { return 1024 }
