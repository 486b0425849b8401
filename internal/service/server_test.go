package service_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/certs"
	"github.com/netkit/netkit/internal/service"
	"github.com/netkit/netkit/internal/testwait"
)

// lineEcho answers each line with "got: LINE".
var lineEcho = service.HandlerFunc(func(_ context.Context, c *service.Conn) error {
	for {
		line, err := c.ReadLine()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := c.WriteString("got: " + string(line) + "\n"); err != nil {
			return err
		}
	}
})

// start serves srv on a fresh loopback listener and stops it when the test
// ends.
func start(t *testing.T, srv *service.Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, service.ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return l.Addr().String()
}

type client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{t: t, conn: conn, r: bufio.NewReader(conn)}
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *client) line() string {
	c.t.Helper()
	s, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read line: %v (got %q)", err, s)
	}
	return strings.TrimSuffix(s, "\n")
}

// closed waits until the server closes the connection.
func (c *client) closed() {
	c.t.Helper()
	rest, err := io.ReadAll(c.r)
	if err != nil {
		c.t.Fatalf("waiting for close: %v (after %q)", err, rest)
	}
	if len(rest) > 0 {
		c.t.Fatalf("unexpected data before close: %q", rest)
	}
}

func TestServerLines(t *testing.T) {
	addr := start(t, &service.Server{Handler: lineEcho})
	c := dial(t, addr)
	c.send("hello\r\nworld\n")
	if got := c.line(); got != "got: hello" {
		t.Errorf("got %q, want %q", got, "got: hello")
	}
	if got := c.line(); got != "got: world" {
		t.Errorf("got %q, want %q", got, "got: world")
	}
}

func TestServerMaxLineLength(t *testing.T) {
	const max = 16
	addr := start(t, &service.Server{Handler: lineEcho, Limits: service.Limits{MaxLineLength: max}})

	ok := dial(t, addr)
	ok.send(strings.Repeat("a", max) + "\n")
	if got, want := ok.line(), "got: "+strings.Repeat("a", max); got != want {
		t.Errorf("line at the limit: got %q, want %q", got, want)
	}

	over := dial(t, addr)
	over.send(strings.Repeat("b", max+1) + "\n")
	if got := over.line(); !strings.HasPrefix(got, "error: line too long (limit 16 bytes)") {
		t.Errorf("line over the limit: got %q, want the limit error", got)
	}
	over.closed()

	// The other client is unaffected.
	ok.send("still here\n")
	if got := ok.line(); got != "got: still here" {
		t.Errorf("after another client's error: got %q", got)
	}
}

func TestServerMaxConnsPerIP(t *testing.T) {
	const max = 3
	srv := &service.Server{Handler: lineEcho, Limits: service.Limits{MaxConnsPerIP: max}}
	addr := start(t, srv)
	var held []*client
	for i := range max {
		c := dial(t, addr)
		c.send("hi\n")
		if got := c.line(); got != "got: hi" {
			t.Fatalf("connection %d of %d: got %q", i+1, max, got)
		}
		held = append(held, c)
	}
	extra := dial(t, addr)
	if got := extra.line(); !strings.Contains(got, "too many connections from 127.0.0.1 (limit 3)") {
		t.Errorf("connection over the limit: got %q", got)
	}
	extra.closed()

	// Closing one makes room again.
	held[0].conn.Close()
	testwait.For(t, `srv.OpenConns() == max-1`, func() bool { return srv.OpenConns() == max-1 })
	again := dial(t, addr)
	again.send("back\n")
	if got := again.line(); got != "got: back" {
		t.Errorf("after one closed: got %q", got)
	}
}

func TestServerMaxConns(t *testing.T) {
	srv := &service.Server{Handler: lineEcho, Limits: service.Limits{MaxConns: 2, MaxConnsPerIP: -1}}
	addr := start(t, srv)
	for range 2 {
		c := dial(t, addr)
		c.send("x\n")
		c.line()
	}
	extra := dial(t, addr)
	if got := extra.line(); !strings.HasPrefix(got, "error: server full (2 connections)") {
		t.Errorf("got %q, want server full", got)
	}
}

