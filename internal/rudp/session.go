package rudp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/netkit/netkit/internal/rudp/wire"
	"github.com/netkit/netkit/internal/udpio"
)

// aLongTimeAgo is a read deadline in the past: it wakes a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

// Session runs a Sender over a connected UDP socket: the driver of one
// sending session. Items may be enqueued while it runs, from any goroutine
// (a line typed, a file picked); KPA frames keep it alive in between, and
// CloseSend ends it with FIN once the queue is drained.
//
// Run does all the work in the calling goroutine: it reads the socket with
// the Sender's next deadline as read deadline, so a single goroutine and
// the runtime's timer serve both the network and the clock. Enqueue,
// CloseSend and cancellation wake it by moving that deadline to the past.
// Nothing is allocated per frame. The methods are safe for concurrent use.
type Session struct {
	conn  net.Conn
	uc    *udpio.Conn // conn batched, when it is a *net.UDPConn
	warns []string
	peer  netip.AddrPort
	opt   SendOptions
	rd    []udpio.Datagram // read into
	wr    []udpio.Datagram // written from

	mu        sync.Mutex
	m         machine
	deadline  time.Time // the read deadline set on conn
	kicked    bool      // work was added: Tick before reading
	cancelled bool
	running   bool
	icmp      bool // the socket reported port unreachable
}

// NewSession returns a Session sending over conn, a socket connected to
// the receiver (net.Dial("udp", ...)), with the options opt.
func NewSession(conn net.Conn, opt SendOptions) (*Session, error) {
	var (
		m   machine
		err error
	)
	if opt.Legacy || opt.Window == 1 {
		if opt.Secret != "" {
			return nil, errors.New("rudp: the legacy protocol cannot encrypt: a secret needs the extended mode (a window above 1, no --legacy)")
		}
		m, err = NewSender(opt)
	} else {
		m, err = NewXSender(opt)
	}
	if err != nil {
		return nil, err
	}
	s := &Session{conn: conn, opt: opt, m: m}
	if ua, ok := conn.RemoteAddr().(*net.UDPAddr); ok {
		s.peer = ua.AddrPort()
	}
	// Batched I/O for the extended mode; stop-and-wait sends and reads
	// one datagram at a time, which the plain socket calls do a little
	// faster.
	if uc, ok := conn.(*net.UDPConn); ok && !isLegacy(m) {
		s.uc, s.warns, err = udpio.New(uc, udpio.Options{ReadBuffer: SocketBuffer, WriteBuffer: SocketBuffer})
		if err != nil {
			return nil, err
		}
		s.rd = make([]udpio.Datagram, udpio.DefaultBatch)
		s.wr = make([]udpio.Datagram, udpio.DefaultBatch)
	}
	return s, nil
}

func isLegacy(m machine) bool {
	_, ok := m.(*Sender)
	return ok
}

// SocketBuffer is the socket buffer size a Session and a Receiver ask
// for, each way: a window of full-size fragments in flight.
const SocketBuffer = 8 << 20

// Warnings returns what setting up the socket found wanting: a kernel
// that granted smaller socket buffers than asked, say.
func (s *Session) Warnings() []string { return s.warns }

// machine is a sending state machine: Sender (legacy) or XSender.
type machine interface {
	Enqueue(Item) error
	CloseSend()
	Done() bool
	Err() error
	Stats() Stats
	Progress() Progress
	Handle([]byte, time.Time) Output
	Tick(time.Time) Output
	Abort(error) Output
}

// Send sends items over conn, a socket connected to the receiver, one
// after the other, then ends the session with FIN. It returns when the
// last item is acknowledged, or with the first error: ErrPeerGone when
// the receiver stops answering for opt.Timeout, ErrRefused when it refuses
// an item, ctx's error when ctx ends first (the receiver is then sent FIN,
// so it discards the item cut short).
func Send(ctx context.Context, conn net.Conn, items []Item, opt SendOptions) (Stats, error) {
	s, err := NewSession(conn, opt)
	if err != nil {
		return Stats{}, err
	}
	for _, it := range items {
		if err := s.Enqueue(it); err != nil {
			return Stats{}, err
		}
	}
	s.CloseSend()
	return s.Run(ctx)
}

