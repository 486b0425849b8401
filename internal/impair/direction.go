package impair

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// epoch anchors nanotime, so that due times are monotonic integers.
var epoch = time.Now()

func nanotime() int64 { return int64(time.Since(epoch)) }

// counters are one direction's running totals.
type counters struct {
	received, receivedBytes   atomic.Uint64
	forwarded, forwardedBytes atomic.Uint64
	lost, duplicated          atomic.Uint64
	reordered, corrupted      atomic.Uint64
	delayed                   atomic.Uint64
	rateQueued, rateDropped   atomic.Uint64
	overflow, oversize        atomic.Uint64
	errors                    atomic.Uint64
}

func (c *counters) snapshot() DirStats {
	return DirStats{
		Received:       c.received.Load(),
		ReceivedBytes:  c.receivedBytes.Load(),
		Forwarded:      c.forwarded.Load(),
		ForwardedBytes: c.forwardedBytes.Load(),
		Lost:           c.lost.Load(),
		Duplicated:     c.duplicated.Load(),
		Reordered:      c.reordered.Load(),
		Corrupted:      c.corrupted.Load(),
		Delayed:        c.delayed.Load(),
		RateQueued:     c.rateQueued.Load(),
		RateDropped:    c.rateDropped.Load(),
		Overflow:       c.overflow.Load(),
		Oversize:       c.oversize.Load(),
		Errors:         c.errors.Load(),
	}
}

// packet is a datagram waiting in a direction's scheduler, in a pooled
// buffer.
type packet struct {
	buf  []byte
	at   int64  // due, in nanotime
	seq  uint64 // order among datagrams due at the same time
	idx  int    // index in the heap
	sess *session
}

// smallBuf is the buffer size for ordinary datagrams; larger ones take a
// buffer of the relay's MaxDatagram.
const smallBuf = 2048

type pools struct {
	small, large sync.Pool
	largeSize    int
}

func newPools(maxDatagram int) *pools {
	p := &pools{largeSize: max(maxDatagram, smallBuf)}
	p.small.New = func() any { return &packet{buf: make([]byte, 0, smallBuf)} }
	p.large.New = func() any { return &packet{buf: make([]byte, 0, p.largeSize)} }
	return p
}

// bufSize is the size of the buffer a datagram of n bytes takes.
func (p *pools) bufSize(n int) int {
	if n <= smallBuf {
		return smallBuf
	}
	return p.largeSize
}

func (p *pools) get(b []byte) *packet {
	var pk *packet
	if len(b) <= smallBuf {
		pk = p.small.Get().(*packet)
	} else {
		pk = p.large.Get().(*packet)
	}
	pk.buf = append(pk.buf[:0], b...)
	return pk
}

func (p *pools) put(pk *packet) {
	pk.sess = nil
	if cap(pk.buf) == smallBuf {
		p.small.Put(pk)
	} else {
		p.large.Put(pk)
	}
}

// direction applies one Impairment to the datagrams going one way and
// forwards them. handle may be called from several goroutines (downstream,
// one per session); the scheduler goroutine (run) sends what must wait.
type direction struct {
	imp       Impairment // with defaults filled in
	pass      bool       // no impairment: forward at once
	timed     bool       // datagrams may wait in the heap
	queueTime int64      // the rate queue's length in time, ns
	maxQueue  int        // bytes of buffer the heap may hold
	send      func(b []byte, s *session) error
	pools     *pools
	c         counters

	mu         sync.Mutex
	rng        *rand.Rand
	tat        int64  // rate: when the link is next free
	last       int64  // the latest due time given out, to keep FIFO order
	seq        uint64 // next packet's seq
	heap       []*packet
	held       *packet // the datagram held back for reordering, in heap
	queued     int     // bytes of buffer in heap
	busy       bool    // run is sending datagrams it took from heap
	sleepUntil int64   // when run means to wake; MinInt64 while busy
	wake       chan struct{}
}