func TestServerIdleTimeout(t *testing.T) {
	const idle = 200 * time.Millisecond
	addr := start(t, &service.Server{Handler: lineEcho, Limits: service.Limits{IdleTimeout: idle}})
	// Activity keeps a connection open past the timeout: pings a tenth
	// of it apart, for three times it. A loaded machine can stall the
	// test between two pings for as long as the timeout, and the server
	// is then right to close; so a notice after a gap of half the timeout
	// or more sends the test to a new connection (5 at most), and only
	// one after a short gap fails it.
	for try := 1; ; try++ {
		c := dial(t, addr)
		lastSent, stalled := pingFor(t, c, 3*idle, idle/10, idle/2)
		if stalled {
			c.conn.Close()
			if try == 5 {
				t.Fatalf("stalled for half the idle timeout between two pings in each of %d tries", try)
			}
			continue
		}
		// Silence closes it, no sooner than the timeout after the
		// last line the server read, which was sent at lastSent.
		if got := c.line(); got != "error: idle for 200ms; closing" {
			t.Errorf("got %q, want the idle notice", got)
		}
		if d := time.Since(lastSent); d < idle {
			t.Errorf("closed %v after the last line, before the idle timeout of %v", d, idle)
		}
		c.closed()
		return
	}
}

// pingFor sends c a line every gap and reads the answer, for span. It
// returns when the last line was sent; or reports a stall, when the
// server closed the connection for idleness after a gap of over stall
// between two lines (the test's fault, on a loaded machine), and fails
// the test when it did so after a shorter one.
func pingFor(t *testing.T, c *client, span, gap, stall time.Duration) (time.Time, bool) {
	t.Helper()
	start := time.Now()
	prev := start
	for time.Since(start) < span {
		sent := time.Now()
		c.send("ping\n")
		got := c.line()
		if strings.HasPrefix(got, "error: idle") {
			if sent.Sub(prev) >= stall {
				return sent, true
			}
			t.Fatalf("closed for idleness %v after the previous line: %q", sent.Sub(prev), got)
		}
		prev = sent
		time.Sleep(gap)
	}
	return prev, false
}

// TestServerSlowReaderDropped checks that a client that never reads is
// dropped by the write timeout, while another client is served normally
// all along: its round trips, while the first is stuck, are far shorter
// than the write timeout a server stalled by the slow client would make
// them.
func TestServerSlowReaderDropped(t *testing.T) {
	const writeTimeout = 3 * time.Second
	var flooded atomic.Int64 // bytes written to the flooded client
	srv := &service.Server{Handler: service.HandlerFunc(func(ctx context.Context, c *service.Conn) error {
		line, err := c.ReadLine()
		if err != nil {
			return err
		}
		if string(line) != "flood me" {
			// A normal client: each line is answered.
			for {
				if _, err := c.WriteString("got: " + string(line) + "\n"); err != nil {
					return err
				}
				if line, err = c.ReadLine(); err != nil {
					return err
				}
			}
		}
		buf := make([]byte, 64<<10)
		for {
			n, err := c.Write(buf)
			flooded.Add(int64(n))
			if err != nil {
				return err
			}
		}
	}), Limits: service.Limits{WriteTimeout: writeTimeout}}
	addr := start(t, srv)
	slow := dial(t, addr)
	slow.send("flood me\n")
	// The slow client never reads: the server's writes to it stop once
	// the socket buffers are full.
	last, since := int64(-1), time.Now()
	testwait.For(t, "the writes to the slow client to block", func() bool {
		if n := flooded.Load(); n != last || n == 0 {
			last, since = n, time.Now()
			return false
		}
		return time.Since(since) > 100*time.Millisecond
	})

	normal := dial(t, addr)
	const pings = 20
	var worst time.Duration
	for i := range pings {
		start := time.Now()
		normal.send(fmt.Sprintf("ping %d\n", i))
		if got, want := normal.line(), fmt.Sprintf("got: ping %d", i); got != want {
			t.Fatalf("normal client got %q, want %q", got, want)
		}
		worst = max(worst, time.Since(start))
	}
	// Generous: a round trip on loopback takes well under a millisecond;
	// one that waited for the slow client would take the write timeout.
	if worst > writeTimeout/3 {
		t.Errorf("slowest round trip of the normal client %v while another was stuck, want under %v", worst, writeTimeout/3)
	}
	// All of that while the slow client was stuck, not after its drop.
	if n := srv.OpenConns(); n != 2 {
		t.Fatalf("%d connections open after the pings, want both (was the slow one dropped early?)", n)
	}
	testwait.For(t, "the slow client to be dropped", func() bool { return srv.OpenConns() == 1 })
	normal.send("after\n")
	if got := normal.line(); got != "got: after" {
		t.Errorf("normal client after the drop got %q", got)
	}
}

