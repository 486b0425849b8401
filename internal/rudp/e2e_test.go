package rudp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/impair"
	"github.com/netkit/netkit/internal/rudp/wire"
)

// fast are send options for tests over loopback: a small RTO floor keeps
// lossy runs quick.
var fast = SendOptions{MinRTO: 5 * time.Millisecond, InitialRTO: 50 * time.Millisecond, MaxRTO: 200 * time.Millisecond}

// mode is a protocol mode a test runs in: the options of the sender and
// the secret of the receiver.
type mode struct {
	name   string
	legacy bool
	secret string
}

var modes = []mode{{name: "legacy", legacy: true}, {name: "extended"}, {name: "sealed", secret: "correct horse battery staple"}}

// send returns o in mode m.
func (m mode) send(o SendOptions) SendOptions {
	o.Legacy, o.Secret = m.legacy, m.secret
	return o
}

// recv returns r in mode m.
func (m mode) recv(r *Receiver) *Receiver {
	r.Secret = m.secret
	return r
}

// events collects a Receiver's events for a test to wait on.
type events struct {
	mu   sync.Mutex
	all  []Event
	more chan struct{}
}

func newEvents() *events { return &events{more: make(chan struct{}, 1)} }

func (e *events) add(ev Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
	select {
	case e.more <- struct{}{}:
	default:
	}
}

// wait waits until ok holds for the events so far, or fails after limit.
func (e *events) wait(t *testing.T, limit time.Duration, what string, ok func([]Event) bool) []Event {
	t.Helper()
	timeout := time.After(limit)
	for {
		e.mu.Lock()
		evs := slices.Clone(e.all)
		e.mu.Unlock()
		if ok(evs) {
			return evs
		}
		select {
		case <-e.more:
		case <-timeout:
			t.Fatalf("no %s within %v; events: %+v", what, limit, evs)
		}
	}
}

func count(kind EventKind, n int) func([]Event) bool {
	return func(evs []Event) bool {
		c := 0
		for _, ev := range evs {
			if ev.Kind == kind {
				c++
			}
		}
		return c >= n
	}
}

