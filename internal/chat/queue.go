package chat

import "sync"

// queue is one member's bounded queue of undelivered events. Unlike a
// buffered channel it costs nothing while empty: a room of 10,000 idle
// members holds no buffers, and a member behind by a burst holds only
// pointers to events shared with everyone else. A member whose queue is
// full is not reading, and is dropped.
//
// The events are taken in one of two ways. A transport's own goroutine
// may wait for them with take. Or the queue drains itself (see
// Member.Drain): push starts a goroutine when there is no writer running,
// which writes until the queue is empty and ends, so that an idle member
// has no goroutine, and no stack, for its writing. There is never more
// than one writer, so the events are written in order.
type queue struct {
	mu     sync.Mutex
	events []*Event
	max    int
	closed bool
	ready  chan struct{} // holds a token while there is something to take

	// Set when the queue drains itself.
	write   func([]*Event) error
	end     func(error) // called once, when closed and drained or on failure
	running bool        // a writer goroutine is running
	failed  error       // the write that failed; what comes after is dropped
	done    chan struct{}
}

func newQueue(max int) *queue {
	return &queue{max: max, ready: make(chan struct{}, 1)}
}

// push adds e, reporting false if the queue is full or closed. Once a
// write has failed, events are dropped and push reports true: the
// connection is gone, and the transport is taking the member out.
func (q *queue) push(e *Event) bool {
	ok, _ := q.pushLater(e, false)
	return ok
}

// pushLater is push, except that when later is true a queue that drains
// itself does not start its writer: it reports asleep, and the caller
// must call wake soon. Events pushed later in a row are written together.
func (q *queue) pushLater(e *Event, later bool) (ok, asleep bool) {
	q.mu.Lock()
	if q.closed || len(q.events) >= q.max {
		q.mu.Unlock()
		return false, false
	}
	if q.failed != nil {
		q.mu.Unlock()
		return true, false
	}
	q.events = append(q.events, e)
	if later && q.write != nil && !q.running {
		q.mu.Unlock()
		return true, true
	}
	start := q.startLocked()
	q.mu.Unlock()
	if start {
		go q.drain()
	} else if q.write == nil {
		q.signal()
	}
	return true, false
}

// wake starts the writer of a queue that drains itself, if there is
// something to write and no writer running.
func (q *queue) wake() {
	q.mu.Lock()
	start := len(q.events) > 0 && q.failed == nil && q.startLocked()
	q.mu.Unlock()
	if start {
		go q.drain()
	}
}

// startLocked reports whether a writer goroutine must be started, and
// marks it running. The caller holds q.mu.
func (q *queue) startLocked() bool {
	if q.write == nil || q.running {
		return false
	}
	q.running = true
	return true
}

func (q *queue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// close ends the queue: what is queued can still be taken, then take
// reports the end, or the writer calls end.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	start := q.startLocked()
	q.mu.Unlock()
	if start {
		go q.drain()
	}
	q.signal()
}

// drainTo makes the queue drain itself through write; end is called once,
// with nil when the queue was closed and everything written, or with the
// error of the write that failed. The returned channel is closed after
// end returns. Call it before the first push.
func (q *queue) drainTo(write func([]*Event) error, end func(error)) <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.write, q.end, q.done = write, end, make(chan struct{})
	return q.done
}

// drain is the writer: it writes what is queued until the queue is empty,
// then ends, unless the queue is closed and drained or a write failed, in
// which case it calls end.
func (q *queue) drain() {
	bp := batchPool.Get().(*[]*Event)
	batch := (*bp)[:0]
	defer func() {
		if cap(batch) <= 1024 {
			*bp = batch[:0]
			batchPool.Put(bp)
		}
	}()
	for {
		q.mu.Lock()
		if len(q.events) == 0 || q.failed != nil {
			q.running = false
			finished := q.closed || q.failed != nil
			if finished {
				// Nothing starts another writer from now on.
				q.running = true
			}
			err := q.failed
			q.mu.Unlock()
			if finished {
				q.end(err)
				close(q.done)
			}
			return
		}
		batch = q.takeLocked(batch[:0])
		q.mu.Unlock()
		if err := q.write(batch); err != nil {
			q.mu.Lock()
			q.failed = err
			clear(q.events)
			q.events = nil
			q.mu.Unlock()
		}
		clear(batch)
	}
}

// batchPool holds the slices drain takes events into: in a big room
// thousands of writers start each round.
var batchPool = sync.Pool{New: func() any { b := make([]*Event, 0, 16); return &b }}

// takeLocked moves every queued event to dst. The caller holds q.mu.
func (q *queue) takeLocked(dst []*Event) []*Event {
	dst = append(dst, q.events...)
	clear(q.events)
	if cap(q.events) > 64 {
		q.events = nil // do not keep a burst's array for an idle member
	} else {
		q.events = q.events[:0]
	}
	return dst
}

// take waits until there are events or the queue is closed, moves every
// queued event to dst and returns it. It reports false once the queue is
// closed and empty.
func (q *queue) take(dst []*Event) ([]*Event, bool) {
	for {
		q.mu.Lock()
		if len(q.events) > 0 {
			dst = q.takeLocked(dst)
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
