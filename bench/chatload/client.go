package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The payload of every message chatload sends is one line
//
//	MSG s=SENDER n=SEQ t=UNIXNANO
//
// SENDER is the sender's index among the senders, SEQ the message's index
// among its messages and UNIXNANO the wall-clock time just before the
// write. The servers relay it behind a prefix of their own ("<u17> " from
// netkit, "<user#5> " from ncat), so the receiver looks for msgToken
// anywhere in the line.
const msgToken = "MSG s="

// readBufSize is each client's read buffer: many relayed messages per read
// under load, and little memory for 50,000 clients. Longer lines (ncat's
// list of who is connected) are skipped in pieces.
const readBufSize = 2048

// appendMsg appends the payload line for message n of sender s sent at t.
func appendMsg(b []byte, s, n int, t int64) []byte {
	b = append(b, "MSG s="...)
	b = strconv.AppendInt(b, int64(s), 10)
	b = append(b, " n="...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, " t="...)
	b = strconv.AppendInt(b, t, 10)
	return append(b, '\n')
}

// parseMsg finds the payload in a line as a server relays it, with or
// without its "\n" or "\r\n", and returns its fields. ok is false for a
// line without msgToken, and for a malformed payload.
func parseMsg(line []byte) (s, n int, t int64, ok bool) {
	i := bytes.Index(line, []byte(msgToken))
	if i < 0 {
		return 0, 0, 0, false
	}
	line = bytes.TrimRight(line[i+len("MSG "):], "\r\n")
	var v [3]int64
	for j, key := range []string{"s=", "n=", "t="} {
		if !bytes.HasPrefix(line, []byte(key)) {
			return 0, 0, 0, false
		}
		line = line[len(key):]
		end := bytes.IndexByte(line, ' ')
		if j == 2 {
			end = len(line)
		} else if end < 0 {
			return 0, 0, 0, false
		}
		x, err := strconv.ParseInt(string(line[:end]), 10, 64)
		if err != nil || x < 0 || end == 0 || (end > 1 && line[0] == '0') {
			return 0, 0, 0, false
		}
		v[j] = x
		if j < 2 {
			line = line[end+1:]
		}
	}
	if v[0] > 1<<30 || v[1] > 1<<30 {
		return 0, 0, 0, false
	}
	return int(v[0]), int(v[1]), v[2], true
}

// kind sorts the lines a client receives that are not messages.
type kind int

const (
	kindOther kind = iota
	kindJoin       // someone joined: "*** u5 joined", "<announce> ... is connected as <user5>."
	kindLeave      // someone left: "*** u5 left (...)", "<announce> <user5> is disconnected."
)

// classify sorts a line, and says how many people it announces: netkit
// announces the joins and leaves of a burst in a big room together, as
// "*** joined: u5, u6, u7" and "*** left (REASON): u5, u6".
func classify(line []byte) (kind, int) {
	line = bytes.TrimRight(line, "\r\n")
	if list, ok := bytes.CutPrefix(line, []byte("*** joined: ")); ok {
		return kindJoin, bytes.Count(list, []byte(", ")) + 1
	}
	if bytes.HasPrefix(line, []byte("*** left (")) {
		// The reason is free text: the list follows the last "): ".
		if i := bytes.LastIndex(line, []byte("): ")); i >= 0 {
			return kindLeave, bytes.Count(line[i:], []byte(", ")) + 1
		}
	}
	switch {
	case bytes.HasPrefix(line, []byte("*** ")) && bytes.HasSuffix(line, []byte(" joined")),
		bytes.HasPrefix(line, []byte("<announce> ")) && bytes.Contains(line, []byte(" is connected as ")):
		return kindJoin, 1
	case bytes.HasPrefix(line, []byte("*** ")) && bytes.Contains(line, []byte(" left (")),
		bytes.HasPrefix(line, []byte("<announce> ")) && bytes.HasSuffix(line, []byte(" is disconnected.")):
		return kindLeave, 1
	}
	return kindOther, 1
}

// counters are shared by every client, for watching progress.
type counters struct {
	delivered atomic.Int64 // messages received, duplicates included
	joins     atomic.Int64 // joins announced, counting each name in a batch
	leaves    atomic.Int64 // leaves announced, counting each name in a batch
	other     atomic.Int64 // every other line
	ended     atomic.Int64 // clients whose connection ended before teardown
}

// total is every line received so far, for telling when the server has
// gone quiet.
func (c *counters) total() int64 {
	return c.delivered.Load() + c.joins.Load() + c.leaves.Load() + c.other.Load()
}

