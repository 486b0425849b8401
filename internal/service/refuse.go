package service

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// Bounds on refusing clients.
const (
	// refuseLinger is how long a refused connection is kept after its
	// notice and FIN, so that closing it does not turn input the client
	// sent meanwhile into a reset that destroys the notice.
	refuseLinger = 500 * time.Millisecond
	// maxLingering bounds the refused connections kept lingering; past it
	// they are closed at once, after reading what they sent.
	maxLingering = 8192
	// tlsRefusers bounds the goroutines that run a TLS handshake to tell
	// a refused TLS client why, and maxTLSWaiting the clients waiting for
	// one of them; past that a TLS client is closed untold.
	tlsRefusers   = 16
	maxTLSWaiting = 1024
	// DefaultRefusalLogEvery is how often at most the refusals of one
	// address are logged: the first at once, then one summary line per
	// interval while they go on.
	DefaultRefusalLogEvery = 10 * time.Second
	// maxRefusalAddrs bounds the addresses whose refusals are counted
	// apart; the others are counted together.
	maxRefusalAddrs = 4096
	// answerPoll is how often clients waiting to speak first are
	// looked at.
	answerPoll = 5 * time.Millisecond
)

// Refuser tells clients refused for a limit why, in one message each,
// and logs the refusals. Telling a plain-text client costs no goroutine:
// the message, a few dozen bytes, goes into the new socket's empty send
// buffer without waiting, then a FIN, and one goroutine closes the
// lingering sockets in turn. A TLS client needs a handshake first, which
// a small pool of goroutines does. So a connect flood gets every client
// its line at the cost of a socket each for half a second.
//
// Refusals are logged as one line per address per interval
// (DefaultRefusalLogEvery): the first at once, then how many more.
//
// The zero value is not usable; call NewRefuser. Its methods are safe for
// concurrent use.
type Refuser struct {
	// AnswerAfter, when set, delays the message until the client has
	// spoken first, or at most this long, for protocols where the client
	// does (an HTTP client may take an answer sent before its request
	// for a broken connection). What the client sent is read and
	// dropped. Set it before the first Refuse.
	AnswerAfter time.Duration

	tls    *tls.Config
	logger *slog.Logger
	every  time.Duration
	count  func(reason string)

	mu        sync.Mutex
	answering []lingerConn // waiting AnswerAfter for their message, in order
	lingering []lingerConn // told, waiting refuseLinger to be closed, in order
	reaping   bool
	tlsQueue  chan refusal
	tlsBusy   int
	seen      map[netip.Addr]*refusalCount
}

type lingerConn struct {
	c   net.Conn
	due time.Time
	msg []byte // for answering
}

type refusal struct {
	c   net.Conn
	msg []byte
}

type refusalCount struct {
	n      int
	reason string
}

// NewRefuser returns a Refuser that writes to clients over TLS when
// tlsConfig is set, logs to logger (nil discards) and, if count is not
// nil, calls it with the reason of each refusal (for metrics).
func NewRefuser(tlsConfig *tls.Config, logger *slog.Logger, count func(reason string)) *Refuser {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Refuser{
		tls: tlsConfig, logger: logger, every: DefaultRefusalLogEvery, count: count,
		tlsQueue: make(chan refusal, maxTLSWaiting),
		seen:     make(map[netip.Addr]*refusalCount),
	}
}

// Refuse sends msg to c, closes it and logs the refusal of peer for
// reason. It does not block.
func (r *Refuser) Refuse(c net.Conn, peer netip.Addr, reason string, msg []byte) {
	if r.count != nil {
		r.count(reason)
	}
	r.log(peer, reason)
	if r.tls != nil {
		select {
		case r.tlsQueue <- refusal{c, msg}:
			r.startTLSRefuser()
		default:
			c.Close()
		}
		return
	}
	if r.AnswerAfter > 0 {
		r.enqueue(&r.answering, lingerConn{c: c, due: time.Now().Add(r.AnswerAfter), msg: msg})
		return
	}
	r.tell(c, msg)
}

