package impair

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/netkit/netkit/internal/udpio"
)

// Defaults for Relay, used where a field is zero.
const (
	DefaultMaxSessions = 256
	DefaultIdleTimeout = time.Minute
	DefaultMaxDatagram = 65535
	DefaultMaxQueue    = 32 << 20
)

// sessionReadBuffer is the receive buffer asked for on each socket toward
// the target.
const sessionReadBuffer = 4 << 20

// Relay forwards UDP datagrams between the clients that write to the socket
// it serves and one target, impairing them on the way. Set its fields, then
// call Serve; the fields must not change after that. Its methods are safe
// for concurrent use. The zero value relays nowhere: Target must be set.
type Relay struct {
	// Target is the HOST:PORT datagrams are relayed to, resolved once when
	// Serve starts.
	Target string
	// Upstream applies to datagrams from clients to the target, Downstream
	// to the target's replies.
	Upstream, Downstream Impairment
	// Seed seeds each direction's random source: the same seed gives the
	// same decisions for the same sequence of datagrams each way. (With
	// several clients, the order in which their datagrams interleave is up
	// to the scheduler.) Pick one at random for a varied run.
	Seed int64
	// MaxSessions bounds the client addresses relayed at once, each with a
	// socket and a goroutine; datagrams from further addresses are refused
	// and counted. Zero or less means DefaultMaxSessions.
	MaxSessions int
	// IdleTimeout ends a session that has carried nothing either way for
	// this long. Zero or less means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxDatagram is the longest datagram relayed; longer ones are dropped
	// and counted. It sizes the read buffers. Zero or less means
	// DefaultMaxDatagram, which is enough for any UDP datagram over IPv4.
	MaxDatagram int
	// MaxQueue bounds the bytes of buffer each direction may hold for
	// datagrams that wait (delay, jitter, rate, reordering); datagrams that
	// do not fit are dropped and counted as Overflow. Zero or less means
	// DefaultMaxQueue, 32 MiB: with 1400-byte datagrams, 20 ms of delay at
	// about 500 MB/s.
	MaxQueue int
	// Logger receives logs; nil discards them.
	Logger *slog.Logger

	initOnce    sync.Once
	logger      *slog.Logger
	up, down    *direction
	maxSessions int
	idle        time.Duration
	maxDatagram int
	opened      atomic.Uint64
	expired     atomic.Uint64
	refused     atomic.Uint64
	quit        chan struct{} // closed by Close
	wg          sync.WaitGroup

	mu       sync.Mutex
	pc       net.PacketConn
	udp      *net.UDPConn // pc, when it is one: no allocation per write
	target   *net.UDPAddr
	sessions map[netip.AddrPort]*session
	shutting bool // Shutdown was called
	closed   bool // Close was called
}

// session is one client address and its socket toward the target.
type session struct {
	client    netip.AddrPort
	conn      *net.UDPConn
	active    atomic.Bool // something passed since the janitor last looked
	closed    atomic.Bool
	idleTicks int  // janitor ticks without activity; under Relay.mu
	warned    bool // logged that the target refused; only the reader uses it
}

func (s *session) touch() {
	if !s.active.Load() {
		s.active.Store(true)
	}
}

func (r *Relay) init() {
	r.initOnce.Do(func() {
		r.logger = r.Logger
		if r.logger == nil {
			r.logger = slog.New(slog.DiscardHandler)
		}
		r.maxSessions = positiveOr(r.MaxSessions, DefaultMaxSessions)
		r.idle = positiveOr(r.IdleTimeout, DefaultIdleTimeout)
		r.maxDatagram = positiveOr(r.MaxDatagram, DefaultMaxDatagram)
		maxQueue := positiveOr(r.MaxQueue, DefaultMaxQueue)
		p := newPools(r.maxDatagram)
		r.up = newDirection(r.Upstream, r.Seed, streamUp, maxQueue, p, func(b []byte, s *session) error {
			_, err := s.conn.Write(b)
			return err
		})
		r.down = newDirection(r.Downstream, r.Seed, streamDown, maxQueue, p, r.writeToClient)
		r.quit = make(chan struct{})
		r.sessions = make(map[netip.AddrPort]*session)
	})
}