// client is one connection to the server.
type client struct {
	id   int
	conn net.Conn
	br   *bufio.Reader
	join time.Duration // connect to welcome

	// Owned by the reader goroutine until done is closed.
	senders, messages int
	lat               []int32  // fan-out latency of each first delivery, in µs
	seen              []uint64 // bit s*messages+n: message n of sender s arrived
	dups, bad         int64
	last              int64 // UnixNano of the last delivery
	endErr            error
	ended             time.Time
	done              chan struct{}
}

// read reads every line until the connection ends, recording messages.
func (c *client) read(ctr *counters, tearingDown *atomic.Bool) {
	defer close(c.done)
	skipping := false
	for {
		line, err := c.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			skipping = true
			continue
		}
		if err != nil {
			c.endErr, c.ended = err, time.Now()
			if !tearingDown.Load() {
				ctr.ended.Add(1)
			}
			return
		}
		if skipping {
			skipping = false
			ctr.other.Add(1)
			continue
		}
		now := time.Now().UnixNano()
		s, n, t, ok := parseMsg(line)
		if !ok {
			switch k, n := classify(line); k {
			case kindJoin:
				ctr.joins.Add(int64(n))
			case kindLeave:
				ctr.leaves.Add(int64(n))
			default:
				if bytes.Contains(line, []byte("MSG ")) {
					c.bad++
				}
				ctr.other.Add(1)
			}
			continue
		}
		ctr.delivered.Add(1)
		if s >= c.senders || n >= c.messages {
			c.bad++
			continue
		}
		bit := s*c.messages + n
		if c.seen[bit/64]&(1<<(bit%64)) != 0 {
			c.dups++
			continue
		}
		c.seen[bit/64] |= 1 << (bit % 64)
		us := (now - t) / 1000
		c.lat = append(c.lat, int32(min(max(us, 0), 1<<31-1)))
		c.last = max(c.last, now)
	}
}

// dialConfig is how to connect and join.
type dialConfig struct {
	target   string
	addr     netip.AddrPort
	n        int
	rate     float64 // clients per second
	conc     int
	srcs     []netip.Addr
	timeout  time.Duration
	senders  int
	messages int
	holdOnly bool // netkit: read the greeting, choose no nickname
}

// dialResult describes the connecting phase.
type dialResult struct {
	clients  []*client // in order of index; the failed ones left out
	elapsed  time.Duration
	retries  int64
	firstErr error
	failed   int
}

// dialAll connects cfg.n clients, cfg.rate a second and at most cfg.conc
// at a time, and starts each one's reader once it has joined. It stops
// launching at the first client that fails three times, or when stop
// returns true, and returns the clients it has.
func dialAll(ctx context.Context, cfg dialConfig, ctr *counters, tearingDown *atomic.Bool, stop func() bool, progress func(launched, joined int)) dialResult {
	start := time.Now()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	clients := make([]*client, cfg.n)
	var retries, joined atomic.Int64
	var failed atomic.Int64
	sem := make(chan struct{}, cfg.conc)
	words := (cfg.senders*cfg.messages + 63) / 64
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
launch:
	for i := range cfg.n {
		due := start.Add(time.Duration(float64(i) / cfg.rate * float64(time.Second)))
		if d := time.Until(due); d > time.Millisecond {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				break launch
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break launch
		}
		select {
		case <-tick.C:
			progress(i, int(joined.Load()))
		default:
		}
		if stop() {
			cancel(errors.New("the server exited"))
			<-sem
			break
		}
		go func() {
			var local net.Addr
			if len(cfg.srcs) > 0 {
				local = &net.TCPAddr{IP: cfg.srcs[i%len(cfg.srcs)].AsSlice()}
			}
			t0 := time.Now()
			var conn net.Conn
			var br *bufio.Reader
			var err error
			for try := range 3 {
				if try > 0 {
					retries.Add(1)
					time.Sleep(time.Duration(try) * 100 * time.Millisecond)
				}
				conn, br, err = connect(ctx, cfg.target, cfg.addr, local, fmt.Sprintf("u%d", i), cfg.holdOnly, cfg.timeout)
				if err == nil || ctx.Err() != nil || !retryable(err) {
					break
				}
			}
			if err != nil {
				<-sem
				if ctx.Err() == nil {
					failed.Add(1)
					cancel(fmt.Errorf("client %d: %w", i+1, err))
				}
				return
			}
			c := &client{id: i, conn: conn, br: br, join: time.Since(t0), senders: cfg.senders, messages: cfg.messages,
				lat: make([]int32, 0, cfg.senders*cfg.messages), seen: make([]uint64, words), done: make(chan struct{})}
			clients[i] = c
			joined.Add(1)
			<-sem
			c.read(ctr, tearingDown)
		}()
	}
	// Wait for the joins in flight, not for the readers, which run on.
	for range cfg.conc {
		sem <- struct{}{}
	}
	res := dialResult{elapsed: time.Since(start), retries: retries.Load(), failed: int(failed.Load())}
	for _, c := range clients {
		if c != nil {
			res.clients = append(res.clients, c)
		}
	}
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		res.firstErr = err
	}
	return res
}

