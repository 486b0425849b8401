package service

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Handler serves one connection. It returns when it is done with the
// connection, with the reason if it was not a clean end; the Server closes
// the connection afterwards, logs the reason and, for read-side errors such
// as an overlong line or the idle timeout, tells the client in one line.
type Handler interface {
	ServeConn(ctx context.Context, c *Conn) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, c *Conn) error

// ServeConn calls f(ctx, c).
func (f HandlerFunc) ServeConn(ctx context.Context, c *Conn) error { return f(ctx, c) }

// Server serves a Handler on TCP listeners, optionally over TLS, within
// Limits. The zero value is usable once Handler is set; fields must not be
// changed after the first call to Serve. Its methods are safe for
// concurrent use.
type Server struct {
	// Name labels logs and metrics ("echo", "hello", ...).
	Name string
	// Handler serves each connection.
	Handler Handler
	// TLSConfig, when set, makes every connection TLS.
	TLSConfig *tls.Config
	// Limits bounds connections; see Limits for defaults.
	Limits Limits
	// Logger receives connection logs; nil discards them.
	Logger *slog.Logger
	// Metrics receives counters; nil records nothing.
	Metrics *Metrics

	initOnce sync.Once
	limits   Limits
	logger   *slog.Logger
	metrics  *serviceMetrics
	ctx      context.Context // cancelled when shutting down
	cancel   context.CancelFunc
	gate     *Gate
	refuser  *Refuser

	mu        sync.Mutex
	closed    atomic.Bool
	listeners map[net.Listener]struct{}
	conns     map[*Conn]struct{}
	active    sync.WaitGroup
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		s.limits = s.Limits.normalized()
		s.logger = s.Logger
		if s.logger == nil {
			s.logger = slog.New(slog.DiscardHandler)
		}
		if s.Name != "" {
			s.logger = s.logger.With("service", s.Name)
		}
		s.metrics = s.Metrics.forService(s.Name)
		s.ctx, s.cancel = context.WithCancel(context.Background())
		s.gate = NewGate(s.Limits)
		s.refuser = NewRefuser(s.TLSConfig, s.logger, s.metrics.reject)
		s.listeners = make(map[net.Listener]struct{})
		s.conns = make(map[*Conn]struct{})
	})
}

// Serve accepts connections on l and serves each in its own goroutine until
// Shutdown or Close, after which it returns ErrServerClosed. It always
// returns a non-nil error. Serve closes l when it returns.
func (s *Server) Serve(l net.Listener) error {
	s.init()
	if s.Handler == nil {
		return errors.New("service: Server.Handler is nil")
	}
	if !s.trackListener(l, true) {
		l.Close()
		return ErrServerClosed
	}
	defer s.trackListener(l, false)
	defer l.Close()

	var backoff time.Duration
	for {
		raw, err := l.Accept()
		if err != nil {
			if s.closed.Load() {
				return ErrServerClosed
			}
			if isTemporary(err) {
				// Out of file descriptors and the like: wait and retry,
				// as net/http does, rather than spin or give up.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logger.Warn("accept failed; retrying", "err", err, "in", backoff)
				select {
				case <-time.After(backoff):
				case <-s.ctx.Done():
				}
				continue
			}
			return fmt.Errorf("service: accept: %w", err)
		}
		backoff = 0
		c, reason := s.admit(raw)
		if c == nil {
			s.refuser.Refuse(raw, addrOf(raw.RemoteAddr()), reason, []byte("error: "+reason+"; try again later\n"))
			continue
		}
		go s.serveConn(c)
	}
}

// isTemporary reports accept errors worth retrying: resource exhaustion and
// connections aborted before they were accepted.
func isTemporary(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var se interface{ Temporary() bool }
	return errors.As(err, &se) && se.Temporary()
}

func (s *Server) trackListener(l net.Listener, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closed.Load() {
			return false
		}
		s.listeners[l] = struct{}{}
	} else {
		delete(s.listeners, l)
	}
	return true
}

// admit registers raw if the limits allow it, or returns the reason not.
func (s *Server) admit(raw net.Conn) (*Conn, string) {
	peer := addrOf(raw.RemoteAddr())
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return nil, "server shutting down"
	}
	if ok, reason := s.gate.Admit(peer); !ok {
		return nil, reason
	}
	c := &Conn{
		conn:   raw,
		srv:    s,
		peer:   peer,
		logger: s.logger.With("peer", raw.RemoteAddr().String()),
		opened: time.Now(),
	}
	c.idle.Store(int64(s.limits.IdleTimeout))
	s.conns[c] = struct{}{}
	s.active.Add(1)
	return c, ""
}

func (s *Server) release(c *Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.gate.Release(c.peer)
	s.active.Done()
}