func listenUDP(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startReceiver serves r on 127.0.0.1:0 and returns its address; cleanup
// closes it and checks Serve's result.
func startReceiver(t testing.TB, r *Receiver) *net.UDPAddr {
	t.Helper()
	pc := listenUDP(t)
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

// startRelay puts an impair relay in front of target.
func startRelay(t testing.TB, target *net.UDPAddr, up, down impair.Impairment, seed int64) *net.UDPAddr {
	t.Helper()
	relay := &impair.Relay{Target: target.String(), Upstream: up, Downstream: down, Seed: seed}
	pc := listenUDP(t)
	done := make(chan error, 1)
	go func() { done <- relay.Serve(pc) }()
	t.Cleanup(func() {
		relay.Close()
		<-done
	})
	return pc.LocalAddr().(*net.UDPAddr)
}

func dialUDP(t testing.TB, addr *net.UDPAddr) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp", nil, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// e2eItem is one item sent end to end and what must arrive.
type e2eItem struct {
	file bool
	name string
	data []byte
}

func (e e2eItem) item() Item {
	if e.file {
		return File(e.name, bytes.NewReader(e.data), int64(len(e.data)))
	}
	return Text(string(e.data))
}

// checkArrived checks that the receiver's folder holds exactly the files
// of items, each with the SHA-256 of what was sent, and that the texts
// arrived in order.
func checkArrived(t *testing.T, dir string, items []e2eItem, evs []Event) {
	t.Helper()
	var wantTexts, gotTexts []string
	var wantFiles []string
	for _, it := range items {
		if it.file {
			wantFiles = append(wantFiles, it.name)
			b, err := os.ReadFile(filepath.Join(dir, it.name))
			if err != nil {
				t.Errorf("%s: %v", it.name, err)
				continue
			}
			if sha256.Sum256(b) != sha256.Sum256(it.data) {
				t.Errorf("%s: %d bytes with SHA-256 %x, sent %d bytes with %x", it.name, len(b), sha256.Sum256(b), len(it.data), sha256.Sum256(it.data))
			}
		} else {
			wantTexts = append(wantTexts, string(it.data))
		}
	}
	for _, ev := range evs {
		switch ev.Kind {
		case EventText:
			gotTexts = append(gotTexts, ev.Text)
		case EventFile, EventEnd:
		default:
			t.Errorf("event %v %q: %v", ev.Kind, ev.Name, ev.Err)
		}
	}
	if !slices.Equal(gotTexts, wantTexts) {
		t.Errorf("texts %q, want %q", gotTexts, wantTexts)
	}
	sort.Strings(wantFiles)
	if got := listDir(t, dir); !slices.Equal(got, wantFiles) {
		t.Errorf("folder holds %q, want %q", got, wantFiles)
	}
}

// TestEndToEnd sends texts and files of the interesting sizes over real
// sockets through an impair relay, at three fragment sizes, on a clean
// and on a bad network, and checks that every byte arrives.
func TestEndToEnd(t *testing.T) {
	bad := impair.Impairment{Loss: .05, Duplicate: .05, Reorder: .05, ReorderDelay: 20 * time.Millisecond}
	worse := impair.Impairment{Loss: .2}
	profiles := []struct {
		name      string
		im        impair.Impairment
		smallOnly bool
	}{
		{"clean", impair.Impairment{}, false},
		{"loss 5% dup 5% reorder 5%", bad, false},
		{"loss 20%", worse, true},
	}
	for _, m := range modes {
		for _, p := range profiles {
			for _, f := range []int{1, 4, 1445} {
				var items []e2eItem
				sizes := slices.Compact([]int{0, 1, f, f + 1})
				for _, n := range sizes {
					items = append(items,
						e2eItem{data: randomText(n, uint64(n))},
						e2eItem{file: true, name: fmt.Sprintf("size-%d.bin", n), data: randomBytes(n, uint64(n))})
				}
				if f == 1445 && !p.smallOnly {
					items = append(items, e2eItem{file: true, name: "random-1MiB.bin", data: randomBytes(1<<20, 42)})
				}
				if f == 4 {
					items = append(items, e2eItem{file: true, name: "4KiB.bin", data: randomBytes(4<<10, 4)})
				}
				t.Run(fmt.Sprintf("%s/%s/F=%d", m.name, p.name, f), func(t *testing.T) {
					t.Parallel()
					dir := t.TempDir()
					evs := newEvents()
					addr := startReceiver(t, m.recv(&Receiver{Dir: dir, OnEvent: evs.add}))
					relay := startRelay(t, addr, p.im, p.im, int64(f))
					var its []Item
					for _, it := range items {
						its = append(its, it.item())
					}
					opt := m.send(fast)
					opt.FragmentSize = f
					ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
					defer cancel()
					start := time.Now()
					st, err := Send(ctx, dialUDP(t, relay), its, opt)
					if err != nil {
						t.Fatalf("Send: %v (stats %+v)", err, st)
					}
					t.Logf("%d items in %v: %d frames, %d retransmissions, %d NACKs, srtt %v",
						st.Items, time.Since(start).Round(time.Millisecond), st.Frames, st.Retransmissions, st.NACKs, st.SRTT)
					if st.Items != len(items) {
						t.Errorf("%d items sent, want %d", st.Items, len(items))
					}
					// The last ACK came back, so the receiver has everything;
					// its events are reported just after it answered.
					nText := len(sizes)
					all := evs.wait(t, 10*time.Second, "deliveries", func(evs []Event) bool {
						return count(EventText, nText)(evs) && count(EventFile, len(items)-nText)(evs)
					})
					checkArrived(t, dir, items, all)
					if st.Legacy == !m.legacy || st.Sealed != (m.secret != "") {
						t.Errorf("stats say legacy %v, sealed %v; want %v, %v", st.Legacy, st.Sealed, m.legacy, m.secret != "")
					}
				})
			}
		}
	}
}

// TestTwoSenders sends from two sockets to one receiver at once, through a
// lossy relay.
func TestTwoSenders(t *testing.T) {
	dir := t.TempDir()
	evs := newEvents()
	addr := startReceiver(t, &Receiver{Dir: dir, OnEvent: evs.add})
	relay := startRelay(t, addr, impair.Impairment{Loss: .05}, impair.Impairment{Loss: .05}, 7)
	var items []e2eItem
	var wg sync.WaitGroup
	for i := range 2 {
		mine := []e2eItem{
			{data: []byte(fmt.Sprintf("hello from %d", i))},
			{file: true, name: fmt.Sprintf("from-%d.bin", i), data: randomBytes(100_000, uint64(i))},
		}
		items = append(items, mine...)
		conn := dialUDP(t, relay)
		wg.Go(func() {
			_, err := Send(t.Context(), conn, []Item{mine[0].item(), mine[1].item()}, fast)
			if err != nil {
				t.Errorf("sender %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	all := evs.wait(t, 10*time.Second, "deliveries", func(evs []Event) bool {
		return count(EventText, 2)(evs) && count(EventFile, 2)(evs)
	})
	// The texts may arrive in either order.
	var texts []Event
	for _, ev := range all {
		if ev.Kind == EventText {
			texts = append(texts, ev)
		}
	}
	if len(texts) == 2 && texts[0].Peer == texts[1].Peer {
		t.Errorf("both texts from %v: the senders were not told apart", texts[0].Peer)
	}
	slices.SortFunc(all, func(a, b Event) int { return strings.Compare(a.Text, b.Text) })
	checkArrived(t, dir, []e2eItem{items[0], items[2], items[1], items[3]}, all)
}

// TestSilentReceiver checks that a sender gives up with ErrPeerGone
// within its timeout when nothing answers.
func TestSilentReceiver(t *testing.T) {
	hole := listenUDP(t) // reads nothing, answers nothing
	defer hole.Close()
	opt := fast
	opt.Timeout = 300 * time.Millisecond
	start := time.Now()
	_, err := Send(t.Context(), dialUDP(t, hole.LocalAddr().(*net.UDPAddr)), []Item{Text("anyone?")}, opt)
	took := time.Since(start)
	if !errors.Is(err, ErrPeerGone) {
		t.Fatalf("Send = %v, want ErrPeerGone", err)
	}
	if took < opt.Timeout || took > opt.Timeout+2*time.Second {
		t.Errorf("gave up after %v, want just over %v", took, opt.Timeout)
	}
}

// TestReceiverMidTransferGone checks both sides when the link dies in
// the middle of a file: the sender fails with ErrPeerGone, the receiver
// reports the sender gone and removes the partial file, each within its
// timeout.
func TestReceiverMidTransferGone(t *testing.T) {
	dir := t.TempDir()
	evs := newEvents()
	addr := startReceiver(t, &Receiver{Dir: dir, Timeout: 300 * time.Millisecond, OnEvent: evs.add})

	// A sender by hand: INF and the first frames, then silence.
	c := dialUDP(t, addr)
	inf, dats := file("partial.bin", strings.Repeat("x", 100), 10)
	buf := make([]byte, wire.MaxFrame)
	for _, b := range append([][]byte{inf}, dats[:4]...) {
		c.Write(b)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(buf)
		if err != nil || !bytes.Equal(buf[:n], ack(b)) {
			t.Fatalf("answer to %s: %x, %v", describe(b), buf[:n], err)
		}
	}
	if names := listDir(t, dir); len(names) != 1 || !strings.HasPrefix(names[0], ".netkit-") {
		t.Fatalf("mid-transfer the folder holds %q", names)
	}
	start := time.Now()
	gone := evs.wait(t, 5*time.Second, "EventGone", count(EventGone, 1))
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("reported gone after %v", took)
	}
	if ev := gone[len(gone)-1]; ev.Name != "partial.bin" || ev.Size != 20 || !errors.Is(ev.Err, ErrPeerGone) {
		t.Errorf("gone event %+v", ev)
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Errorf("after the peer is gone the folder holds %q", names)
	}

	// The other side: a receiver that dies mid-file. Its host then answers
	// port unreachable, which the error mentions.
	for _, m := range modes[:2] {
		t.Run(m.name, func(t *testing.T) {
			r := &Receiver{Dir: t.TempDir()}
			pc := listenUDP(t)
			served := make(chan error, 1)
			go func() { served <- r.Serve(pc) }()
			opt := m.send(fast)
			opt.Timeout = 300 * time.Millisecond
			var once sync.Once
			var in atomic.Int64
			opt.Trace = func(tr FrameTrace) {
				if tr.Dir == TraceIn && in.Add(1) == 50 {
					// The receiver dies without a word: its socket is
					// gone (Close would tell the sender).
					once.Do(func() { pc.Close() })
				}
			}
			data := randomBytes(2_000_000, 3)
			start := time.Now()
			_, err := Send(t.Context(), dialUDP(t, pc.LocalAddr().(*net.UDPAddr)), []Item{File("big.bin", bytes.NewReader(data), int64(len(data)))}, opt)
			if !errors.Is(err, ErrPeerGone) || !strings.Contains(err.Error(), "port unreachable") {
				t.Fatalf("Send = %v, want ErrPeerGone noting port unreachable", err)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("gave up after %v", took)
			}
			<-served
			r.Close()
			if names := listDir(t, r.Dir); len(names) != 0 && m.legacy {
				t.Errorf("the closed receiver's folder holds %q", names)
			}
		})
	}
}

// failingStore is a Store whose files named fail get a disk-full error
// after n bytes: the rest are stored as usual.
type failingStore struct {
	*Store
	fail string
	n    int
}

type failingSink struct {
	FileSink
	n int
}

func (f failingStore) Create(name string) (FileSink, error) {
	k, err := f.Store.Create(name)
	if err != nil || name != f.fail {
		return k, err
	}
	return &failingSink{k, f.n}, nil
}

func (f failingStore) Resume(name, key string) (FileSink, int64, error) {
	k, have, err := f.Store.Resume(name, key)
	if err != nil || name != f.fail {
		return k, have, err
	}
	return &failingSink{k, f.n}, have, nil
}

func (f *failingSink) Write(p []byte) (int, error) {
	if len(p) > f.n {
		return 0, fmt.Errorf("write: %w", errors.New("no space left on device"))
	}
	f.n -= len(p)
	return f.FileSink.Write(p)
}

// TestWriteFailureEndToEnd checks that a disk error on one file stops
// that transfer only: its sender is refused, the other one carries on,
// and no partial file stays.
func TestWriteFailureEndToEnd(t *testing.T) {
	for _, m := range modes[:2] {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := OpenStore(dir, StoreOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			evs := newEvents()
			addr := startReceiver(t, &Receiver{Store: failingStore{s, "full.bin", 50_000}, OnEvent: evs.add})
			data := randomBytes(200_000, 9)
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i, name := range []string{"full.bin", "ok.bin"} {
				conn := dialUDP(t, addr)
				wg.Go(func() {
					_, errs[i] = Send(t.Context(), conn, []Item{File(name, bytes.NewReader(data), int64(len(data)))}, m.send(fast))
				})
			}
			wg.Wait()
			if !errors.Is(errs[0], ErrRefused) || errs[1] != nil {
				t.Errorf("senders: %v and %v; want ErrRefused and nil", errs[0], errs[1])
			}
			if !m.legacy && (errs[0] == nil || !strings.Contains(errs[0].Error(), "no space left on device")) {
				t.Errorf("the sender is not told why: %v", errs[0])
			}
			evs.wait(t, 5*time.Second, "the failure and the file", func(evs []Event) bool {
				return count(EventFailed, 1)(evs) && count(EventFile, 1)(evs)
			})
			if names := listDir(t, dir); !slices.Equal(names, []string{"ok.bin"}) {
				t.Errorf("folder holds %q", names)
			}
		})
	}
}

// TestReceiverShutdown checks that Shutdown refuses new transfers, lets
// the one in progress finish, then closes.
func TestReceiverShutdown(t *testing.T) {
	dir := t.TempDir()
	r := &Receiver{Dir: dir}
	pc := listenUDP(t)
	serveErr := make(chan error, 1)
	go func() { serveErr <- r.Serve(pc) }()
	addr := pc.LocalAddr().(*net.UDPAddr)

	exchange := func(c *net.UDPConn, b []byte) []byte {
		t.Helper()
		c.Write(b)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, wire.MaxFrame)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("no answer to %s: %v", describe(b), err)
		}
		return buf[:n]
	}
	a := dialUDP(t, addr)
	inf, dats := file("draining.txt", "0123456789", 4)
	exchange(a, inf)
	exchange(a, dats[0])

	shut := make(chan error, 1)
	go func() { shut <- r.Shutdown(t.Context()) }()
	// A newcomer is refused once the shutdown has begun; until then it
	// is answered, so ask until FIN comes (each try is a new peer).
	for i := 0; ; i++ {
		if i == 100 {
			t.Fatal("new transfers still accepted during Shutdown")
		}
		b := dialUDP(t, addr)
		infB, _ := text("late", 4)
		if got := exchange(b, infB); bytes.Equal(got, fin) {
			break
		}
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a transfer in progress", err)
	default:
	}
	for _, d := range dats[1:] {
		if got := exchange(a, d); !bytes.Equal(got, ack(d)) {
			t.Fatalf("answer %s to %s", describe(got), describe(d))
		}
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	if err := <-serveErr; !errors.Is(err, ErrServerClosed) || !errors.Is(err, net.ErrClosed) {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}
	if names := listDir(t, dir); !slices.Equal(names, []string{"draining.txt"}) {
		t.Errorf("folder holds %q", names)
	}
	if err := r.Serve(listenUDP(t)); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown = %v", err)
	}
}

// TestReceiverShutdownTimeout checks that Shutdown gives up when its
// context ends, discarding the unfinished file.
func TestReceiverShutdownTimeout(t *testing.T) {
	dir := t.TempDir()
	r := &Receiver{Dir: dir}
	pc := listenUDP(t)
	go r.Serve(pc)
	c := dialUDP(t, pc.LocalAddr().(*net.UDPAddr))
	inf, _ := file("never.bin", "0123456789", 4)
	c.Write(inf)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, wire.MaxFrame)
	if _, err := c.Read(buf); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := r.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want DeadlineExceeded", err)
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Errorf("folder holds %q", names)
	}
}

