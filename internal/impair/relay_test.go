package impair

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/bits"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/testwait"
)

// startRelay serves r on 127.0.0.1:0 and returns the address clients write
// to. Cleanup closes r and checks that Serve ended as it should.
func startRelay(t testing.TB, r *Relay) *net.UDPAddr {
	t.Helper()
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Serve(pc) }()
	t.Cleanup(func() {
		r.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	})
	return pc.LocalAddr().(*net.UDPAddr)
}

// listen opens a UDP socket on 127.0.0.1:0, closed at cleanup.
func listen(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// dial opens a client socket connected to addr, closed at cleanup.
func dial(t testing.TB, addr *net.UDPAddr) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp", nil, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// echo answers every datagram on c with itself until c is closed.
func echo(c *net.UDPConn) {
	buf := make([]byte, 70000)
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		c.WriteToUDPAddrPort(buf[:n], from)
	}
}

func send(t testing.TB, c *net.UDPConn, b []byte) {
	t.Helper()
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

// recv reads one datagram from c, or returns false after wait.
func recv(t testing.TB, c *net.UDPConn, wait time.Duration) ([]byte, bool) {
	t.Helper()
	buf := make([]byte, 70000)
	c.SetReadDeadline(time.Now().Add(wait))
	n, _, err := c.ReadFrom(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, false
		}
		t.Fatal(err)
	}
	return buf[:n], true
}

// mustRecv reads one datagram from c, failing the test if none comes.
func mustRecv(t testing.TB, c *net.UDPConn) []byte {
	t.Helper()
	b, ok := recv(t, c, 5*time.Second)
	if !ok {
		t.Fatal("no datagram within 5s")
	}
	return b
}

// expectNone checks that nothing arrives on c for a little while.
func expectNone(t testing.TB, c *net.UDPConn) {
	t.Helper()
	if b, ok := recv(t, c, 50*time.Millisecond); ok {
		t.Fatalf("got unexpected datagram %q", b)
	}
}

// collector gathers the datagrams arriving on c, numbered by their first 4
// bytes.
type collector struct {
	mu  sync.Mutex
	got []uint32
	at  []time.Time
}

func collect(t testing.TB, c *net.UDPConn) *collector {
	col := &collector{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 70000)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			if n >= 4 {
				col.mu.Lock()
				col.got = append(col.got, binary.BigEndian.Uint32(buf))
				col.at = append(col.at, time.Now())
				col.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return col
}

func (c *collector) snapshot() ([]uint32, []time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got), slices.Clone(c.at)
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got)
}

// sendNumbered sends n datagrams of size bytes numbered from 0, in bursts
// small enough for the relay's socket buffer: after each burst it waits
// until the relay has read it.
func sendNumbered(t testing.TB, r *Relay, c *net.UDPConn, n, size int) time.Time {
	t.Helper()
	const burst = 20
	b := make([]byte, size)
	start := time.Now()
	for i := range n {
		binary.BigEndian.PutUint32(b, uint32(i))
		send(t, c, b)
		if i%burst == burst-1 || i == n-1 {
			sent := uint64(i + 1)
			testwait.For(t, "relay read the burst", func() bool {
				st := r.Stats().Up
				return st.Received+st.Oversize >= sent
			})
		}
	}
	return start
}

func TestPassThroughExact(t *testing.T) {
	target := listen(t)
	go echo(target)
	r := &Relay{Target: target.LocalAddr().String()}
	client := dial(t, startRelay(t, r))
	rng := rand.New(rand.NewPCG(1, 1))
	sizes := []int{0, 1, 100, 1400, 2048, 2049, 9000, 65507}
	for range 200 {
		sizes = append(sizes, rng.IntN(1500))
	}
	var total uint64
	for i, n := range sizes {
		msg := make([]byte, n)
		for j := range msg {
			msg[j] = byte(rng.Uint32())
		}
		send(t, client, msg)
		if got := mustRecv(t, client); !bytes.Equal(got, msg) {
			t.Fatalf("datagram %d (%d bytes) came back as %d different bytes", i, n, len(got))
		}
		total += uint64(n)
	}
	// The counters move just after the write they count.
	testwait.For(t, "last reply counted", func() bool { return r.Stats().Down.Forwarded == uint64(len(sizes)) })
	st := r.Stats()
	want := DirStats{Received: uint64(len(sizes)), ReceivedBytes: total, Forwarded: uint64(len(sizes)), ForwardedBytes: total}
	if st.Up != want || st.Down != want {
		t.Errorf("stats up %+v down %+v, want both %+v", st.Up, st.Down, want)
	}
	if st.Sessions != 1 || st.SessionsOpened != 1 {
		t.Errorf("sessions %d opened %d, want 1 and 1", st.Sessions, st.SessionsOpened)
	}
}

