package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// welcomePrefix is how the echo server's greeting starts; anything else
// (such as "error: server full") means the connection was refused.
const welcomePrefix = "netkit echo:"

// maxWelcome bounds the greeting line.
const maxWelcome = 256

// conn is one client connection. mu serialises round trips in rate mode,
// where two tokens may reach the same connection; in closed-loop mode each
// connection belongs to one worker.
type conn struct {
	mu     sync.Mutex
	c      net.Conn
	uses   uint32
	broken bool
}

// dialResult describes the connecting phase.
type dialResult struct {
	Opened  int           `json:"opened"`
	Elapsed time.Duration `json:"-"`
	Retries int64         `json:"retries"`
	Sources []string      `json:"source_addrs,omitempty"`
}

// dialAll opens n connections to addr, at most concurrency at a time, each
// reading the welcome line within timeout. Connection i is bound to
// srcs[i%len(srcs)] when srcs is not empty. It stops at the first
// connection that fails twice and returns what it opened with the error.
func dialAll(ctx context.Context, addr netip.AddrPort, n, concurrency int, srcs []netip.Addr, timeout time.Duration) ([]*conn, dialResult, error) {
	start := time.Now()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	conns := make([]*conn, n)
	var next atomic.Int64
	var retries atomic.Int64
	var wg sync.WaitGroup
	for range min(concurrency, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				var local net.Addr
				if len(srcs) > 0 {
					local = &net.TCPAddr{IP: srcs[i%len(srcs)].AsSlice()}
				}
				var c net.Conn
				var err error
				for try := 0; try < 3; try++ {
					if try > 0 {
						retries.Add(1)
						time.Sleep(time.Duration(try) * 50 * time.Millisecond)
					}
					c, err = dialOne(ctx, addr, local, timeout)
					if err == nil || ctx.Err() != nil || !retryable(err) {
						break
					}
				}
				if err != nil {
					cancel(fmt.Errorf("connection %d: %w", i+1, err))
					return
				}
				conns[i] = &conn{c: c}
			}
		}()
	}
	wg.Wait()
	res := dialResult{Elapsed: time.Since(start), Retries: retries.Load()}
	opened := conns[:0]
	for _, c := range conns {
		if c != nil {
			opened = append(opened, c)
		}
	}
	res.Opened = len(opened)
	for _, s := range srcs {
		res.Sources = append(res.Sources, s.String())
	}
	if err := context.Cause(ctx); err != nil {
		return opened, res, err
	}
	return opened, res, nil
}

func dialOne(ctx context.Context, addr netip.AddrPort, local net.Addr, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout, LocalAddr: local}
	c, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return nil, err
	}
	c.SetReadDeadline(time.Now().Add(timeout))
	var buf [maxWelcome]byte
	n := 0
	for !bytes.Contains(buf[:n], []byte("\n")) {
		if n == len(buf) {
			c.Close()
			return nil, fmt.Errorf("welcome line longer than %d bytes", maxWelcome)
		}
		m, err := c.Read(buf[n:])
		n += m
		if err != nil && !bytes.Contains(buf[:n], []byte("\n")) {
			c.Close()
			if n > 0 {
				return nil, fmt.Errorf("reading welcome after %q: %w", buf[:n], err)
			}
			return nil, fmt.Errorf("reading welcome: %w", err)
		}
	}
	line := buf[:bytes.IndexByte(buf[:n], '\n')+1]
	if !bytes.HasPrefix(line, []byte(welcomePrefix)) {
		c.Close()
		return nil, fmt.Errorf("server said %q instead of the welcome line", line)
	}
	if len(line) != n {
		c.Close()
		return nil, fmt.Errorf("server sent %d bytes after the welcome line", n-len(line))
	}
	c.SetReadDeadline(time.Time{})
	return c, nil
}

// retryable reports dial errors that a second try may get past: a full
// accept queue or a momentary lack of local ports.
func retryable(err error) bool {
	var ne net.Error
	return errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &ne) && ne.Timeout()
}