// tell writes msg to c and sends FIN, then lets c linger. A new socket's
// send buffer is empty: the write does not wait, and the deadline only
// guards against the impossible.
func (r *Refuser) tell(c net.Conn, msg []byte) {
	c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := c.Write(msg); err != nil {
		c.Close()
		return
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	r.enqueue(&r.lingering, lingerConn{c: c, due: time.Now().Add(refuseLinger)})
}

// enqueue adds l to the queue q (answering or lingering), served by the
// one reaper goroutine, or, when too many wait, deals with it now.
func (r *Refuser) enqueue(q *[]lingerConn, l lingerConn) {
	r.mu.Lock()
	if len(r.answering)+len(r.lingering) >= maxLingering {
		r.mu.Unlock()
		discardQueued(l.c)
		if l.msg != nil {
			l.c.Write(l.msg)
		}
		l.c.Close()
		return
	}
	*q = append(*q, l)
	start := !r.reaping
	r.reaping = true
	r.mu.Unlock()
	if start {
		go r.reap()
	}
}

// reap answers and closes connections as they come due, and ends when
// none is left. Each queue is in order of due time, as every entry of one
// waits as long.
func (r *Refuser) reap() {
	for {
		r.mu.Lock()
		if len(r.lingering) == 0 && len(r.answering) == 0 {
			r.reaping = false
			r.lingering, r.answering = nil, nil
			r.mu.Unlock()
			return
		}
		var next time.Time
		if len(r.answering) > 0 {
			next = time.Now().Add(answerPoll)
		}
		for _, q := range [][]lingerConn{r.answering, r.lingering} {
			if len(q) > 0 && (next.IsZero() || q[0].due.Before(next)) {
				next = q[0].due
			}
		}
		r.mu.Unlock()
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		r.mu.Lock()
		now := time.Now()
		answer := takeAnswering(&r.answering, now)
		closing := takeDue(&r.lingering, now)
		r.mu.Unlock()
		for _, l := range answer {
			r.tell(l.c, l.msg)
		}
		for _, l := range closing {
			discardQueued(l.c)
			l.c.Close()
		}
	}
}

// takeDue removes from *q and returns the entries due by now.
func takeDue(q *[]lingerConn, now time.Time) []lingerConn {
	i := 0
	for i < len(*q) && !(*q)[i].due.After(now) {
		i++
	}
	due := (*q)[:i:i]
	*q = (*q)[i:]
	return due
}

// takeAnswering removes from *q and returns the entries whose client has
// spoken (what it sent is dropped), hung up, or waited long enough.
func takeAnswering(q *[]lingerConn, now time.Time) []lingerConn {
	var due []lingerConn
	kept := (*q)[:0]
	for _, l := range *q {
		if spoke := discardQueued(l.c); spoke || !l.due.After(now) {
			due = append(due, l)
			continue
		}
		kept = append(kept, l)
	}
	clear((*q)[len(kept):])
	*q = kept
	return due
}

// discardQueued reads and drops what the client sent that is already
// queued in the kernel, without waiting, so that closing sends a FIN and
// not a reset. It reports whether there was anything, or the client has
// hung up.
func discardQueued(c net.Conn) (spoke bool) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	var buf [4096]byte
	raw.Read(func(fd uintptr) bool {
		for range 64 {
			n, err := syscall.Read(int(fd), buf[:])
			if n == 0 && err == nil {
				spoke = true // end of file
			}
			if n <= 0 || err != nil {
				break
			}
			spoke = true
		}
		return true // done, whatever was there: never wait
	})
	return spoke
}

// startTLSRefuser starts a goroutine to tell queued TLS clients, unless
// enough run.
func (r *Refuser) startTLSRefuser() {
	r.mu.Lock()
	if r.tlsBusy >= tlsRefusers {
		r.mu.Unlock()
		return
	}
	r.tlsBusy++
	r.mu.Unlock()
	go func() {
		for {
			select {
			case f := <-r.tlsQueue:
				r.tellTLS(f)
				continue
			default:
			}
			r.mu.Lock()
			if len(r.tlsQueue) == 0 {
				r.tlsBusy--
				r.mu.Unlock()
				return
			}
			r.mu.Unlock()
		}
	}()
}

func (r *Refuser) tellTLS(f refusal) {
	defer f.c.Close()
	f.c.SetDeadline(time.Now().Add(2 * time.Second))
	tc := tls.Server(f.c, r.tls)
	if tc.Handshake() != nil {
		return
	}
	if r.AnswerAfter > 0 {
		// Let the client speak first, as over plain text.
		tc.SetReadDeadline(time.Now().Add(r.AnswerAfter))
		var buf [4096]byte
		tc.Read(buf[:])
		tc.SetDeadline(time.Now().Add(time.Second))
	}
	if _, err := tc.Write(f.msg); err == nil {
		lingerClose(tc)
	}
}

// log logs a refusal of peer: at once if it is the first for a while,
// else in the summary at the end of the interval.
func (r *Refuser) log(peer netip.Addr, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := peer
	if _, ok := r.seen[key]; !ok && len(r.seen) >= maxRefusalAddrs {
		key = netip.Addr{} // counted with the other addresses
	}
	if rc, ok := r.seen[key]; ok {
		rc.n++
		rc.reason = reason
		return
	}
	r.seen[key] = &refusalCount{}
	r.logger.Info("refused", "peer", peer, "reason", reason)
	time.AfterFunc(r.every, func() { r.summarize(key) })
}

// summarize logs how many refusals of key the interval saw after the
// first, and goes on counting if there were any.
func (r *Refuser) summarize(key netip.Addr) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rc := r.seen[key]
	if rc == nil || rc.n == 0 {
		delete(r.seen, key)
		return
	}
	peer := any(key)
	if !key.IsValid() {
		peer = "other addresses"
	}
	r.logger.Info("refused", "peer", peer, "reason", rc.reason, "count", rc.n, "in", r.every)
	r.seen[key] = &refusalCount{}
	time.AfterFunc(r.every, func() { r.summarize(key) })
}
