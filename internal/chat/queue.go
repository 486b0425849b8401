package chat

import "sync"

// queue is one member's bounded queue of undelivered events. Unlike a
// buffered channel it costs nothing while empty: a room of 10,000 idle
// members holds no buffers, and a member behind by a burst holds only
// pointers to events shared with everyone else. A member whose queue is
// full is not reading, and is dropped.
type queue struct {
	mu     sync.Mutex
	events []*Event
	max    int
	closed bool
	ready  chan struct{} // holds a token while there is something to take
}

func newQueue(max int) *queue {
	return &queue{max: max, ready: make(chan struct{}, 1)}
}

// push adds e, reporting false if the queue is full or closed.
func (q *queue) push(e *Event) bool {
	q.mu.Lock()
	if q.closed || len(q.events) >= q.max {
		q.mu.Unlock()
		return false
	}
	q.events = append(q.events, e)
	q.mu.Unlock()
	q.signal()
	return true
}

func (q *queue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// close ends the queue: what is queued can still be taken, then take
// reports the end.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

// take waits until there are events or the queue is closed, moves every
// queued event to dst and returns it. It reports false once the queue is
// closed and empty.
func (q *queue) take(dst []*Event) ([]*Event, bool) {
	for {
		q.mu.Lock()
		if n := len(q.events); n > 0 {
			dst = append(dst, q.events...)
			clear(q.events)
			if cap(q.events) > 64 {
				q.events = nil // do not keep a burst's array for an idle member
			} else {
				q.events = q.events[:0]
			}
			q.mu.Unlock()
			return dst, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return dst, false
		}
		<-q.ready
	}
}

// len reports how many events wait.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.events)
}