// TestPerDatagram checks, one datagram at a time, what each impairment does
// to it: how many copies arrive and how many bits each has flipped. The
// timed cases go through the scheduler rather than straight out.
func TestPerDatagram(t *testing.T) {
	tests := []struct {
		name  string
		im    Impairment
		flips []int // per copy received, in order
	}{
		{"pass", Impairment{}, []int{0}},
		{"dup", Impairment{Duplicate: 1}, []int{0, 0}},
		{"corrupt", Impairment{Corrupt: 1}, []int{1}},
		{"corrupt and dup", Impairment{Corrupt: 1, Duplicate: 1}, []int{1, 0}},
		{"corrupt and dup delayed", Impairment{Corrupt: 1, Duplicate: 1, Delay: time.Millisecond}, []int{1, 0}},
		{"dup rate-limited", Impairment{Duplicate: 1, Rate: 10e6}, []int{0, 0}},
		{"corrupt jittered", Impairment{Corrupt: 1, Jitter: time.Millisecond}, []int{1}},
	}
	const n = 30
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := listen(t)
			r := &Relay{Target: target.LocalAddr().String(), Upstream: tt.im, Seed: 3}
			client := dial(t, startRelay(t, r))
			rng := rand.New(rand.NewPCG(2, 2))
			for i := range n {
				msg := make([]byte, 1+rng.IntN(1500))
				for j := range msg {
					msg[j] = byte(rng.Uint32())
				}
				send(t, client, msg)
				for k, want := range tt.flips {
					got := mustRecv(t, target)
					if len(got) != len(msg) {
						t.Fatalf("datagram %d copy %d: %d bytes, want %d", i, k, len(got), len(msg))
					}
					if d := bitDiff(got, msg); d != want {
						t.Fatalf("datagram %d copy %d: %d bits flipped, want %d", i, k, d, want)
					}
				}
			}
			expectNone(t, target)
			st := r.Stats().Up
			if st.Received != n || st.Forwarded != n*uint64(len(tt.flips)) {
				t.Errorf("received %d forwarded %d, want %d and %d", st.Received, st.Forwarded, n, n*len(tt.flips))
			}
			if tt.im.Duplicate > 0 && st.Duplicated != n {
				t.Errorf("duplicated %d, want %d", st.Duplicated, n)
			}
			if tt.im.Corrupt > 0 && st.Corrupted != n {
				t.Errorf("corrupted %d, want %d", st.Corrupted, n)
			}
		})
	}
}

func bitDiff(a, b []byte) int {
	d := 0
	for i := range a {
		d += bits.OnesCount8(a[i] ^ b[i])
	}
	return d
}

func TestEmptyDatagramNotCorrupted(t *testing.T) {
	target := listen(t)
	r := &Relay{Target: target.LocalAddr().String(), Upstream: Impairment{Corrupt: 1}}
	client := dial(t, startRelay(t, r))
	send(t, client, nil)
	if got := mustRecv(t, target); len(got) != 0 {
		t.Fatalf("empty datagram arrived as %d bytes", len(got))
	}
	testwait.For(t, "forwarded counted", func() bool { return r.Stats().Up.Forwarded == 1 })
	if st := r.Stats().Up; st.Corrupted != 0 || st.Forwarded != 1 {
		t.Errorf("corrupted %d forwarded %d, want 0 and 1", st.Corrupted, st.Forwarded)
	}
}