// Enqueue adds it to the session's queue: see Sender.Enqueue.
func (s *Session) Enqueue(it Item) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.m.Enqueue(it); err != nil {
		return err
	}
	s.kick()
	return nil
}

// CloseSend ends the session with FIN once the queue is drained; Run then
// returns.
func (s *Session) CloseSend() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m.CloseSend()
	s.kick()
}

// kick wakes Run to act on new work; s.mu is held.
func (s *Session) kick() {
	s.kicked = true
	if s.running {
		s.conn.SetReadDeadline(aLongTimeAgo)
		s.deadline = aLongTimeAgo
	}
}

// Stats returns the counters so far.
func (s *Session) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m.Stats()
}

// Progress describes the item in flight.
func (s *Session) Progress() Progress {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m.Progress()
}

// Run runs the session until it ends: after CloseSend and the last item,
// on a failure, or when ctx ends. It returns the final counters and why
// the session failed, or nil. Run may be called once.
func (s *Session) Run(ctx context.Context) (Stats, error) {
	s.mu.Lock()
	if s.running || s.m.Done() {
		s.mu.Unlock()
		return Stats{}, errors.New("rudp: Session.Run called twice")
	}
	s.running = true
	s.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.cancelled = true
		s.kick()
		s.mu.Unlock()
	})
	defer stop()
	defer s.conn.SetReadDeadline(time.Time{})

	buf := make([]byte, wire.MaxExtFrame+1) // one more, to tell an oversized datagram
	var evs []Event
	start := time.Now()
	s.mu.Lock()
	out := s.m.Tick(time.Now())
	for {
		evs = s.flush(out, evs)
		if s.m.Done() {
			break
		}
		switch {
		case s.cancelled:
			out = s.m.Abort(context.Cause(ctx))
			continue
		case s.kicked:
			s.kicked = false
			out = s.m.Tick(time.Now())
			continue
		}
		// A later deadline than the one set is left alone: the read
		// then wakes early, and Tick early is harmless. Moving the timer
		// on every frame of a stop-and-wait transfer costs more.
		d := out.Deadline
		if now := time.Now(); !d.IsZero() && !d.After(now) {
			// Due already: still look at what has arrived first (a read
			// with a past deadline would not even try), then Tick.
			d = now.Add(time.Microsecond)
		}
		if d != s.deadline && (s.deadline.IsZero() || !d.IsZero() && d.Before(s.deadline) || !s.deadline.After(time.Now())) {
			s.conn.SetReadDeadline(d)
			s.deadline = d
		}
		s.mu.Unlock()
		evs = s.report(evs)
		n, err := s.read(buf)
		now := time.Now()
		s.mu.Lock()
		switch {
		case err == nil:
			out = s.handle(buf, n, now, &evs)
			if d := out.Deadline; !d.IsZero() && !now.Before(d) && !s.m.Done() {
				// Due while datagrams kept arriving: a peer that never
				// stops sending must not keep the timeout from firing.
				evs = s.flush(out, evs)
				out = s.m.Tick(now)
			}
		case errors.Is(err, os.ErrDeadlineExceeded):
			out = s.m.Tick(now)
		case transient(err):
			s.icmp = s.icmp || errors.Is(err, syscall.ECONNREFUSED)
			out = s.m.Tick(now)
			// Nothing listens there, and nothing has ever answered: say
			// so after a short wait rather than the whole timeout (the
			// receiver may be just starting).
			if s.icmp && now.Sub(start) >= or(s.opt.HelloWait, DefaultHelloWait) && s.m.Stats().Received == 0 {
				out = s.m.Abort(fmt.Errorf("%w: no answer from %v", ErrPeerGone, s.peer))
			}
		default:
			out = s.m.Abort(fmt.Errorf("rudp: read: %w", err))
		}
	}
	st, err := s.m.Stats(), s.m.Err()
	icmp := s.icmp
	s.mu.Unlock()
	s.report(evs)
	if errors.Is(err, ErrPeerGone) && icmp {
		err = fmt.Errorf("%w (its host answered port unreachable: nothing listens on %v)", err, s.peer)
	}
	return st, err
}