// TestSendCancel checks that cancelling Send stops it at once with FIN,
// and the receiver drops the partial file.
func TestSendCancel(t *testing.T) {
	for _, m := range modes[:2] {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			evs := newEvents()
			addr := startReceiver(t, &Receiver{Dir: dir, OnEvent: evs.add, Timeout: time.Second})
			ctx, cancel := context.WithCancel(t.Context())
			opt := m.send(fast)
			opt.FragmentSize = 100
			var in atomic.Int64
			opt.Trace = func(tr FrameTrace) {
				if tr.Dir == TraceIn && in.Add(1) == 20 {
					cancel()
				}
			}
			data := randomBytes(4<<20, 5)
			_, err := Send(ctx, dialUDP(t, addr), []Item{File("cut.bin", bytes.NewReader(data), int64(len(data)))}, opt)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Send = %v, want context.Canceled", err)
			}
			// The sender says so (FIN, ABORT), but that datagram may be
			// lost like any other: then the receiver times the sender out.
			evs.wait(t, 5*time.Second, "the transfer aborted", func(evs []Event) bool {
				return count(EventAborted, 1)(evs) || count(EventGone, 1)(evs)
			})
			if names := listDir(t, dir); len(names) != 0 && m.legacy {
				t.Errorf("folder holds %q", names)
			}
		})
	}
}

