package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netkit/netkit/internal/udpio"
	"golang.org/x/time/rate"
)

// Defaults for PacketServer, used where a field is zero.
const (
	DefaultMaxPacket     = 2048
	DefaultPacketRate    = 50 // datagrams per second per client address
	DefaultPacketBurst   = 100
	maxTrackedAddresses  = 4096
	trackedAddressExpiry = time.Minute
)

// PacketHandler answers one datagram. It appends its reply to out (which
// has length zero but is not nil) and returns it; nil sends nothing, while
// an empty non-nil slice sends an empty datagram (RFC 862 echoes those).
// req and out are only valid during the call.
type PacketHandler interface {
	ServePacket(ctx context.Context, req []byte, from netip.AddrPort, out []byte) []byte
}

// PacketHandlerFunc adapts a function to PacketHandler.
type PacketHandlerFunc func(ctx context.Context, req []byte, from netip.AddrPort, out []byte) []byte

// ServePacket calls f.
func (f PacketHandlerFunc) ServePacket(ctx context.Context, req []byte, from netip.AddrPort, out []byte) []byte {
	return f(ctx, req, from, out)
}

// PacketServer serves a request/response UDP protocol. Each client address
// is rate limited, so the server cannot be turned into a flood aimed at a
// third party whose address is spoofed, and datagrams longer than MaxPacket
// are dropped. The zero value is usable once Handler is set. Its methods are
// safe for concurrent use.
type PacketServer struct {
	// Name labels logs and metrics.
	Name string
	// Handler answers each datagram.
	Handler PacketHandler
	// MaxPacket is the longest datagram answered (default 2048).
	MaxPacket int
	// Rate and Burst limit the datagrams answered per client address per
	// second (defaults 50 and 100); a negative Rate means no limit.
	Rate  rate.Limit
	Burst int
	// Batch, when over 1, has a UDP socket read and answered through
	// udpio: up to Batch datagrams per recvmmsg, and their answers in one
	// sendmmsg, where the platform has them. The handler still sees one
	// datagram at a time, in order. 0 or 1 is one system call per
	// datagram each way.
	Batch int
	// Logger receives logs; nil discards them.
	Logger *slog.Logger
	// Metrics receives counters; nil records nothing.
	Metrics *Metrics

	initOnce sync.Once
	logger   *slog.Logger
	metrics  *serviceMetrics
	ctx      context.Context
	cancel   context.CancelFunc
	closed   atomic.Bool
	mu       sync.Mutex
	conns    map[net.PacketConn]struct{}
	active   sync.WaitGroup
	limiters map[netip.Addr]*limiter
}

type limiter struct {
	*rate.Limiter
	seen time.Time
}

func (s *PacketServer) init() {
	s.initOnce.Do(func() {
		s.logger = s.Logger
		if s.logger == nil {
			s.logger = slog.New(slog.DiscardHandler)
		}
		if s.Name != "" {
			s.logger = s.logger.With("service", s.Name)
		}
		s.metrics = s.Metrics.forService(s.Name)
		s.ctx, s.cancel = context.WithCancel(context.Background())
		s.conns = make(map[net.PacketConn]struct{})
		s.limiters = make(map[netip.Addr]*limiter)
	})
}

// Serve answers datagrams on pc until Shutdown or Close, then returns
// ErrServerClosed. It always returns a non-nil error and closes pc.
func (s *PacketServer) Serve(pc net.PacketConn) error {
	s.init()
	if s.Handler == nil {
		return errors.New("service: PacketServer.Handler is nil")
	}
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		pc.Close()
		return ErrServerClosed
	}
	s.conns[pc] = struct{}{}
	s.active.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, pc)
		s.mu.Unlock()
		pc.Close()
		s.active.Done()
	}()

	maxPacket := orDefault(s.MaxPacket, DefaultMaxPacket)
	udp, _ := pc.(*net.UDPConn)
	if udp != nil && s.Batch > 1 {
		if err, ok := s.serveBatch(udp, maxPacket); ok {
			return err
		}
	}
	// One datagram per call, with one byte more than the limit, which
	// tells an oversized datagram apart: a reply goes out before the next
	// is read.
	sock, _, _ := udpio.NewSocket(pc, maxPacket+1, nil)
	var dg [1]udpio.Datagram
	out := make([]byte, 0, 2048)
	for {
		_, err := sock.Read(dg[:])
		if err != nil {
			if s.closed.Load() {
				return ErrServerClosed
			}
			if isTemporary(err) {
				continue
			}
			return fmt.Errorf("service: read: %w", err)
		}
		in, from := dg[0].B, dg[0].Addr
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		reply := s.answer(in, from, maxPacket, out[:0])
		if reply == nil {
			continue
		}
		if err := sock.WriteTo(reply, from); err != nil && !s.closed.Load() {
			s.logger.Debug("reply failed", "peer", from, "err", err)
		}
	}
}

// answer applies the size and rate limits to the datagram req from from
// and hands it to the handler; nil means no answer.
func (s *PacketServer) answer(req []byte, from netip.AddrPort, maxPacket int, out []byte) []byte {
	n := len(req)
	switch {
	case n > maxPacket:
		s.metrics.reject("datagram too large")
		s.logger.Debug("dropped datagram", "peer", from, "len", n, "reason", "too large")
		return nil
	case !s.allow(from.Addr()):
		s.metrics.reject("rate limited")
		s.logger.Debug("dropped datagram", "peer", from, "len", n, "reason", "rate limited")
		return nil
	}
	reply := s.Handler.ServePacket(s.ctx, req, from, out)
	s.metrics.packet(n, len(reply))
	// Checked first: the arguments alone cost allocations on every
	// datagram, logged or not.
	if s.logger.Enabled(s.ctx, slog.LevelDebug) {
		s.logger.Debug("datagram", "peer", from, "in", n, "out", len(reply))
	}
	return reply
}

// allow applies the per-address rate limit. The table of addresses is
// bounded: when full, entries idle for a minute are dropped, and if none
// are, datagrams from new addresses are refused until some are.
func (s *PacketServer) allow(a netip.Addr) bool {
	if s.Rate < 0 {
		return true
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.limiters[a]
	if !ok {
		if len(s.limiters) >= maxTrackedAddresses {
			for k, v := range s.limiters {
				if now.Sub(v.seen) > trackedAddressExpiry {
					delete(s.limiters, k)
				}
			}
			if len(s.limiters) >= maxTrackedAddresses {
				return false
			}
		}
		r := s.Rate
		if r == 0 {
			r = DefaultPacketRate
		}
		l = &limiter{Limiter: rate.NewLimiter(r, orDefault(s.Burst, DefaultPacketBurst))}
		s.limiters[a] = l
	}
	l.seen = now
	return l.AllowN(now, 1)
}

// Shutdown stops serving. Datagram services hold no connections, so this
// only waits for the datagram in hand to be answered, or for ctx.
func (s *PacketServer) Shutdown(ctx context.Context) error {
	s.Close()
	return wait(ctx, &s.active)
}

// Close stops serving at once.
func (s *PacketServer) Close() error {
	s.init()
	s.mu.Lock()
	s.closed.Store(true)
	for pc := range s.conns {
		pc.Close()
	}
	s.mu.Unlock()
	s.cancel()
	return nil
}