func TestLossAll(t *testing.T) {
	target := listen(t)
	r := &Relay{Target: target.LocalAddr().String(), Upstream: Impairment{Loss: 1}}
	client := dial(t, startRelay(t, r))
	sendNumbered(t, r, client, 100, 10)
	expectNone(t, target)
	if st := r.Stats().Up; st.Received != 100 || st.Lost != 100 || st.Forwarded != 0 {
		t.Errorf("received %d lost %d forwarded %d, want 100, 100, 0", st.Received, st.Lost, st.Forwarded)
	}
}

// TestLossSeeded checks that a seeded relay drops exactly the datagrams its
// decision function, replayed with the same seed, says it drops.
func TestLossSeeded(t *testing.T) {
	const (
		n    = 2000
		size = 8
		seed = 42
	)
	im := Impairment{Loss: 0.3}
	var want []uint32
	for i, d := range decisions(im, seed, streamUp, n, size) {
		if !d.lose {
			want = append(want, uint32(i))
		}
	}
	if lost := n - len(want); lost < 518 || lost > 682 {
		t.Fatalf("the decisions lose %d of %d, want about 600", lost, n)
	}

	target := listen(t)
	r := &Relay{Target: target.LocalAddr().String(), Upstream: im, Seed: seed}
	col := collect(t, target)
	client := dial(t, startRelay(t, r))
	sendNumbered(t, r, client, n, size)
	testwait.For(t, "all forwarded datagrams arrived", func() bool { return uint64(col.len()) == r.Stats().Up.Forwarded })
	got, _ := col.snapshot()
	if !slices.Equal(got, want) {
		t.Errorf("relay delivered %d datagrams, decisions say %d; first differences: %v", len(got), len(want), firstDiff(got, want))
	}
	if st := r.Stats().Up; st.Lost != uint64(n-len(want)) {
		t.Errorf("lost counter %d, want %d", st.Lost, n-len(want))
	}
}

func firstDiff(a, b []uint32) []uint32 {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return []uint32{uint32(i), a[i], b[i]}
		}
	}
	return nil
}

func TestDelay(t *testing.T) {
	tests := []struct {
		name string
		im   Impairment
		min  time.Duration
	}{
		{"delay", Impairment{Delay: 30 * time.Millisecond}, 30 * time.Millisecond},
		{"delay and jitter", Impairment{Delay: 30 * time.Millisecond, Jitter: 10 * time.Millisecond}, 20 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := listen(t)
			r := &Relay{Target: target.LocalAddr().String(), Upstream: tt.im}
			client := dial(t, startRelay(t, r))
			for i := range 5 {
				start := time.Now()
				send(t, client, []byte{byte(i)})
				mustRecv(t, target)
				if el := time.Since(start); el < tt.min {
					t.Errorf("datagram %d took %v, want at least %v", i, el, tt.min)
				}
			}
			testwait.For(t, "forwarded counted", func() bool { return r.Stats().Up.Forwarded == 5 })
			if st := r.Stats().Up; st.Delayed != 5 {
				t.Errorf("delayed %d, want 5", st.Delayed)
			}
		})
	}
}

// TestJitterKeepsOrder: jitter varies the delay but never reorders.
func TestJitterKeepsOrder(t *testing.T) {
	const n = 300
	target := listen(t)
	r := &Relay{Target: target.LocalAddr().String(), Upstream: Impairment{Delay: 2 * time.Millisecond, Jitter: 2 * time.Millisecond}}
	col := collect(t, target)
	client := dial(t, startRelay(t, r))
	sendNumbered(t, r, client, n, 16)
	testwait.For(t, "all arrived", func() bool { return col.len() == n })
	got, _ := col.snapshot()
	if !slices.IsSorted(got) {
		t.Errorf("jitter reordered datagrams: %v", firstDiff(got, seq(n)))
	}
}

func seq(n int) []uint32 {
	s := make([]uint32, n)
	for i := range s {
		s[i] = uint32(i)
	}
	return s
}