// TestSessionStream enqueues items while the session runs, with idle time
// in between kept alive by KPA frames.
func TestSessionStream(t *testing.T) {
	evs := newEvents()
	addr := startReceiver(t, &Receiver{Dir: t.TempDir(), OnEvent: evs.add})
	opt := fast
	opt.KeepAlive = 20 * time.Millisecond
	kpas := make(chan struct{}, 100)
	opt.Trace = func(tr FrameTrace) {
		if tr.Dir == TraceIn && (tr.Ext && tr.XHeader.Type == wire.PONG || !tr.Ext && tr.Frame.Type == wire.ACK && tr.Frame.Header == (wire.Header{Type: wire.ACK})) {
			select {
			case kpas <- struct{}{}:
			default:
			}
		}
	}
	s, err := NewSession(dialUDP(t, addr), opt)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Run(t.Context())
		done <- err
	}()
	for i := range 3 {
		if err := s.Enqueue(Text(fmt.Sprint("line ", i))); err != nil {
			t.Fatal(err)
		}
		evs.wait(t, 5*time.Second, "the text", count(EventText, i+1))
		for range 2 { // two KPAs answered while idle
			select {
			case <-kpas:
			case <-time.After(5 * time.Second):
				t.Fatal("no KPA answered while idle")
			}
		}
	}
	s.CloseSend()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if err := s.Enqueue(Text("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("Enqueue after the end = %v", err)
	}
	evs.wait(t, 5*time.Second, "the session's end", count(EventEnd, 1))
}

