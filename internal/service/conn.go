package service

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"
)

// Conn is one client connection as a Handler sees it. Reads carry the
// server's idle timeout and writes its write timeout, so a handler needs no
// deadline code of its own. Reads fail with ErrServerClosed once the server
// is shutting down. Byte counts feed the close log line and the metrics.
//
// Read and Write may be used from different goroutines; ReadLine is for one
// reader at a time.
type Conn struct {
	conn   net.Conn // the transport; a *tls.Conn on a TLS server
	srv    *Server
	peer   netip.Addr
	logger *slog.Logger
	opened time.Time

	in, out atomic.Int64
	// The read and write deadlines last set, in Unix nanoseconds: a
	// deadline is moved only when less than the timeout is left, and then
	// an eighth further, so that a busy connection does not move its
	// timers on every read and write.
	readDL, writeDL atomic.Int64
	readErr         atomic.Bool  // the handler's error came from reading, so a notice can still be written
	idle            atomic.Int64 // the idle timeout, as a time.Duration; 0: none
	lines           *LineReader
	sniffed         bool
}

// RemoteAddr returns the client's address.
func (c *Conn) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// LocalAddr returns the server's address for this connection.
func (c *Conn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// Peer returns the client's IP address.
func (c *Conn) Peer() netip.Addr { return c.peer }

// Logger returns a logger carrying the service and peer.
func (c *Conn) Logger() *slog.Logger { return c.logger }

// Limits returns the server's limits with defaults filled in.
func (c *Conn) Limits() Limits { return c.srv.limits }

// BytesIn reports the bytes read so far.
func (c *Conn) BytesIn() int64 { return c.in.Load() }

// BytesOut reports the bytes written so far.
func (c *Conn) BytesOut() int64 { return c.out.Load() }

// Read reads from the client, waiting at most the idle timeout.
func (c *Conn) Read(p []byte) (int, error) {
	if d := time.Duration(c.idle.Load()); d > 0 {
		extend(&c.readDL, d, c.conn.SetReadDeadline)
	}
	// Checked after the deadline is set: Shutdown sets a past deadline
	// after cancelling, so either this sees the cancel or Read sees the
	// deadline.
	if c.srv.ctx.Err() != nil {
		c.readErr.Store(true)
		return 0, ErrServerClosed
	}
	n, err := c.conn.Read(p)
	c.in.Add(int64(n))
	if !c.sniffed && n > 0 {
		c.sniffed = true
		if c.srv.TLSConfig == nil && looksLikeTLS(p[:n]) {
			c.readErr.Store(true)
			return 0, ErrTLSOnPlain
		}
	}
	if err != nil {
		c.readErr.Store(true)
		if c.srv.ctx.Err() != nil && isTimeout(err) {
			err = ErrServerClosed
		}
	}
	return n, err
}

// IdleTimeout returns the connection's idle timeout (0: none).
func (c *Conn) IdleTimeout() time.Duration { return time.Duration(c.idle.Load()) }

// SetIdleTimeout changes how long Read waits for the client from now on:
// d <= 0 waits for ever (TCP keepalive still finds a dead peer, and the
// write timeout one that stops reading). A service where silence is
// normal, such as the chat once a member has joined, turns it off. Call
// it from the goroutine that reads, between reads.
func (c *Conn) SetIdleTimeout(d time.Duration) {
	c.idle.Store(int64(max(d, 0)))
	if d <= 0 {
		// Read checks for a shutdown after this, so clearing the
		// deadline cannot hide one.
		c.readDL.Store(0)
		c.conn.SetReadDeadline(time.Time{})
		return
	}
	c.readDL.Store(0)
	extend(&c.readDL, d, c.conn.SetReadDeadline)
}

// Write writes to the client, failing if it does not take the data within
// the write timeout.
func (c *Conn) Write(p []byte) (int, error) {
	if d := c.srv.limits.WriteTimeout; d > 0 {
		extend(&c.writeDL, d, c.conn.SetWriteDeadline)
	}
	n, err := c.conn.Write(p)
	c.out.Add(int64(n))
	if err != nil {
		c.readErr.Store(false)
	}
	return n, err
}

// extend makes sure the deadline last set, *dl, is at least d away: if
// not, it sets one d and an eighth of d from now. A timeout then fires
// between d and 9/8 d after the last read or write, never before d.
func extend(dl *atomic.Int64, d time.Duration, set func(time.Time) error) {
	now := time.Now()
	if dl.Load() >= now.Add(d).UnixNano() {
		return
	}
	t := now.Add(d + d/8)
	dl.Store(t.UnixNano())
	set(t)
}

// WriteString writes s to the client.
func (c *Conn) WriteString(s string) (int, error) {
	return c.Write([]byte(s))
}

// ReadLine reads one line of at most the server's MaxLineLength, without its
// "\n" or "\r\n". The slice is valid until the next call.
func (c *Conn) ReadLine() ([]byte, error) {
	if c.lines == nil {
		c.lines = NewLineReader(c, c.srv.limits.MaxLineLength)
	}
	line, err := c.lines.ReadLine()
	if err != nil {
		c.readErr.Store(true)
	}
	if err == nil && c.logger.Enabled(context.Background(), slog.LevelDebug) {
		c.logger.Debug("line", "len", len(line), "text", preview(line))
	}
	return line, err
}

// Close closes the connection at once, unblocking a Read or Write in
// another goroutine. The Server closes every connection when its handler
// returns, so a handler only needs this to cut a connection from outside
// the goroutine reading it.
func (c *Conn) Close() error { return c.conn.Close() }

// CloseWrite shuts down the writing side when the transport supports it.
func (c *Conn) CloseWrite() error {
	if cw, ok := c.conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// looksLikeTLS reports whether b starts like a TLS handshake record: content
// type 22 and a major version of 3.
func looksLikeTLS(b []byte) bool {
	return len(b) >= 2 && b[0] == 0x16 && b[1] == 0x03
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// preview returns a short printable rendering of b for debug logs.
func preview(b []byte) string {
	const max = 64
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