func TestReorder(t *testing.T) {
	const n = 400
	target := listen(t)
	// A long ReorderDelay: every held datagram is overtaken by the next,
	// which comes at once, rather than released by its timer.
	r := &Relay{Target: target.LocalAddr().String(), Seed: 9,
		Upstream: Impairment{Reorder: 0.2, ReorderDelay: 300 * time.Millisecond}}
	col := collect(t, target)
	client := dial(t, startRelay(t, r))
	sendNumbered(t, r, client, n, 16)
	testwait.For(t, "all arrived", func() bool { return col.len() == n })
	got, _ := col.snapshot()
	if sorted := slices.Sorted(slices.Values(got)); !slices.Equal(sorted, seq(n)) {
		t.Fatalf("datagrams lost or duplicated: got %d, %d distinct", len(got), len(slices.Compact(sorted)))
	}
	inversions := 0
	for i := 1; i < len(got); i++ {
		if got[i] < got[i-1] {
			inversions++
		}
	}
	st := r.Stats().Up
	if inversions == 0 || st.Reordered == 0 {
		t.Fatalf("%d inversions, %d reordered: want some", inversions, st.Reordered)
	}
	// Each reordering swaps one datagram with the next, nothing else.
	if uint64(inversions) != st.Reordered {
		t.Errorf("%d inversions, but %d counted reordered", inversions, st.Reordered)
	}
	if st.Forwarded != n || st.Lost != 0 {
		t.Errorf("forwarded %d lost %d, want %d and 0", st.Forwarded, st.Lost, n)
	}
}

// TestRateCap sends a burst far above the rate: the queue takes what fits,
// the rest is dropped, and what passes is paced. The checks only bound from
// the side a slow machine cannot break.
func TestRateCap(t *testing.T) {
	const (
		n     = 100
		size  = 1000
		rate  = 100_000 // 10 ms per datagram
		queue = 10_000  // ten datagrams
	)
	target := listen(t)
	r := &Relay{Target: target.LocalAddr().String(), Upstream: Impairment{Rate: rate, Queue: queue}}
	col := collect(t, target)
	client := dial(t, startRelay(t, r))
	start := sendNumbered(t, r, client, n, size)
	sentBy := time.Now()
	testwait.For(t, "every datagram forwarded or dropped", func() bool {
		st := r.Stats().Up
		return st.Forwarded+st.RateDropped == n
	})
	testwait.For(t, "forwarded datagrams arrived", func() bool { return uint64(col.len()) == r.Stats().Up.Forwarded })
	st := r.Stats().Up
	if st.RateDropped == 0 || st.RateQueued == 0 {
		t.Errorf("rate-dropped %d, rate-queued %d: want both above 0", st.RateDropped, st.RateQueued)
	}
	// Accepted: one datagram at once, the queue, and what the link sent
	// while the burst was arriving.
	maxBytes := size + queue + rate*sentBy.Sub(start).Seconds() + size
	if float64(st.ForwardedBytes) > maxBytes {
		t.Errorf("forwarded %d bytes, want at most %.0f", st.ForwardedBytes, maxBytes)
	}
	_, at := col.snapshot()
	if minSpan := time.Duration(len(at)-1) * size * time.Second / rate; at[len(at)-1].Sub(start) < minSpan {
		t.Errorf("%d datagrams arrived within %v, want at least %v at %d B/s", len(at), at[len(at)-1].Sub(start), minSpan, rate)
	}
}

func TestDownstream(t *testing.T) {
	target := listen(t)
	go echo(target)
	r := &Relay{Target: target.LocalAddr().String(), Downstream: Impairment{Loss: 1}}
	client := dial(t, startRelay(t, r))
	for i := range 10 {
		send(t, client, []byte{byte(i)})
	}
	testwait.For(t, "replies dropped", func() bool { st := r.Stats(); return st.Down.Lost == 10 && st.Up.Forwarded == 10 })
	expectNone(t, client)
	if st := r.Stats(); st.Up.Forwarded != 10 || st.Down.Forwarded != 0 {
		t.Errorf("up forwarded %d, down forwarded %d; want 10 and 0", st.Up.Forwarded, st.Down.Forwarded)
	}
}

func TestMaxSessions(t *testing.T) {
	target := listen(t)
	r := &Relay{Target: target.LocalAddr().String(), MaxSessions: 2}
	addr := startRelay(t, r)
	clients := []*net.UDPConn{dial(t, addr), dial(t, addr), dial(t, addr)}
	for i, c := range clients[:2] {
		send(t, c, []byte{byte(i)})
		if got := mustRecv(t, target); got[0] != byte(i) {
			t.Fatalf("got %v from client %d", got, i)
		}
	}
	send(t, clients[2], []byte{2})
	testwait.For(t, "third client refused", func() bool { return r.Stats().SessionsRefused == 1 })
	expectNone(t, target)
	send(t, clients[0], []byte{0})
	mustRecv(t, target)
	if st := r.Stats(); st.Sessions != 2 || st.SessionsOpened != 2 || st.Up.Received != 3 {
		t.Errorf("sessions %d, opened %d, up received %d; want 2, 2, 3", st.Sessions, st.SessionsOpened, st.Up.Received)
	}
}