func positiveOr[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Serve relays the datagrams that arrive on pc until Shutdown or Close,
// then returns ErrServerClosed. It always returns a non-nil error, and
// closes pc. A *net.UDPConn is relayed without allocating per datagram;
// any other net.PacketConn works, less quickly.
func (r *Relay) Serve(pc net.PacketConn) error {
	r.init()
	target, err := r.check(pc)
	if err != nil {
		pc.Close()
		return err
	}
	r.mu.Lock()
	switch {
	case r.closed || r.shutting:
		r.mu.Unlock()
		pc.Close()
		return ErrServerClosed
	case r.pc != nil:
		r.mu.Unlock()
		pc.Close()
		return ErrServing
	}
	r.pc, r.target = pc, target
	r.udp, _ = pc.(*net.UDPConn)
	r.wg.Add(3)
	go func() { defer r.wg.Done(); r.up.run(r.quit) }()
	go func() { defer r.wg.Done(); r.down.run(r.quit) }()
	go r.janitor()
	r.mu.Unlock()
	r.logger.Info("relaying", "listen", pc.LocalAddr(), "target", target, "seed", r.Seed,
		"up", r.Upstream.String(), "down", r.Downstream.String())

	err = r.readClients(pc)
	if err == nil {
		<-r.quit // Shutdown closes once what waits has been sent
		err = ErrServerClosed
	} else {
		r.Close()
	}
	r.wg.Wait()
	return err
}

// check validates the configuration and resolves the target.
func (r *Relay) check(pc net.PacketConn) (*net.UDPAddr, error) {
	if err := r.Upstream.Validate(); err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	if err := r.Downstream.Validate(); err != nil {
		return nil, fmt.Errorf("downstream: %w", err)
	}
	if r.Target == "" {
		return nil, ErrNoTarget
	}
	var target *net.UDPAddr
	if ap, err := netip.ParseAddrPort(r.Target); err == nil {
		target = net.UDPAddrFromAddrPort(ap)
	} else if target, err = net.ResolveUDPAddr("udp", r.Target); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoTarget, err)
	}
	if target.Port == 0 {
		return nil, fmt.Errorf("%w: %s has port 0", ErrNoTarget, r.Target)
	}
	// Relaying to itself would loop each datagram until it was lost.
	if local, ok := pc.LocalAddr().(*net.UDPAddr); ok && local.Port == target.Port &&
		(local.IP.Equal(target.IP) || local.IP.IsUnspecified() && target.IP.IsLoopback()) {
		return nil, fmt.Errorf("%w: %s is the relay itself", ErrNoTarget, r.Target)
	}
	return target, nil
}

// readClients reads datagrams from clients until Shutdown or Close, when it
// returns nil, or a read fails for good.
func (r *Relay) readClients(pc net.PacketConn) error {
	// On a UDP socket, read in batches (and, on Linux, take a sender's
	// GSO bursts whole): a relay in front of a fast transfer reads as
	// many datagrams a second as it can. Without batches it reads one
	// datagram per call, and says nothing of it.
	sock, warns, _ := udpio.NewSocket(pc, r.maxDatagram+1, // one more, to tell an oversize one
		&udpio.Options{ReadBuffer: sessionReadBuffer, MaxDatagram: r.maxDatagram})
	for _, w := range warns {
		r.logger.Warn(w)
	}
	ds := make([]udpio.Datagram, udpio.DefaultBatch)
	var last *session
	for {
		n, err := sock.Read(ds)
		if err != nil {
			r.mu.Lock()
			stopping := r.shutting || r.closed
			r.mu.Unlock()
			switch {
			case stopping:
				return nil
			case transient(err):
				continue
			}
			return fmt.Errorf("impair: read: %w", err)
		}
		for _, d := range ds[:n] {
			from := d.Addr
			if !from.IsValid() {
				continue // not a UDP peer: nowhere to send replies
			}
			if len(d.B) > r.maxDatagram {
				r.up.c.oversize.Add(1)
				continue
			}
			s := last
			if s == nil || s.client != from || s.closed.Load() {
				if s = r.session(from); s == nil {
					continue
				}
				last = s
			}
			s.touch()
			r.up.handle(d.B, s)
		}
	}
}

// transient reports a read error worth reading on after: an ICMP error
// reported on the socket, or a lack of buffers.
func transient(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH)
}

// session finds or opens client's session; nil means drop the datagram.
func (r *Relay) session(client netip.AddrPort) *session {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.sessions[client]; ok {
		return s
	}
	if r.closed {
		return nil
	}
	if len(r.sessions) >= r.maxSessions {
		r.refused.Add(1)
		r.logger.Debug("session table full; datagram refused", "client", client, "max", r.maxSessions)
		return nil
	}
	conn, err := net.DialUDP("udp", nil, r.target)
	if err != nil {
		r.refused.Add(1)
		r.logger.Warn("cannot open a socket toward the target", "client", client, "target", r.target, "err", err)
		return nil
	}
	// Room for a burst from a fast target while the reader is not
	// scheduled; the kernel caps it at net.core.rmem_max.
	conn.SetReadBuffer(sessionReadBuffer)
	s := &session{client: client, conn: conn}
	s.touch()
	r.sessions[client] = s
	r.opened.Add(1)
	r.logger.Debug("session opened", "client", client, "via", conn.LocalAddr())
	r.wg.Add(1)
	go r.readTarget(s)
	return s
}