// loadConfig is the offered load.
type loadConfig struct {
	Mode     string        `json:"mode"` // "closed" or "rate"
	Workers  int           `json:"workers"`
	Rate     float64       `json:"rate,omitempty"` // round trips per second, all connections together
	Size     int           `json:"message_bytes"`
	Duration time.Duration `json:"-"`
	MaxRTTs  int64         `json:"max_round_trips"`
	Timeout  time.Duration `json:"-"`
}

// loadResult is what the load phase measured.
type loadResult struct {
	rtt     *hist // closed loop: send to reply; rate mode: scheduled send to reply
	service *hist // rate mode only: actual send to reply
	lag     *hist // rate mode only: how late the dispatcher handed each round trip to the workers
	elapsed time.Duration

	scheduled int64 // rate mode: round trips due in the window
	issued    int64 // rate mode: round trips handed to workers
	errors    map[string]int64
	firstErr  string

	used, unused     int
	minUses, maxUses uint32
	brokenConns      int
}

func (r *loadResult) count() int64 { return r.rtt.n }

func (r *loadResult) errorCount() int64 {
	var n int64
	for _, v := range r.errors {
		n += v
	}
	return n
}

// worker is one goroutine's state: its buffers and measurements.
type worker struct {
	id       int
	wbuf     []byte
	rbuf     []byte
	seq      uint64
	rtt      *hist
	service  *hist
	errors   map[string]int64
	firstErr string
}

func newWorker(id, size int, rate bool) *worker {
	w := &worker{id: id, wbuf: make([]byte, size), rbuf: make([]byte, size), rtt: newHist(), errors: map[string]int64{}}
	for i := range w.wbuf {
		w.wbuf[i] = 'a' + byte(i%26)
	}
	if rate {
		w.service = newHist()
	}
	return w
}

// roundTrip sends one message on c and reads it back, returning the time
// from the write to the last byte of the reply. The message carries the
// worker, its sequence number and the connection so that a reply meant for
// another request is noticed.
func (w *worker) roundTrip(c *conn, idx int, timeout time.Duration) (time.Duration, error) {
	w.seq++
	var hdr [16]byte
	binary.LittleEndian.PutUint64(hdr[0:], w.seq)
	binary.LittleEndian.PutUint32(hdr[8:], uint32(w.id))
	binary.LittleEndian.PutUint32(hdr[12:], uint32(idx))
	copy(w.wbuf, hdr[:])
	c.c.SetDeadline(time.Now().Add(timeout))
	start := time.Now()
	if _, err := c.c.Write(w.wbuf); err != nil {
		return 0, err
	}
	if _, err := io.ReadFull(c.c, w.rbuf); err != nil {
		return 0, err
	}
	d := time.Since(start)
	if !bytes.Equal(w.rbuf, w.wbuf) {
		return 0, errMismatch
	}
	c.uses++
	return d, nil
}

// fail records err for connection c, which is not used again.
func (w *worker) fail(c *conn, idx int, err error) {
	c.broken = true
	c.c.Close()
	kind := errorKind(err)
	w.errors[kind]++
	if w.firstErr == "" {
		w.firstErr = fmt.Sprintf("connection %d: %v", idx+1, err)
	}
}

func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, errMismatch):
		return "mismatch"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "closed by server"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return "other"
}

// runLoad drives the load phase over conns and merges the workers' results.
func runLoad(ctx context.Context, conns []*conn, cfg loadConfig) *loadResult {
	nw := cfg.Workers
	if cfg.Mode == "closed" {
		nw = min(nw, len(conns))
	}
	workers := make([]*worker, nw)
	for i := range workers {
		workers[i] = newWorker(i, cfg.Size, cfg.Mode == "rate")
	}
	res := &loadResult{rtt: newHist(), errors: map[string]int64{}}
	start := time.Now()
	if cfg.Mode == "rate" {
		res.service, res.lag = newHist(), newHist()
		res.scheduled, res.issued = rateLoad(ctx, conns, workers, cfg, res.lag)
	} else {
		closedLoad(ctx, conns, workers, cfg)
	}
	res.elapsed = time.Since(start)

	for _, w := range workers {
		res.rtt.merge(w.rtt)
		if w.service != nil {
			res.service.merge(w.service)
		}
		for k, v := range w.errors {
			res.errors[k] += v
		}
		if res.firstErr == "" {
			res.firstErr = w.firstErr
		}
	}
	res.minUses = ^uint32(0)
	for _, c := range conns {
		if c.uses == 0 {
			res.unused++
		} else {
			res.used++
		}
		res.minUses = min(res.minUses, c.uses)
		res.maxUses = max(res.maxUses, c.uses)
		if c.broken {
			res.brokenConns++
		}
	}
	if len(conns) == 0 {
		res.minUses = 0
	}
	return res
}