func TestServerShutdownDrains(t *testing.T) {
	release := make(chan struct{})
	inProgress := make(chan struct{})
	srv := &service.Server{Handler: service.HandlerFunc(func(_ context.Context, c *service.Conn) error {
		line, err := c.ReadLine()
		if err != nil {
			return err
		}
		if string(line) == "slow" {
			close(inProgress)
			<-release // a request in progress
		}
		_, err = c.WriteString("done " + string(line) + "\n")
		return err
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	addr := l.Addr().String()

	idle := dial(t, addr)
	busy := dial(t, addr)
	busy.send("slow\n")
	testwait.For(t, `srv.OpenConns() == 2`, func() bool { return srv.OpenConns() == 2 })
	<-inProgress // else the busy client may still look idle to Shutdown

	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	if got := idle.line(); got != "server shutting down; goodbye" {
		t.Errorf("idle client got %q", got)
	}
	if err := <-served; !errors.Is(err, service.ErrServerClosed) {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("still accepting after Shutdown")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a request in progress", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if got := busy.line(); got != "done slow" {
		t.Errorf("request in progress got %q, want it finished", got)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown = %v", err)
	}
}

func TestServerShutdownGraceExpires(t *testing.T) {
	stuck := make(chan struct{})
	defer close(stuck)
	srv := &service.Server{Handler: service.HandlerFunc(func(context.Context, *service.Conn) error {
		<-stuck
		return nil
	})}
	addr := start(t, srv)
	c := dial(t, addr)
	testwait.For(t, `srv.OpenConns() == 1`, func() bool { return srv.OpenConns() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want DeadlineExceeded", err)
	}
	c.closed() // the connection was closed when grace ran out
}

func TestServerTLS(t *testing.T) {
	certPEM, keyPEM, err := certs.SelfSigned(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	srv := &service.Server{Handler: lineEcho, TLSConfig: certs.ServerConfig(cert, 0), Limits: service.Limits{HandshakeTimeout: time.Second}}
	addr := start(t, srv)

	t.Run("tls client", func(t *testing.T) {
		cfg, err := certs.ClientOptions{Fingerprint: certs.Fingerprint(cert.Certificate[0])}.Config()
		if err != nil {
			t.Fatal(err)
		}
		conn, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if v := conn.ConnectionState().Version; v != tls.VersionTLS13 {
			t.Errorf("version %x, want TLS 1.3", v)
		}
		c := &client{t: t, conn: conn, r: bufio.NewReader(conn)}
		c.send("secret\n")
		if got := c.line(); got != "got: secret" {
			t.Errorf("got %q", got)
		}
	})
	t.Run("tls 1.2 refused", func(t *testing.T) {
		_, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12})
		if err == nil {
			t.Fatal("TLS 1.2 handshake succeeded against a TLS 1.3 minimum")
		}
	})
	t.Run("plain client", func(t *testing.T) {
		c := dial(t, addr)
		c.send("hello in clear\n")
		if got := c.line(); !strings.HasPrefix(got, "error: this port speaks TLS") {
			t.Errorf("got %q, want the TLS notice", got)
		}
		c.closed()
	})
	t.Run("silent client", func(t *testing.T) {
		c := dial(t, addr)
		c.closed() // handshake timeout
	})
}

func TestServerTLSClientOnPlainPort(t *testing.T) {
	addr := start(t, &service.Server{Handler: lineEcho})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true})
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	err = tc.Handshake()
	var rhe tls.RecordHeaderError
	if !errors.As(err, &rhe) {
		t.Fatalf("handshake error %v, want a RecordHeaderError", err)
	}
	// The plain-text notice is what the TLS client saw as a record header.
	if got := string(rhe.RecordHeader[:]); got != "error" {
		t.Errorf("record header %q, want the start of the notice", got)
	}
}

func TestServerManyClients(t *testing.T) {
	srv := &service.Server{Handler: lineEcho, Limits: service.Limits{MaxConnsPerIP: -1}}
	addr := start(t, srv)
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			msg := strings.Repeat("m", i%50)
			io.WriteString(conn, msg+"\n")
			got, err := bufio.NewReader(conn).ReadString('\n')
			if err != nil || got != "got: "+msg+"\n" {
				errs <- errors.New("client " + msg + " got " + got)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
