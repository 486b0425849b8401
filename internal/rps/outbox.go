package rps

import "sync"

// Transport is one client connection as a Session writes to it: TCP or a
// WebSocket.
type Transport interface {
	// Write sends lines, each ending in "\n", within the transport's
	// write timeout.
	Write(lines []byte) error
	// Hangup ends the connection politely once everything is written:
	// FIN, or a WebSocket close.
	Hangup()
	// Close cuts the connection at once; the reader then sees it end.
	Close()
}

// maxQueued bounds the bytes waiting to be written to one client: a
// client that does not read is cut off rather than held in memory.
const maxQueued = 16 << 10

// outbox is one client's bounded queue of lines with at most one writer
// goroutine, which runs only while there is something to write, so that a
// player waiting for a move costs no goroutine but its reader's. Lines
// queued in one moment go out in one write. Its methods are safe for
// concurrent use and never block on the network.
type outbox struct {
	t       Transport
	mu      sync.Mutex
	idle    sync.Cond // signalled when the writer stops
	buf     []byte
	running bool
	closing bool // hang up once buf is written
	dead    bool // nothing more is written
}

func newOutbox(t Transport) *outbox {
	o := &outbox{t: t}
	o.idle.L = &o.mu
	return o
}

// send queues e's line.
func (o *outbox) send(e *Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.dead || o.closing {
		return
	}
	n := len(o.buf)
	o.buf = e.Append(o.buf)
	if len(o.buf) > maxQueued {
		o.buf = o.buf[:n]
		o.dead = true
		go o.t.Close()
		return
	}
	o.start()
}

// finish hangs up once what is queued is written.
func (o *outbox) finish() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.dead || o.closing {
		return
	}
	o.closing = true
	o.start()
}

// kill cuts the connection without writing more: it was replaced by a
// newer one of the same player.
func (o *outbox) kill() {
	o.mu.Lock()
	o.dead = true
	o.mu.Unlock()
	o.t.Close()
}

// start runs the writer if it is not running; o.mu is held.
func (o *outbox) start() {
	if !o.running {
		o.running = true
		go o.run()
	}
}

func (o *outbox) run() {
	var spare []byte
	o.mu.Lock()
	for {
		if o.dead {
			break
		}
		if len(o.buf) == 0 {
			if o.closing {
				o.dead = true
				o.mu.Unlock()
				o.t.Hangup()
				o.mu.Lock()
			}
			break
		}
		b := o.buf
		o.buf = spare[:0]
		o.mu.Unlock()
		err := o.t.Write(b)
		o.mu.Lock()
		if err != nil {
			o.dead = true
			o.mu.Unlock()
			o.t.Close()
			o.mu.Lock()
			break
		}
		if cap(b) <= 1024 {
			spare = b[:0]
		} else {
			spare = nil
		}
	}
	o.running = false
	// Keep no buffer for an idle client.
	if len(o.buf) == 0 {
		o.buf = nil
	}
	o.idle.Broadcast()
	o.mu.Unlock()
}

// drain waits for what is queued to be written (or to fail), for a
// connection whose reader has ended but whose last lines are still due.
func (o *outbox) drain() {
	o.mu.Lock()
	for o.running {
		o.idle.Wait()
	}
	o.dead = true
	o.mu.Unlock()
}