// read reads what has arrived: one datagram into buf, or with batched
// I/O up to len(s.rd) into s.rd (n is then their number).
func (s *Session) read(buf []byte) (int, error) {
	if s.uc != nil {
		return s.uc.ReadBatch(s.rd)
	}
	return s.conn.Read(buf)
}

// handle feeds the n datagrams read to the machine, sending what each
// answer asks for but the last, whose Output it returns; s.mu is held.
func (s *Session) handle(buf []byte, n int, now time.Time, evs *[]Event) Output {
	if s.uc == nil {
		if s.opt.Trace != nil {
			traceDatagram(s.opt.Trace, TraceIn, s.peer, buf[:n])
		}
		return s.m.Handle(buf[:n], now)
	}
	var out Output
	for i := range n {
		if i > 0 {
			*evs = s.flush(out, *evs)
		}
		d := s.rd[i].B
		if s.opt.Trace != nil {
			traceDatagram(s.opt.Trace, TraceIn, s.peer, d)
		}
		out = s.m.Handle(d, now)
	}
	return out
}

// flush sends out's datagrams and appends its events to evs; s.mu is
// held.
func (s *Session) flush(out Output, evs []Event) []Event {
	if s.uc != nil {
		evs = s.flushBatch(out, evs)
		return evs
	}
	for _, d := range out.Datagrams {
		if s.opt.Trace != nil {
			traceDatagram(s.opt.Trace, TraceOut, s.peer, d)
		}
		if _, err := s.conn.Write(d); err != nil {
			// A lost datagram, as far as the protocol goes: the timeout
			// resends it. Port unreachable is remembered for the error
			// message; a closed socket ends the session.
			s.icmp = s.icmp || errors.Is(err, syscall.ECONNREFUSED)
			if errors.Is(err, net.ErrClosed) {
				s.m.Abort(fmt.Errorf("rudp: write: %w", err))
			}
		}
	}
	for _, ev := range out.Events {
		ev.Peer = s.peer
		evs = append(evs, ev)
	}
	return evs
}

// report passes events to opt.OnEvent, without s.mu held, and returns evs
// emptied.
func (s *Session) report(evs []Event) []Event {
	if s.opt.OnEvent != nil {
		for _, ev := range evs {
			s.opt.OnEvent(ev)
		}
	}
	clear(evs)
	return evs[:0]
}

// transient reports a socket error worth reading on after: an ICMP error
// reported on the socket, or a lack of buffers.
func transient(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH)
}

// flushBatch is flush with batched I/O.
func (s *Session) flushBatch(out Output, evs []Event) []Event {
	for len(out.Datagrams) > 0 {
		k := min(len(out.Datagrams), len(s.wr))
		ds := s.wr[:k]
		for i, d := range out.Datagrams[:k] {
			if s.opt.Trace != nil {
				traceDatagram(s.opt.Trace, TraceOut, s.peer, d)
			}
			ds[i] = udpio.Datagram{B: d}
		}
		out.Datagrams = out.Datagrams[k:]
		if _, err := s.uc.WriteBatch(ds); err != nil {
			// Lost datagrams, as far as the protocol goes; see flush.
			s.icmp = s.icmp || errors.Is(err, syscall.ECONNREFUSED)
			if errors.Is(err, net.ErrClosed) {
				s.m.Abort(fmt.Errorf("rudp: write: %w", err))
			}
		}
		clear(ds)
	}
	for _, ev := range out.Events {
		ev.Peer = s.peer
		evs = append(evs, ev)
	}
	return evs
}