func (s *Server) serveConn(c *Conn) {
	defer s.release(c)
	s.metrics.connOpened()
	SetKeepAlive(c.conn)
	c.logger.Info("open")

	// Shutdown interrupts blocked reads; Conn.Read turns that into
	// ErrServerClosed.
	stop := context.AfterFunc(s.ctx, func() { c.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()

	err := s.handshake(c)
	if err == nil {
		ctx, cancel := context.WithCancel(s.ctx)
		err = s.Handler.ServeConn(ctx, c)
		cancel()
		if err != nil && c.readErr.Load() {
			s.notify(c, err)
		}
	}
	c.conn.Close()
	in, out := c.in.Load(), c.out.Load()
	s.metrics.connClosed(in, out)
	attrs := []any{"in", in, "out", out, "duration", time.Since(c.opened).Round(time.Millisecond)}
	if err != nil && !errors.Is(err, net.ErrClosed) {
		attrs = append(attrs, "reason", err.Error())
	}
	c.logger.Info("close", attrs...)
}

// handshake runs the TLS handshake on a TLS server within the handshake
// timeout. A client that speaks plain text to a TLS port is told so in plain
// text.
func (s *Server) handshake(c *Conn) error {
	if s.TLSConfig == nil {
		return nil
	}
	if d := s.limits.HandshakeTimeout; d > 0 {
		c.conn.SetDeadline(time.Now().Add(d))
	}
	// A TLS client speaks first, with a handshake record. Looking at the
	// first byte tells a plain-text client apart at once, even one that
	// sends fewer bytes than a record header and waits.
	var first [1]byte
	if _, err := io.ReadFull(c.conn, first[:]); err != nil {
		return fmt.Errorf("service: tls handshake: %w", err)
	}
	c.in.Add(1)
	if first[0] != 0x16 {
		c.conn.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := io.WriteString(c.conn, tlsNotice); err == nil {
			lingerClose(c.conn)
		}
		return errors.New("service: tls handshake: client spoke plain text")
	}
	tc := tls.Server(&prefixConn{Conn: c.conn, prefix: first[:]}, s.TLSConfig)
	err := tc.HandshakeContext(s.ctx)
	c.conn.SetDeadline(time.Time{})
	if err != nil {
		return fmt.Errorf("service: tls handshake: %w", err)
	}
	c.conn = tc
	return nil
}

// tlsNotice is what a plain-text client on a TLS port is told.
const tlsNotice = "error: this port speaks TLS; connect with a TLS client (netkit --tls, openssl s_client)\n"

// prefixConn gives back bytes already read before reading on.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

// notify tells the client in one line why the server is closing its
// connection, for errors the client caused or should know about.
func (s *Server) notify(c *Conn, err error) {
	var msg string
	switch {
	case errors.Is(err, ErrLineTooLong):
		msg = "error: line too long (limit " + fmt.Sprint(s.limits.MaxLineLength) + " bytes); closing"
	case errors.Is(err, ErrServerClosed):
		msg = "server shutting down; goodbye"
	case errors.Is(err, ErrTLSOnPlain):
		msg = "error: this port speaks plain text, not TLS; connect without --tls"
	case isTimeout(err):
		msg = "error: idle for " + c.IdleTimeout().String() + "; closing"
	default:
		return
	}
	c.conn.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := c.conn.Write([]byte(msg + "\n")); err != nil {
		return
	}
	lingerClose(c.conn)
}

// lingerClose sends FIN, then reads and discards what the client still
// sends for a moment before the caller closes. Closing with unread input
// makes the kernel send RST, which can destroy the notice just written
// before the client reads it.
func lingerClose(conn net.Conn) {
	type closeWriter interface{ CloseWrite() error }
	cw, ok := conn.(closeWriter)
	if !ok || cw.CloseWrite() != nil {
		return
	}
	conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	io.CopyN(io.Discard, conn, 256<<10)
}

// Shutdown stops accepting, interrupts connections waiting for input, and
// waits for handlers to finish until ctx is done, when it closes what is
// left and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.stopAccepting()
	err := wait(ctx, &s.active)
	if err != nil {
		s.closeConns()
	}
	return err
}

// wait waits for wg, or for ctx to be done.
func wait(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting and closes every connection at once.
func (s *Server) Close() error {
	s.init()
	s.stopAccepting()
	s.closeConns()
	return nil
}

func (s *Server) stopAccepting() {
	s.mu.Lock()
	s.closed.Store(true)
	for l := range s.listeners {
		l.Close()
	}
	s.mu.Unlock()
	s.cancel()
}

func (s *Server) closeConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.conn.Close()
	}
}

// OpenConns reports the connections open now.
func (s *Server) OpenConns() int {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}