// connect opens one connection and, on netkit, joins as nick: it reads the
// greeting, sends the nickname and waits for the welcome.
func connect(ctx context.Context, target string, addr netip.AddrPort, local net.Addr, nick string, holdOnly bool, timeout time.Duration) (net.Conn, *bufio.Reader, error) {
	d := net.Dialer{Timeout: timeout, LocalAddr: local}
	c, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(c, readBufSize)
	if target != targetNetkit {
		return c, br, nil
	}
	if holdOnly {
		nick = ""
	}
	if err := join(c, br, nick, timeout); err != nil {
		c.Close()
		// Not retryable: the server may have taken the nickname already.
		return nil, nil, joinError{err}
	}
	return c, br, nil
}

// joinError is a failure after the connection was made.
type joinError struct{ error }

func (e joinError) Unwrap() error { return e.error }

// join reads netkit's greeting, sends the nickname and waits for the
// welcome; with no nickname it stops after the greeting.
func join(c net.Conn, br *bufio.Reader, nick string, timeout time.Duration) error {
	c.SetDeadline(time.Now().Add(timeout))
	line, err := br.ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading the greeting: %w", err)
	}
	if line != netkitGreeting {
		return fmt.Errorf("server said %q instead of the greeting", line)
	}
	if nick == "" {
		c.SetDeadline(time.Time{})
		return nil
	}
	if _, err := c.Write([]byte(nick + "\n")); err != nil {
		return fmt.Errorf("sending the nickname: %w", err)
	}
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return fmt.Errorf("waiting for the welcome: %w", err)
		}
		if bytes.HasPrefix(line, []byte("*** welcome, ")) {
			break
		}
		if bytes.HasPrefix(line, []byte("error: ")) {
			return fmt.Errorf("nickname %q refused: %s", nick, bytes.TrimSpace(line))
		}
	}
	c.SetDeadline(time.Time{})
	return nil
}

// retryable reports dial errors that a second try may get past: a full
// accept queue or a momentary lack of local ports.
func retryable(err error) bool {
	var ne net.Error
	var je joinError
	if errors.As(err, &je) {
		return false
	}
	return errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &ne) && ne.Timeout()
}

// sendResult describes the sending phase.
type sendResult struct {
	start, end time.Time // first send; last send done
	sent       int64
	errors     int64
	firstErr   error
}

// sendAll has senders clients, spread evenly over clients, send messages
// each, interval apart; with stagger, sender k starts k/senders of an
// interval late.
func sendAll(ctx context.Context, clients []*client, senders, messages int, interval time.Duration, stagger bool, timeout time.Duration) sendResult {
	var res sendResult
	var sent, errs atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	res.start = time.Now().Add(20 * time.Millisecond) // everyone ready before the first send
	for k := range senders {
		c := clients[k*len(clients)/senders]
		first := res.start
		if stagger {
			first = first.Add(time.Duration(k) * interval / time.Duration(senders))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 64)
			for n := range messages {
				if d := time.Until(first.Add(time.Duration(n) * interval)); d > 0 {
					t := time.NewTimer(d)
					select {
					case <-t.C:
					case <-ctx.Done():
						t.Stop()
						return
					}
				}
				buf = appendMsg(buf[:0], k, n, time.Now().UnixNano())
				c.conn.SetWriteDeadline(time.Now().Add(timeout))
				if _, err := c.conn.Write(buf); err != nil {
					errs.Add(int64(messages - n))
					mu.Lock()
					if res.firstErr == nil {
						res.firstErr = fmt.Errorf("sender %d (client %d), message %d: %w", k, c.id, n, err)
					}
					mu.Unlock()
					return
				}
				sent.Add(1)
			}
		}()
	}
	wg.Wait()
	res.end = time.Now()
	res.sent, res.errors = sent.Load(), errs.Load()
	return res
}