func TestIdleExpiry(t *testing.T) {
	target := listen(t)
	r := &Relay{Target: target.LocalAddr().String(), MaxSessions: 1, IdleTimeout: 40 * time.Millisecond}
	addr := startRelay(t, r)
	a, b := dial(t, addr), dial(t, addr)
	send(t, a, []byte("a"))
	mustRecv(t, target)
	testwait.For(t, "session expired", func() bool { st := r.Stats(); return st.SessionsExpired == 1 && st.Sessions == 0 })
	// The freed slot goes to the next client.
	send(t, b, []byte("b"))
	if got := mustRecv(t, target); string(got) != "b" {
		t.Fatalf("got %q, want b", got)
	}
	if st := r.Stats(); st.SessionsOpened != 2 || st.SessionsRefused != 0 {
		t.Errorf("opened %d refused %d, want 2 and 0", st.SessionsOpened, st.SessionsRefused)
	}
}

func TestCloseEndsServe(t *testing.T) {
	target := listen(t)
	r := &Relay{Target: target.LocalAddr().String()}
	pc := listen(t)
	done := make(chan error, 1)
	go func() { done <- r.Serve(pc) }()
	client := dial(t, pc.LocalAddr().(*net.UDPAddr))
	send(t, client, []byte("x")) // Serve is running once this arrives
	mustRecv(t, target)
	r.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrServerClosed) || !errors.Is(err, net.ErrClosed) {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve still running 5s after Close")
	}
	if err := r.Serve(listen(t)); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Close = %v, want ErrServerClosed", err)
	}
}

func TestServeTwice(t *testing.T) {
	target := listen(t)
	r := &Relay{Target: target.LocalAddr().String()}
	client := dial(t, startRelay(t, r))
	send(t, client, []byte("x"))
	mustRecv(t, target) // the first Serve is running
	if err := r.Serve(listen(t)); !errors.Is(err, ErrServing) {
		t.Errorf("second Serve = %v, want ErrServing", err)
	}
}

// TestShutdownDrains: Shutdown lets delayed datagrams reach the target.
func TestShutdownDrains(t *testing.T) {
	target := listen(t)
	r := &Relay{Target: target.LocalAddr().String(), Upstream: Impairment{Delay: 100 * time.Millisecond}}
	pc := listen(t)
	done := make(chan error, 1)
	go func() { done <- r.Serve(pc) }()
	client := dial(t, pc.LocalAddr().(*net.UDPAddr))
	for i := range 5 {
		send(t, client, []byte{byte(i)})
	}
	testwait.For(t, "relay read all", func() bool { return r.Stats().Up.Received == 5 })
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := r.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	for i := range 5 {
		if got := mustRecv(t, target); got[0] != byte(i) {
			t.Fatalf("got %v, want %d", got, i)
		}
	}
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}
}

// TestShutdownTimeout: a Shutdown whose context ends first closes anyway.
func TestShutdownTimeout(t *testing.T) {
	target := listen(t)
	r := &Relay{Target: target.LocalAddr().String(), Upstream: Impairment{Delay: time.Minute}}
	pc := listen(t)
	done := make(chan error, 1)
	go func() { done <- r.Serve(pc) }()
	client := dial(t, pc.LocalAddr().(*net.UDPAddr))
	send(t, client, []byte("x"))
	testwait.For(t, "relay read it", func() bool { return r.Stats().Up.Received == 1 })
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := r.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want DeadlineExceeded", err)
	}
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}
}