func newDirection(im Impairment, seed int64, stream uint64, maxQueue int, p *pools, send func([]byte, *session) error) *direction {
	d := &direction{
		imp:      im.withDefaults(),
		pass:     im.IsZero(),
		timed:    im.timed(),
		maxQueue: maxQueue,
		send:     send,
		pools:    p,
		rng:      newRand(seed, stream),
		wake:     make(chan struct{}, 1),
		// Until run has looked at the heap, it needs no waking.
		sleepUntil: math.MinInt64,
	}
	d.queueTime = d.imp.queueTime()
	return d
}

// forward sends b and counts the outcome. It counts first, so that
// whoever receives the datagram finds it counted, and takes it back if the
// write fails.
func (d *direction) forward(b []byte, s *session) {
	d.c.forwarded.Add(1)
	d.c.forwardedBytes.Add(uint64(len(b)))
	if err := d.send(b, s); err != nil {
		d.c.forwarded.Add(^uint64(0))
		d.c.forwardedBytes.Add(^uint64(len(b) - 1))
		d.c.errors.Add(1)
	}
}

// emit forwards b at once with dec's corruption and duplication, using b
// itself: the bit is flipped for the original and back for the copy.
func (d *direction) emit(b []byte, s *session, dec decision) {
	if dec.bit >= 0 {
		flip(b, dec.bit)
	}
	d.forward(b, s)
	if dec.dup {
		if dec.bit >= 0 {
			flip(b, dec.bit)
		}
		d.forward(b, s)
	}
}