// readTarget relays what the target sends back to s's client until the
// session ends.
func (r *Relay) readTarget(s *session) {
	defer r.wg.Done()
	buf := make([]byte, r.maxDatagram+1)
	for {
		n, err := s.conn.Read(buf)
		if err != nil {
			if s.closed.Load() {
				return
			}
			if transient(err) {
				// The target's host answered an earlier datagram with ICMP
				// port unreachable: nothing listens there.
				r.up.c.errors.Add(1)
				if !s.warned {
					s.warned = true
					r.logger.Warn("target refused a datagram: is anything listening there?", "target", r.target, "client", s.client)
				}
				continue
			}
			r.logger.Warn("reading from the target failed; session ended", "client", s.client, "err", err)
			r.endSession(s)
			return
		}
		if n > r.maxDatagram {
			r.down.c.oversize.Add(1)
			continue
		}
		s.touch()
		r.down.handle(buf[:n], s)
	}
}

// writeToClient is the downstream direction's send.
func (r *Relay) writeToClient(b []byte, s *session) error {
	if r.udp != nil {
		_, err := r.udp.WriteToUDPAddrPort(b, s.client)
		return err
	}
	_, err := r.pc.WriteTo(b, net.UDPAddrFromAddrPort(s.client))
	return err
}

func (r *Relay) endSession(s *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sessions[s.client] == s {
		delete(r.sessions, s.client)
	}
	s.closed.Store(true)
	s.conn.Close()
}

// janitor expires idle sessions. It looks four times per IdleTimeout, so a
// session ends between one and one and a quarter IdleTimeouts after it
// last carried a datagram.
func (r *Relay) janitor() {
	defer r.wg.Done()
	tick := min(max(r.idle/4, time.Millisecond), 15*time.Second)
	need := int((r.idle + tick - 1) / tick)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-r.quit:
			return
		case <-t.C:
		}
		r.mu.Lock()
		for client, s := range r.sessions {
			if s.active.Swap(false) {
				s.idleTicks = 0
				continue
			}
			if s.idleTicks++; s.idleTicks >= need {
				delete(r.sessions, client)
				s.closed.Store(true)
				s.conn.Close()
				r.expired.Add(1)
				r.logger.Debug("session expired", "client", client)
			}
		}
		r.mu.Unlock()
	}
}

// Shutdown stops taking datagrams from clients, waits until those held
// back (delay, rate, reordering) have been sent, then closes the relay.
// Replies from the target are still relayed meanwhile. If ctx ends first,
// Shutdown closes the relay at once, discarding what waits, and returns
// ctx's error.
func (r *Relay) Shutdown(ctx context.Context) error {
	r.init()
	r.mu.Lock()
	r.shutting = true
	pc := r.pc
	r.mu.Unlock()
	if pc != nil {
		pc.SetReadDeadline(time.Unix(1, 0)) // wakes Serve's read
	}
	// Like net/http's Shutdown, poll: waiting datagrams drain in at most
	// the longest delay configured.
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for !r.up.idle() || !r.down.idle() {
		select {
		case <-ctx.Done():
			r.Close()
			return ctx.Err()
		case <-t.C:
		}
	}
	return r.Close()
}

// Close stops the relay at once: the socket Serve serves and every
// session's socket are closed, and datagrams still waiting are discarded.
func (r *Relay) Close() error {
	r.init()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	close(r.quit)
	if r.pc != nil {
		r.pc.Close()
	}
	for client, s := range r.sessions {
		delete(r.sessions, client)
		s.closed.Store(true)
		s.conn.Close()
	}
	return nil
}

// Stats returns the relay's counters so far. It may be called at any time,
// during Serve or after.
func (r *Relay) Stats() Stats {
	r.init()
	r.mu.Lock()
	n := len(r.sessions)
	r.mu.Unlock()
	return Stats{
		Seed:            r.Seed,
		Up:              r.up.c.snapshot(),
		Down:            r.down.c.snapshot(),
		Sessions:        n,
		SessionsOpened:  r.opened.Load(),
		SessionsExpired: r.expired.Load(),
		SessionsRefused: r.refused.Load(),
	}
}