func TestServeConfigErrors(t *testing.T) {
	pc := listen(t)
	self := pc.LocalAddr().String()
	tests := []struct {
		name string
		r    *Relay
		want error
	}{
		{"no target", &Relay{}, ErrNoTarget},
		{"port 0", &Relay{Target: "127.0.0.1:0"}, ErrNoTarget},
		{"itself", &Relay{Target: self}, ErrNoTarget},
		{"bad loss", &Relay{Target: "127.0.0.1:9", Upstream: Impairment{Loss: 2}}, ErrInvalid},
		{"bad delay", &Relay{Target: "127.0.0.1:9", Downstream: Impairment{Delay: -1}}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pc
			if tt.name != "itself" {
				p = listen(t)
			}
			if err := tt.r.Serve(p); !errors.Is(err, tt.want) {
				t.Errorf("Serve = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestOversize(t *testing.T) {
	target := listen(t)
	r := &Relay{Target: target.LocalAddr().String(), MaxDatagram: 100}
	client := dial(t, startRelay(t, r))
	send(t, client, make([]byte, 101))
	send(t, client, make([]byte, 100))
	if got := mustRecv(t, target); len(got) != 100 {
		t.Fatalf("got %d bytes, want the 100-byte datagram", len(got))
	}
	if st := r.Stats().Up; st.Oversize != 1 || st.Forwarded != 1 {
		t.Errorf("oversize %d forwarded %d, want 1 and 1", st.Oversize, st.Forwarded)
	}
}

// TestOverflow: what does not fit in MaxQueue is dropped and counted.
func TestOverflow(t *testing.T) {
	target := listen(t)
	r := &Relay{Target: target.LocalAddr().String(), MaxQueue: 4 * smallBuf, Upstream: Impairment{Delay: 50 * time.Millisecond}}
	col := collect(t, target)
	client := dial(t, startRelay(t, r))
	sendNumbered(t, r, client, 10, 100)
	testwait.For(t, "queue drained", func() bool { return uint64(col.len()) == r.Stats().Up.Forwarded && r.up.idle() })
	if st := r.Stats().Up; st.Forwarded+st.Overflow != 10 || st.Overflow < 6 {
		t.Errorf("forwarded %d overflow %d, want at least 6 of 10 overflowed", st.Forwarded, st.Overflow)
	}
}

// TestAllocs checks that relaying a datagram allocates nothing, straight
// through or through the scheduler, once the pools are warm: the client
// sends one datagram, the impaired upstream delivers copies of it to an
// echo server, and the client reads each echo.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	tests := []struct {
		name   string
		im     Impairment
		copies int
	}{
		{"pass", Impairment{}, 1},
		{"dup corrupt", Impairment{Duplicate: 1, Corrupt: 1}, 2},
		{"delay jitter dup", Impairment{Delay: 100 * time.Microsecond, Jitter: 50 * time.Microsecond, Duplicate: 1}, 2},
		{"rate", Impairment{Rate: 1 << 30}, 1},
		{"reorder", Impairment{Reorder: 0.5, ReorderDelay: 100 * time.Microsecond}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := listen(t)
			go echo(target)
			r := &Relay{Target: target.LocalAddr().String(), Upstream: tt.im}
			client := dial(t, startRelay(t, r))
			msg := make([]byte, 1400)
			buf := make([]byte, 2048)
			round := func() {
				client.Write(msg)
				for range tt.copies {
					client.Read(buf)
				}
			}
			for range 50 {
				round() // warm the pools
			}
			if a := testing.AllocsPerRun(200, round); a > 0 {
				t.Errorf("%v allocations per datagram, want 0", a)
			}
		})
	}
}

// TestGenericPacketConn: Serve takes any net.PacketConn, not only a
// *net.UDPConn.
func TestGenericPacketConn(t *testing.T) {
	target := listen(t)
	go echo(target)
	r := &Relay{Target: target.LocalAddr().String(), Upstream: Impairment{Delay: time.Millisecond}}
	pc := listen(t)
	done := make(chan error, 1)
	go func() { done <- r.Serve(struct{ net.PacketConn }{pc}) }()
	client := dial(t, pc.LocalAddr().(*net.UDPAddr))
	for i := range 10 {
		send(t, client, []byte{byte(i)})
		if got := mustRecv(t, client); len(got) != 1 || got[0] != byte(i) {
			t.Fatalf("got %v, want [%d]", got, i)
		}
	}
	r.Close()
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}
}