// handle takes one datagram, read into b, which handle may modify and
// must not keep.
func (d *direction) handle(b []byte, s *session) {
	d.c.received.Add(1)
	d.c.receivedBytes.Add(uint64(len(b)))
	if d.pass {
		d.forward(b, s)
		return
	}
	d.mu.Lock()
	dec := d.imp.decide(d.rng, len(b))
	if dec.lose {
		d.mu.Unlock()
		d.c.lost.Add(1)
		return
	}
	if !d.timed {
		d.mu.Unlock()
		d.count(dec)
		d.emit(b, s, dec)
		return
	}

	now := nanotime()
	copies := 1
	if dec.dup {
		copies = 2
	}
	// The rate limit: the datagram starts once the link has sent what is
	// ahead of it, unless that is more than the queue holds.
	start, cost := now, int64(0)
	if d.imp.Rate > 0 {
		cost = int64(copies*len(b)) * int64(time.Second) / d.imp.Rate
		start = max(now, d.tat)
		if start > now && start-now+cost > d.queueTime {
			d.mu.Unlock()
			d.c.rateDropped.Add(1)
			return
		}
	}
	delay := max(d.imp.Delay+dec.jitter, 0)
	at := max(start+int64(delay), d.last)
	hold := dec.hold && d.held == nil
	// Nothing waiting (d.held is in the heap) and nothing to wait for: send
	// now, from b, like the untimed path.
	direct := at <= now && !hold && len(d.heap) == 0 && !d.busy
	if !direct && d.queued+copies*d.pools.bufSize(len(b)) > d.maxQueue {
		d.mu.Unlock()
		d.c.overflow.Add(1)
		return
	}
	if d.imp.Rate > 0 {
		d.tat = start + cost
		if start > now {
			d.c.rateQueued.Add(1)
		}
	}
	d.last = at
	if delay > 0 {
		d.c.delayed.Add(1)
	}
	d.count(dec)
	if direct {
		d.mu.Unlock()
		d.emit(b, s, dec)
		return
	}

	pAt := at
	if hold {
		pAt += int64(d.imp.ReorderDelay)
	}
	p := d.enqueue(b, s, pAt)
	if dec.bit >= 0 {
		flip(p.buf, dec.bit)
	}
	if dec.dup {
		d.enqueue(b, s, at)
	}
	switch {
	case hold:
		d.held = p
	case d.held != nil:
		// Release the held datagram right behind this one.
		h := d.held
		d.held = nil
		h.at, h.seq = at, d.seq
		d.seq++
		d.fix(h.idx)
		d.c.reordered.Add(1)
	}
	if first := d.heap[0].at; first < d.sleepUntil {
		d.sleepUntil = first
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
	d.mu.Unlock()
}

func (d *direction) count(dec decision) {
	if dec.dup {
		d.c.duplicated.Add(1)
	}
	if dec.bit >= 0 {
		d.c.corrupted.Add(1)
	}
}

// enqueue copies b into a pooled packet due at at and pushes it on the
// heap. d.mu is held.
func (d *direction) enqueue(b []byte, s *session, at int64) *packet {
	p := d.pools.get(b)
	p.sess, p.at, p.seq = s, at, d.seq
	d.seq++
	d.queued += cap(p.buf)
	p.idx = len(d.heap)
	d.heap = append(d.heap, p)
	d.siftUp(p.idx)
	return p
}

// batchSize bounds the datagrams run takes from the heap per lock.
const batchSize = 64

// run sends datagrams as they fall due, until quit is closed.
func (d *direction) run(quit <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var batch [batchSize]*packet
	for {
		d.mu.Lock()
		now := nanotime()
		n := 0
		for n < len(batch) && len(d.heap) > 0 && d.heap[0].at <= now {
			p := d.pop()
			if p == d.held {
				d.held = nil // nothing overtook it in time
			}
			d.queued -= cap(p.buf)
			batch[n] = p
			n++
		}
		if n > 0 {
			d.busy, d.sleepUntil = true, math.MinInt64
			d.mu.Unlock()
			for i := range n {
				d.forward(batch[i].buf, batch[i].sess)
				d.pools.put(batch[i])
				batch[i] = nil
			}
			select {
			case <-quit:
				d.drain()
				return
			default:
			}
			continue
		}
		next := int64(math.MaxInt64)
		if len(d.heap) > 0 {
			next = d.heap[0].at
			timer.Reset(time.Duration(next - now))
		}
		d.busy, d.sleepUntil = false, next
		d.mu.Unlock()
		select {
		case <-d.wake:
		case <-timer.C:
		case <-quit:
			d.drain()
			return
		}
		timer.Stop()
	}
}

// drain discards what is waiting, at Close.
func (d *direction) drain() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.heap {
		d.pools.put(p)
	}
	clear(d.heap)
	d.heap, d.held, d.queued, d.busy = d.heap[:0], nil, 0, false
}

// idle reports whether nothing is waiting to be sent.
func (d *direction) idle() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.heap) == 0 && !d.busy
}

// The heap: a binary min-heap of packets by (at, seq), each knowing its
// index so that a held datagram can be moved.

func (d *direction) less(i, j int) bool {
	a, b := d.heap[i], d.heap[j]
	return a.at < b.at || (a.at == b.at && a.seq < b.seq)
}

func (d *direction) swap(i, j int) {
	h := d.heap
	h[i], h[j] = h[j], h[i]
	h[i].idx, h[j].idx = i, j
}

func (d *direction) siftUp(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !d.less(i, parent) {
			return
		}
		d.swap(i, parent)
		i = parent
	}
}

// siftDown moves the packet at i down to its place and reports whether it
// moved.
func (d *direction) siftDown(i int) bool {
	n, i0 := len(d.heap), i
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && d.less(r, l) {
			c = r
		}
		if !d.less(c, i) {
			break
		}
		d.swap(i, c)
		i = c
	}
	return i > i0
}

// fix restores the heap after the packet at i changed its key.
func (d *direction) fix(i int) {
	if !d.siftDown(i) {
		d.siftUp(i)
	}
}

func (d *direction) pop() *packet {
	last := len(d.heap) - 1
	d.swap(0, last)
	p := d.heap[last]
	d.heap[last] = nil
	d.heap = d.heap[:last]
	d.siftDown(0)
	return p
}