// TestReceiverDropsJunk checks that datagrams that are not frames, or
// larger than any frame, get no answer and do not disturb a transfer.
func TestReceiverDropsJunk(t *testing.T) {
	r := &Receiver{Dir: t.TempDir()}
	addr := startReceiver(t, r)
	c := dialUDP(t, addr)
	for _, b := range [][]byte{nil, []byte("GET / HTTP/1.0\r\n\r\n"), make([]byte, wire.MaxFrame+1), enc(wire.ACK, 1, 1, 1, "")} {
		c.Write(b)
	}
	if _, err := Send(t.Context(), c, []Item{Text("after the junk")}, fast); err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); st.Malformed != 3 || st.Texts != 1 {
		t.Errorf("stats %+v", st)
	}
}

// pastMachine is a sending machine whose every Output asks to be called
// at a time already past, and which ends once it has handled a datagram.
type pastMachine struct {
	got  chan []byte
	done bool
}

func (m *pastMachine) Enqueue(Item) error { return nil }
func (m *pastMachine) CloseSend()         {}
func (m *pastMachine) Done() bool         { return m.done }
func (m *pastMachine) Err() error         { return nil }
func (m *pastMachine) Stats() Stats       { return Stats{} }
func (m *pastMachine) Progress() Progress { return Progress{} }
func (m *pastMachine) Abort(error) Output { m.done = true; return Output{} }
func (m *pastMachine) Tick(time.Time) Output {
	return Output{Deadline: time.Now().Add(-time.Millisecond)}
}
func (m *pastMachine) Handle(b []byte, _ time.Time) Output {
	m.got <- slices.Clone(b)
	m.done = true
	return Output{Deadline: time.Now().Add(-time.Millisecond)}
}

// TestSessionReadsWhenDue checks that a Session whose machine is always
// due (a deadline in the past) still reads the socket: a read with a past
// deadline does not even try, so a driver that passed such a deadline on
// would never see an answer again.
func TestSessionReadsWhenDue(t *testing.T) {
	peer := listenUDP(t)
	conn := dialUDP(t, peer.LocalAddr().(*net.UDPAddr))
	s, err := NewSession(conn, SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := &pastMachine{got: make(chan []byte, 1)}
	s.m = m
	peer.WriteTo([]byte("an answer"), conn.LocalAddr())
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	go s.Run(ctx)
	select {
	case b := <-m.got:
		if string(b) != "an answer" {
			t.Errorf("read %q", b)
		}
	case <-ctx.Done():
		t.Fatal("the Session never read the socket")
	}
}