// closedLoad runs len(workers) workers, each with one round trip in flight.
// Worker w owns connections w, w+W, w+2W, ... and cycles through them, so
// together the workers use every connection in turn. It stops after
// cfg.Duration or cfg.MaxRTTs round trips, whichever comes first.
func closedLoad(ctx context.Context, conns []*conn, workers []*worker, cfg loadConfig) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var budget atomic.Int64
	budget.Store(cfg.MaxRTTs)
	nw := len(workers)
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owned := (len(conns) - w.id + nw - 1) / nw
			broken := 0
			for i := w.id; ctx.Err() == nil && broken < owned; i += nw {
				if i >= len(conns) {
					i = w.id
				}
				c := conns[i]
				if c.broken {
					continue
				}
				if budget.Add(-1) < 0 {
					return
				}
				d, err := w.roundTrip(c, i, cfg.Timeout)
				if err != nil {
					w.fail(c, i, err)
					broken++
					continue
				}
				w.rtt.record(d)
			}
		}()
	}
	wg.Wait()
}

// token is one scheduled round trip in rate mode.
type token struct {
	n  int64     // the round trip's number; it goes to connection n mod N
	at time.Time // when it was due to be sent
}

// rateLoad offers cfg.Rate round trips per second, spread round robin over
// every connection, for cfg.Duration, with at most len(workers) in flight.
// Latency is measured from when each round trip was due, not from when a
// worker got to it, so a server that falls behind shows up in the figures
// (no coordinated omission). It returns how many round trips were due in
// the window and how many were sent, and records in lag how late each was
// handed to the workers: the load generator's own tardiness, which the
// latency from the due time includes.
func rateLoad(ctx context.Context, conns []*conn, workers []*worker, cfg loadConfig, lag *hist) (scheduled, issued int64) {
	interval := float64(time.Second) / cfg.Rate
	total := min(int64(cfg.Rate*cfg.Duration.Seconds()), cfg.MaxRTTs)
	tokens := make(chan token, 1024)
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range tokens {
				if ctx.Err() != nil {
					continue // drain: the run is being abandoned
				}
				i := int(t.n % int64(len(conns)))
				c := conns[i]
				c.mu.Lock()
				if !c.broken {
					d, err := w.roundTrip(c, i, cfg.Timeout)
					if err != nil {
						w.fail(c, i, err)
					} else {
						w.service.record(d)
						w.rtt.record(time.Since(t.at))
					}
				}
				c.mu.Unlock()
			}
		}()
	}

	start := time.Now()
	end := start.Add(cfg.Duration)
	var n int64
dispatch:
	for n < total {
		at := start.Add(time.Duration(float64(n) * interval))
		if !at.Before(end) {
			break
		}
		if d := time.Until(at); d > 0 {
			// Everything already due has been sent; sleep to the next.
			select {
			case <-time.After(d):
			case <-ctx.Done():
				break dispatch
			}
		}
		// Round trips due before the end still go out when the dispatcher
		// runs late, so that lateness counts; but only for a moment, so a
		// stalled server cannot stretch the phase.
		if time.Now().After(end.Add(time.Second)) {
			break
		}
		select {
		case tokens <- token{n: n, at: at}:
			lag.record(time.Since(at))
			n++
		case <-ctx.Done():
			break dispatch
		}
	}
	close(tokens)
	wg.Wait()
	return total, n
}
