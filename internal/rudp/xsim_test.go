package rudp

import (
	"bytes"
	"container/heap"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/rudp/wire"
)

// xlink is what the simulated network does to datagrams, one way.
type xlink struct {
	loss, dup, corrupt float64
	// delay is every datagram's; a share reorder of them is held back
	// reorderBy more, which lets later ones overtake them.
	delay     time.Duration
	reorder   float64
	reorderBy time.Duration
	// rate, when positive, makes the link a bottleneck: at most rate
	// datagrams leave per millisecond, the others wait in a queue of up
	// to queue datagrams, past which they are dropped (a drop-tail
	// router).
	rate, queue int

	busy  time.Time // when the bottleneck is free
	drops int       // datagrams the full queue dropped
}

// xpkt is a datagram in flight.
type xpkt struct {
	at   time.Time
	n    int // order of sending, which breaks ties
	toIn bool
	b    []byte
}

type xqueue []xpkt

func (q xqueue) Len() int { return len(q) }
func (q xqueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].n < q[j].n
}
func (q xqueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *xqueue) Push(x any)   { *q = append(*q, x.(xpkt)) }
func (q *xqueue) Pop() any {
	old := *q
	p := old[len(old)-1]
	*q = old[:len(old)-1]
	return p
}

// xsim runs an XSender against an XInbox (and, for a sender that falls
// back, a legacy Inbox) over a simulated network with a fake clock. It
// always moves to the earliest of the next delivery and the machines'
// deadlines, so it is deterministic for a seed and needs no sleep.
type xsim struct {
	t        testing.TB
	rng      *rand.Rand
	now      time.Time
	up, down xlink
	q        xqueue
	sent     int

	s   *XSender
	in  *XInbox // nil: extended datagrams vanish
	lin *Inbox  // nil: legacy datagrams vanish

	sDead, iDead, lDead time.Time
	sEvents, iEvents    []Event

	// onSend sees every datagram as it is sent, before the network;
	// onDeliver every one as it arrives, and drops it by returning
	// false.
	onSend    func(toIn bool, b []byte)
	onDeliver func(toIn bool, b []byte) bool
	// cut stops the sender: it is not called again and what it sent is
	// lost. quiet silences the receiver: what it sends is lost.
	cut, quiet bool

	lastToSender, lastToInbox time.Time
	sDoneAt                   time.Time
	maxCwnd                   int
	frames                    map[wire.Type]int // extended frames sent by the sender, by type
}

func newXSim(t testing.TB, seed uint64, s *XSender, in *XInbox, up, down xlink) *xsim {
	return &xsim{
		t: t, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), now: t0, up: up, down: down, s: s, in: in,
		frames: map[wire.Type]int{},
	}
}

func (n *xsim) transmit(toIn bool, datagrams [][]byte) {
	l := &n.down
	if toIn {
		l = &n.up
	}
	for _, d := range datagrams {
		if n.onSend != nil {
			n.onSend(toIn, d)
		}
		if toIn && wire.IsExtended(d) {
			n.frames[wire.Type(d[8])]++
		}
		if (toIn && n.cut) || (!toIn && n.quiet) || n.rng.Float64() < l.loss {
			continue
		}
		copies := 1
		if n.rng.Float64() < l.dup {
			copies = 2
		}
		for range copies {
			b := slices.Clone(d)
			if n.rng.Float64() < l.corrupt {
				bit := n.rng.IntN(8 * len(b))
				b[bit/8] ^= 0x80 >> (bit % 8)
			}
			at := n.now
			if l.rate > 0 {
				svc := time.Millisecond / time.Duration(l.rate)
				start := n.now
				if l.busy.After(start) {
					start = l.busy
				}
				if start.Sub(n.now) >= svc*time.Duration(l.queue) {
					l.drops++
					continue
				}
				l.busy = start.Add(svc)
				at = l.busy
			}
			at = at.Add(l.delay)
			if l.reorder > 0 && n.rng.Float64() < l.reorder {
				at = at.Add(l.reorderBy)
			}
			n.sent++
			heap.Push(&n.q, xpkt{at: at, n: n.sent, toIn: toIn, b: b})
		}
	}
}

func (n *xsim) fromSender(o Output) {
	n.sDead = o.Deadline
	n.sEvents = append(n.sEvents, slices.Clone(o.Events)...)
	if c := n.s.Stats().Cwnd; c > n.maxCwnd {
		n.maxCwnd = c
	}
	n.transmit(true, o.Datagrams)
	if n.s.Done() && n.sDoneAt.IsZero() {
		n.sDoneAt = n.now
	}
}

func (n *xsim) fromInbox(o Output) {
	n.iDead = o.Deadline
	n.iEvents = append(n.iEvents, slices.Clone(o.Events)...)
	for _, to := range o.To {
		if to != alice {
			n.t.Errorf("XInbox sends to %v, want %v", to, alice)
		}
	}
	n.transmit(false, o.Datagrams)
}

func (n *xsim) fromLegacy(o Output) {
	n.lDead = o.Deadline
	n.iEvents = append(n.iEvents, slices.Clone(o.Events)...)
	n.transmit(false, o.Datagrams)
}

func (n *xsim) deliver(p xpkt) {
	if n.onDeliver != nil && !n.onDeliver(p.toIn, p.b) {
		return
	}
	if !p.toIn {
		if n.cut {
			return
		}
		n.lastToSender = n.now
		n.fromSender(n.s.Handle(p.b, n.now))
		return
	}
	switch {
	case n.in != nil && wire.IsExtended(p.b):
		n.lastToInbox = n.now
		n.fromInbox(n.in.Handle(p.b, alice, n.now))
	case n.lin != nil:
		n.lastToInbox = n.now
		n.fromLegacy(n.lin.Handle(p.b, alice, n.now))
	}
}

// senderDone is the usual end of a run: the sender is done and the
// network quiet.
func (n *xsim) senderDone() bool { return (n.cut || n.s.Done()) && len(n.q) == 0 }

// run starts the sender and runs until stop holds, or nothing is left
// to happen, or limit of fake time has passed (a failure).
func (n *xsim) run(limit time.Duration, stop func() bool) {
	n.t.Helper()
	if n.sDead.IsZero() && !n.cut {
		n.fromSender(n.s.Tick(n.now))
	}
	end := n.now.Add(limit)
	for same := 0; ; same++ {
		if stop() {
			return
		}
		var next time.Time
		if !n.cut && !n.s.Done() {
			next = n.sDead
		}
		next = earliest(next, n.iDead)
		next = earliest(next, n.lDead)
		if len(n.q) > 0 {
			next = earliest(next, n.q[0].at)
		}
		if next.IsZero() {
			return // nothing more will happen
		}
		if next.After(end) {
			n.t.Fatalf("simulation ran past %v: sender done %v err %v stats %+v; inbox %+v", limit, n.s.Done(), n.s.Err(), n.s.Stats(), n.inStats())
		}
		if next.After(n.now) {
			n.now, same = next, 0
		} else if same > 100_000 {
			n.t.Fatalf("simulation stuck at %v: deadlines in the past that do nothing (sender %v, inbox %v)", n.now.Sub(t0), n.sDead.Sub(t0), n.iDead.Sub(t0))
		}
		// Expiries first, as a driver whose timer fired would.
		if !n.iDead.IsZero() && !n.now.Before(n.iDead) {
			n.fromInbox(n.in.Tick(n.now))
		}
		if !n.lDead.IsZero() && !n.now.Before(n.lDead) {
			n.fromLegacy(n.lin.Tick(n.now))
		}
		if len(n.q) > 0 && !n.q[0].at.After(n.now) {
			n.deliver(heap.Pop(&n.q).(xpkt))
			continue
		}
		if !n.cut && !n.s.Done() && !n.sDead.IsZero() && !n.now.Before(n.sDead) {
			n.fromSender(n.s.Tick(n.now))
		}
	}
}

func (n *xsim) inStats() InboxStats {
	if n.in == nil {
		return InboxStats{}
	}
	return n.in.Stats()
}

// events of kind k among evs.
func xevents(evs []Event, k EventKind) []Event {
	var out []Event
	for _, ev := range evs {
		if ev.Kind == k {
			out = append(out, ev)
		}
	}
	return out
}

// mustXSender returns an XSender with o holding items, closed for
// sending.
func mustXSender(t testing.TB, o SendOptions, items ...Item) *XSender {
	t.Helper()
	s, err := NewXSender(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if err := s.Enqueue(it); err != nil {
			t.Fatal(err)
		}
	}
	s.CloseSend()
	return s
}

func mustXInbox(t testing.TB, cfg XInboxConfig) *XInbox {
	t.Helper()
	in, err := NewXInbox(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

const (
	ms     = time.Millisecond
	secret = "correct horse battery staple"
)

// TestXSimImpaired sends texts and files of every size that matters
// through loss, duplication, reordering and corruption, plain and
// sealed, and checks that each arrives once and byte-exact.
func TestXSimImpaired(t *testing.T) {
	profiles := []struct {
		name string
		l    xlink
	}{
		{"clean", xlink{delay: ms}},
		{"loss 5%", xlink{loss: .05, dup: .03, corrupt: .02, reorder: .05, reorderBy: 3 * ms, delay: ms}},
		{"loss 20%", xlink{loss: .2, dup: .05, corrupt: .05, reorder: .1, reorderBy: 3 * ms, delay: ms}},
	}
	for _, sealed := range []bool{false, true} {
		for _, p := range profiles {
			for _, f := range []int{1, 4, 1445} {
				name := fmt.Sprintf("plain/%s/F=%d", p.name, f)
				if sealed {
					name = "sealed" + name[5:]
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					checkXSim(t, uint64(f)*7+uint64(len(p.name)), f, sealed, p.l)
				})
			}
		}
	}
}

func checkXSim(t *testing.T, seed uint64, f int, sealed bool, l xlink) {
	big := 100 << 10
	if raceEnabled && f == 1 {
		big = 16 << 10 // 102400 fragments each way take seconds under the race detector; 16384 still wrap every ring
	}
	sizes := slices.Compact([]int{0, 1, f, f + 1, big})
	var items []simItem
	for _, n := range sizes {
		items = append(items,
			simItem{data: randomText(n, uint64(n)+seed)},
			simItem{file: true, name: fmt.Sprintf("f%d.bin", n), data: randomBytes(n, uint64(n)+seed)})
	}
	var its []Item
	for _, si := range items {
		its = append(its, si.item())
	}
	// These test the extended transfer, not the HELLO (TestXSimHelloLoss):
	// a long HelloWait keeps a lossy run from falling back to legacy.
	o := SendOptions{FragmentSize: f, HelloWait: 10 * time.Second}
	cfg := XInboxConfig{Store: newMemStore(), MaxText: 1 << 20}
	if sealed {
		o.Secret, cfg.Secret = secret, secret
	}
	s := mustXSender(t, o, its...)
	in := mustXInbox(t, cfg)
	n := newXSim(t, seed, s, in, l, l)
	n.run(10*time.Minute, n.senderDone)
	st := s.Stats()
	if err := s.Err(); err != nil {
		t.Fatalf("sender failed at %v: %v (stats %+v)", n.now.Sub(t0), err, st)
	}
	if !st.Extended || st.Sealed != sealed || s.Legacy() {
		t.Errorf("stats say extended %v sealed %v legacy %v, want extended, sealed %v", st.Extended, st.Sealed, s.Legacy(), sealed)
	}
	store := cfg.Store.(*memStore)
	var got []simItem
	for _, ev := range n.iEvents {
		switch ev.Kind {
		case EventText:
			got = append(got, simItem{data: []byte(ev.Text)})
		case EventFile:
			if ev.Path != ev.Name {
				t.Errorf("%q stored as %q", ev.Name, ev.Path)
			}
			got = append(got, simItem{file: true, name: ev.Name, data: store.files[ev.Path]})
		case EventEnd:
		default:
			t.Errorf("event %v %q: %v", ev.Kind, ev.Name, ev.Err)
		}
	}
	if len(got) != len(items) {
		t.Fatalf("%d items delivered, want %d (inbox %+v)", len(got), len(items), in.Stats())
	}
	for i := range items {
		w, g := items[i], got[i]
		if w.file != g.file || w.name != g.name || !bytes.Equal(w.data, g.data) {
			t.Errorf("item %d = file %v %q %d bytes, want file %v %q %d bytes", i, g.file, g.name, len(g.data), w.file, w.name, len(w.data))
		}
	}
	if len(n.sEvents) != len(items) || st.Items != len(items) {
		t.Errorf("sender reports %d items (%d events), want %d", st.Items, len(n.sEvents), len(items))
	}
	var total int64
	for _, si := range items {
		total += int64(len(si.data))
	}
	if st.Bytes != total {
		t.Errorf("sender counts %d bytes, want %d", st.Bytes, total)
	}
	if k := store.openCount(); k != 0 {
		t.Errorf("%d files left open", k)
	}
	if in.Active() != 0 {
		t.Errorf("%d transfers active after the end", in.Active())
	}
	// CLOSE is not answered, so it may be lost: the session then expires.
	if in.Stats().Peers != 0 {
		out := in.Tick(n.now.Add(DefaultTimeout))
		if len(out.Events) != 1 || out.Events[0].Kind != EventGone || out.Events[0].Name != "" || in.Stats().Peers != 0 {
			t.Errorf("session left after a lost CLOSE; Tick after the timeout gave %+v", out.Events)
		}
	}
	lossy := l.loss > 0
	if !lossy && (st.Retransmissions != 0 || st.Lost != 0 || st.Timeouts != 0) {
		t.Errorf("clean network: %d retransmissions, %d lost, %d timeouts", st.Retransmissions, st.Lost, st.Timeouts)
	}
	if lossy && (st.Retransmissions == 0 || st.Lost == 0) {
		t.Errorf("the impairments did not bite: %+v", st)
	}
	t.Logf("%v of fake time, %d frames, %d retransmissions, %d lost, %d loss events, %d timeouts, cwnd %d (max %d), srtt %v",
		n.now.Sub(t0), st.Frames, st.Retransmissions, st.Lost, st.LossEvents, st.Timeouts, st.Cwnd, n.maxCwnd, st.SRTT)
}

// TestXSimSilentReceiver checks a receiver that never answers: a plain
// sender falls back to the legacy protocol after HelloWait (or Timeout,
// if sooner), whose Sender then gives up with ErrPeerGone Timeout after
// the first HELLO (issue 13 item 1: the timeout bounds the whole wait,
// not each protocol's); a sealed one
// cannot fall back, since the legacy protocol cannot encrypt, and gives
// up after Timeout.
func TestXSimSilentReceiver(t *testing.T) {
	tests := []struct {
		name               string
		secret             string
		helloWait, timeout time.Duration
		wantFallback       time.Duration // 0: never
		wantEnd            time.Duration
	}{
		{"plain", "", 0, 3 * time.Second, DefaultHelloWait, 3 * time.Second}, // Timeout bounds the whole wait
		{"plain long HelloWait", "", 5 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second},
		{"sealed", secret, 0, 3 * time.Second, 0, 3 * time.Second},
		{"sealed long HelloWait", secret, 5 * time.Second, 2 * time.Second, 0, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustXSender(t, SendOptions{Secret: tt.secret, HelloWait: tt.helloWait, Timeout: tt.timeout}, Text("anyone there?"))
			n := newXSim(t, 1, s, nil, xlink{delay: ms}, xlink{delay: ms})
			var fellBack time.Duration
			var hellos, legacy int
			var last []byte
			n.onSend = func(toIn bool, b []byte) {
				last = slices.Clone(b)
				if s.Legacy() && fellBack == 0 {
					fellBack = n.now.Sub(t0)
				}
				if wire.IsExtended(b) {
					if s.Legacy() || wire.Type(b[8]) != wire.HELLO {
						t.Errorf("sent %v at %v", wire.Type(b[8]), n.now.Sub(t0))
					}
					hellos++
					return
				}
				if _, err := wire.Parse(b); err != nil || !s.Legacy() {
					t.Errorf("sent %x at %v: %v (legacy %v)", b, n.now.Sub(t0), err, s.Legacy())
				}
				legacy++
			}
			n.run(time.Minute, n.senderDone)
			if !s.Done() || !errors.Is(s.Err(), ErrPeerGone) {
				t.Fatalf("done %v, Err = %v; want ErrPeerGone", s.Done(), s.Err())
			}
			if got := n.sDoneAt.Sub(t0); got != tt.wantEnd {
				t.Errorf("failed at %v, want %v", got, tt.wantEnd)
			}
			if got := s.Legacy(); got != (tt.wantFallback != 0) {
				t.Fatalf("Legacy() = %v", got)
			}
			if hellos < 2 {
				t.Errorf("%d HELLOs sent, want it resent", hellos)
			}
			if tt.wantFallback == 0 {
				if legacy != 0 || !strings.Contains(s.Err().Error(), "--secret") {
					t.Errorf("%d legacy frames sent; Err = %v, want it to explain --secret", legacy, s.Err())
				}
				if st := s.Stats(); st.Legacy {
					t.Errorf("stats say legacy")
				}
				return
			}
			if fellBack != tt.wantFallback {
				t.Errorf("fell back at %v, want %v", fellBack, tt.wantFallback)
			}
			if st := s.Stats(); !st.Legacy || st.Extended {
				t.Errorf("stats say legacy %v, extended %v; want legacy", st.Legacy, st.Extended)
			}
			if f, err := wire.Parse(last); err != nil || f.Type != wire.FIN {
				t.Errorf("last frame %x, want FIN", last)
			}
		})
	}
}

// TestXSimLegacyReceiver checks the fallback against a legacy Inbox,
// which ignores the HELLO: the items arrive all the same.
func TestXSimLegacyReceiver(t *testing.T) {
	store := newMemStore()
	data := randomBytes(5000, 3)
	s := mustXSender(t, SendOptions{}, Text("to the old one"), File("old.bin", bytes.NewReader(data), int64(len(data))))
	n := newXSim(t, 2, s, nil, xlink{delay: ms, loss: .05}, xlink{delay: ms, loss: .05})
	n.lin = NewInbox(InboxConfig{Store: store})
	n.run(time.Minute, n.senderDone)
	if err := s.Err(); err != nil || !s.Legacy() {
		t.Fatalf("Err = %v, legacy %v", err, s.Legacy())
	}
	if got := xevents(n.iEvents, EventText); len(got) != 1 || got[0].Text != "to the old one" {
		t.Errorf("texts %+v", got)
	}
	if !bytes.Equal(store.files["old.bin"], data) {
		t.Errorf("old.bin: %d bytes, want %d", len(store.files["old.bin"]), len(data))
	}
	if st := s.Stats(); st.Items != 2 || !st.Legacy {
		t.Errorf("stats %+v", st)
	}
}

// TestXSimReceiverGone checks a receiver that goes silent mid-transfer:
// the sender gives up with ErrPeerGone Timeout after the last datagram it
// heard, with ABORT and CLOSE.
func TestXSimReceiverGone(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		t.Run(fmt.Sprint("sealed=", sealed), func(t *testing.T) {
			const timeout = 2 * time.Second
			data := randomBytes(200<<10, 4)
			o := SendOptions{Timeout: timeout}
			cfg := XInboxConfig{Store: newMemStore()}
			if sealed {
				o.Secret, cfg.Secret = secret, secret
			}
			s := mustXSender(t, o, File("big.bin", bytes.NewReader(data), int64(len(data))))
			in := mustXInbox(t, cfg)
			n := newXSim(t, 3, s, in, xlink{delay: ms}, xlink{delay: ms})
			dats := 0
			var sent []wire.Type
			n.onSend = func(toIn bool, b []byte) {
				if toIn {
					sent = append(sent, wire.Type(b[8]))
				}
			}
			n.onDeliver = func(toIn bool, b []byte) bool {
				if toIn && wire.Type(b[8]) == wire.DATA {
					if dats++; dats == 40 {
						n.quiet = true
					}
				}
				return true
			}
			n.run(time.Minute, n.senderDone)
			if !errors.Is(s.Err(), ErrPeerGone) {
				t.Fatalf("Err = %v, want ErrPeerGone", s.Err())
			}
			if got := n.sDoneAt.Sub(n.lastToSender); got < timeout || got > timeout+ms {
				t.Errorf("gave up %v after the last answer, want %v", got, timeout)
			}
			if k := len(sent); k < 2 || sent[k-2] != wire.ABORT || sent[k-1] != wire.CLOSE {
				t.Errorf("last frames sent %v, want ABORT, CLOSE", sent[max(0, k-4):])
			}
			if p := s.Progress(); p.Active {
				t.Errorf("progress %+v after the end", p)
			}
		})
	}
}

// TestXSimSenderGone checks a sender that vanishes mid-transfer: the
// XInbox reports EventGone with the file cut short Timeout after it
// last heard from it, and discards the file.
func TestXSimSenderGone(t *testing.T) {
	const timeout = 3 * time.Second
	data := randomBytes(200<<10, 5)
	store := newMemStore()
	s := mustXSender(t, SendOptions{}, File("big.bin", bytes.NewReader(data), int64(len(data))))
	in := mustXInbox(t, XInboxConfig{Store: store, Timeout: timeout})
	n := newXSim(t, 4, s, in, xlink{delay: ms, loss: .02}, xlink{delay: ms})
	dats := 0
	n.onDeliver = func(toIn bool, b []byte) bool {
		if toIn && wire.Type(b[8]) == wire.DATA {
			if dats++; dats == 50 {
				n.cut = true
			}
		}
		return true
	}
	gone := func() bool { return len(xevents(n.iEvents, EventGone)) > 0 }
	n.run(time.Minute, gone)
	if !gone() {
		t.Fatalf("no EventGone; events %+v", n.iEvents)
	}
	ev := xevents(n.iEvents, EventGone)[0]
	if got := n.now.Sub(n.lastToInbox); got != timeout {
		t.Errorf("EventGone %v after the last datagram, want %v", got, timeout)
	}
	if ev.Name != "big.bin" || ev.Size <= 0 || ev.Size >= int64(len(data)) || !errors.Is(ev.Err, ErrPeerGone) || ev.Peer != alice {
		t.Errorf("EventGone = %+v, want big.bin cut short, ErrPeerGone", ev)
	}
	if k := len(n.iEvents); k != 1 {
		t.Errorf("events %+v, want EventGone alone", n.iEvents)
	}
	st := in.Stats()
	if in.Active() != 0 || st.Peers != 0 || st.Gone != 1 || store.openCount() != 0 || len(store.files) != 0 {
		t.Errorf("after EventGone: active %d, stats %+v, %d open, files %v", in.Active(), st, store.openCount(), store.names())
	}
	if !in.Deadline().IsZero() {
		t.Errorf("Deadline %v with no session", in.Deadline().Sub(t0))
	}
}

// TestXSimSecrets checks the sessions whose secrets do not match.
func TestXSimSecrets(t *testing.T) {
	tests := []struct {
		name           string
		sender, inbox  string
		wantErr        error
		wantMsg        string
		wantInboxError error
	}{
		{"wrong secret", "open sesame", secret, ErrBadSecret, "same --secret", ErrBadSecret},
		{"receiver with a secret", "", secret, ErrRefused, "--secret", ErrRefused},
		{"receiver without", secret, "", ErrRefused, "--secret", ErrRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := newMemStore()
			s := mustXSender(t, SendOptions{Secret: tt.sender}, Text("psst"), File("a.bin", bytes.NewReader([]byte("a")), 1))
			in := mustXInbox(t, XInboxConfig{Store: store, Secret: tt.inbox})
			n := newXSim(t, 5, s, in, xlink{delay: ms}, xlink{delay: ms})
			n.run(time.Minute, n.senderDone)
			err := s.Err()
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Err = %v, want %v mentioning %q", err, tt.wantErr, tt.wantMsg)
			}
			if s.Legacy() {
				t.Errorf("fell back to legacy")
			}
			ref := xevents(n.iEvents, EventRefused)
			if len(ref) != 1 || !errors.Is(ref[0].Err, tt.wantInboxError) || ref[0].Peer != alice {
				t.Errorf("inbox events %+v, want one EventRefused wrapping %v", n.iEvents, tt.wantInboxError)
			}
			// A session refused for its secret stays until it times out,
			// to answer a repeat; it then goes without another event.
			if late := in.Tick(n.now.Add(DefaultTimeout + time.Second)); len(late.Events) != 0 {
				t.Errorf("events when the refused session expired: %+v", late.Events)
			}
			if len(n.iEvents) != 1 || len(store.files) != 0 || in.Stats().Peers != 0 {
				t.Errorf("inbox events %+v, files %v, %d peers", n.iEvents, store.names(), in.Stats().Peers)
			}
			if st := s.Stats(); st.Items != 0 || st.Frames > 4 {
				t.Errorf("sender stats %+v", st)
			}
		})
	}
}

// TestXSimCongestion sends through a bottleneck: a drop-tail queue in
// front of a link of rate datagrams per millisecond. The sender must
// find the rate (losses, a window that stops growing) without
// collapsing.
func TestXSimCongestion(t *testing.T) {
	const (
		rate  = 10 // datagrams per ms: 14.45 MB/s of 1445-byte fragments
		queue = 50
		delay = 5 * ms
		size  = 4 << 20
	)
	data := randomBytes(size, 6)
	s := mustXSender(t, SendOptions{}, File("big.bin", bytes.NewReader(data), size))
	store := newMemStore()
	in := mustXInbox(t, XInboxConfig{Store: store})
	n := newXSim(t, 6, s, in, xlink{delay: delay, rate: rate, queue: queue}, xlink{delay: delay})
	var first time.Time
	n.onSend = func(toIn bool, b []byte) {
		if first.IsZero() && toIn && wire.Type(b[8]) == wire.DATA {
			first = n.now
		}
	}
	n.run(time.Minute, n.senderDone)
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(store.files["big.bin"], data) {
		t.Fatalf("big.bin did not arrive intact")
	}
	st := s.Stats()
	took := n.sDoneAt.Sub(first)
	capacity := float64(rate*wire.MaxData) * 1000 // bytes per second
	goodput := float64(size) / took.Seconds()
	bdp := rate * int(2*delay/ms) // datagrams in flight that fill the pipe
	t.Logf("%v from the first DATA: goodput %.1f MB/s of %.1f (%.0f%%); %d queue drops, %d lost, %d loss events, %d timeouts, cwnd %d (max %d, pipe %d + queue %d), srtt %v",
		took, goodput/1e6, capacity/1e6, 100*goodput/capacity, n.up.drops, st.Lost, st.LossEvents, st.Timeouts, st.Cwnd, n.maxCwnd, bdp, queue, st.SRTT)
	if n.up.drops == 0 || st.LossEvents == 0 {
		t.Errorf("no loss event (%d queue drops): the window never met the bottleneck", n.up.drops)
	}
	if n.maxCwnd > 4*(bdp+queue) {
		t.Errorf("cwnd reached %d, over 4 times pipe + queue (%d)", n.maxCwnd, bdp+queue)
	}
	if goodput < capacity/2 {
		t.Errorf("goodput %.1f MB/s, under half the %.1f MB/s the link carries", goodput/1e6, capacity/1e6)
	}
}

// TestXSimWindow checks the receiver's flow-control window: the sender
// never sends a fragment Window or more past the cumulative point the
// receiver last told it, even through loss and reordering.
func TestXSimWindow(t *testing.T) {
	const window = 8
	for _, l := range []xlink{{delay: ms}, {delay: ms, loss: .1, reorder: .2, reorderBy: 3 * ms, dup: .05}} {
		t.Run(fmt.Sprint("loss ", l.loss), func(t *testing.T) {
			data := randomBytes(300*100, 7)
			store := newMemStore()
			s := mustXSender(t, SendOptions{FragmentSize: 100}, File("w.bin", bytes.NewReader(data), int64(len(data))))
			in := mustXInbox(t, XInboxConfig{Store: store, Window: window})
			n := newXSim(t, 7, s, in, l, l)
			var cum, most uint32
			var ack wire.Ack
			n.onDeliver = func(toIn bool, b []byte) bool {
				if h, body, err := wire.ParseXHeader(b, true); err == nil && !toIn && h.Type == wire.SACK {
					if wire.ParseAck(body, &ack) == nil && ack.Cum > cum {
						cum = ack.Cum
					}
				}
				return true
			}
			n.onSend = func(toIn bool, b []byte) {
				h, body, err := wire.ParseXHeader(b, true)
				if err != nil || !toIn || h.Type != wire.DATA {
					return
				}
				_, idx, _, err := wire.ParseData(body)
				if err != nil {
					t.Fatal(err)
				}
				if idx >= cum+window {
					t.Errorf("DATA %d sent with the receiver's cumulative point at %d, window %d", idx, cum, window)
				}
				most = max(most, idx-min(idx, cum)+1)
			}
			n.run(time.Minute, n.senderDone)
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(store.files["w.bin"], data) {
				t.Errorf("w.bin did not arrive intact")
			}
			if most != window {
				t.Errorf("at most %d fragments past the cumulative point, want the window used in full (%d)", most, window)
			}
		})
	}
}

// TestXSimMaxBuffered checks that a receiver that may hold only three
// fragments out of order still gets everything through heavy reordering.
func TestXSimMaxBuffered(t *testing.T) {
	const f = 500
	data := randomBytes(200*f, 8)
	store := newMemStore()
	s := mustXSender(t, SendOptions{FragmentSize: f}, File("r.bin", bytes.NewReader(data), int64(len(data))), Text("after"))
	in := mustXInbox(t, XInboxConfig{Store: store, MaxBuffered: 3 * f})
	l := xlink{delay: ms, reorder: .3, reorderBy: 2 * ms, loss: .02}
	n := newXSim(t, 8, s, in, l, l)
	n.run(time.Minute, n.senderDone)
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(store.files["r.bin"], data) {
		t.Errorf("r.bin did not arrive intact")
	}
	if got := xevents(n.iEvents, EventText); len(got) != 1 || got[0].Text != "after" {
		t.Errorf("texts %+v", got)
	}
	st := in.Stats()
	if st.Dropped == 0 {
		t.Errorf("nothing dropped for want of buffer: the test did not test (stats %+v)", st)
	}
	t.Logf("inbox %+v; sender %+v", st, s.Stats())
}

// TestXSimLimits checks MaxSize and MaxText: exactly the limit passes,
// a byte more is refused, and the sender's error says why.
func TestXSimLimits(t *testing.T) {
	const maxSize, maxText = 3000, 100
	tests := []struct {
		name    string
		item    Item
		wantErr error
	}{
		{"file of MaxSize", File("a.bin", bytes.NewReader(make([]byte, maxSize)), maxSize), nil},
		{"file over MaxSize", File("a.bin", bytes.NewReader(make([]byte, maxSize+1)), maxSize+1), ErrTooLarge},
		{"text of MaxText", Text(strings.Repeat("t", maxText)), nil},
		{"text over MaxText", Text(strings.Repeat("t", maxText+1)), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newMemStore()
			s := mustXSender(t, SendOptions{FragmentSize: 700}, tt.item)
			in := mustXInbox(t, XInboxConfig{Store: store, MaxSize: maxSize, MaxText: maxText})
			n := newXSim(t, 9, s, in, xlink{delay: ms}, xlink{delay: ms})
			n.run(time.Minute, n.senderDone)
			err := s.Err()
			if tt.wantErr == nil {
				if err != nil || len(n.sEvents) != 1 {
					t.Fatalf("Err = %v, events %+v", err, n.sEvents)
				}
				if tt.item.IsFile() && len(store.files["a.bin"]) != maxSize {
					t.Errorf("a.bin: %d bytes", len(store.files["a.bin"]))
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !errors.Is(err, ErrRefused) {
				t.Errorf("Err = %v, want ErrRefused and %v", err, tt.wantErr)
			}
			ref := xevents(n.iEvents, EventRefused)
			if len(ref) != 1 || !errors.Is(ref[0].Err, tt.wantErr) || len(store.files) != 0 || store.created != 0 {
				t.Errorf("inbox events %+v, files %v, %d created", n.iEvents, store.names(), store.created)
			}
			if n.frames[wire.DATA] != 0 {
				t.Errorf("%d DATA sent for a refused item", n.frames[wire.DATA])
			}
		})
	}
}

// TestXInboxMaxPeers checks that the session past MaxPeers is refused
// with REJECT busy, and that the ones before go on.
func TestXInboxMaxPeers(t *testing.T) {
	const peers = 3
	in := mustXInbox(t, XInboxConfig{Store: newMemStore(), MaxPeers: peers})
	now := t0
	var welcomes [][]byte
	var senders []*XSender
	addr := func(i int) netip.AddrPort { return netip.AddrPortFrom(alice.Addr(), uint16(4000+i)) }
	for i := range peers + 1 {
		s := mustXSender(t, SendOptions{}, Text(fmt.Sprint("from ", i)))
		senders = append(senders, s)
		from := addr(i)
		hello := s.Tick(now).Datagrams
		if len(hello) != 1 {
			t.Fatalf("sender %d: %d datagrams at start", i, len(hello))
		}
		out := in.Handle(hello[0], from, now)
		if len(out.Datagrams) != 1 || len(out.To) != 1 || out.To[0] != from {
			t.Fatalf("sender %d: answer %d datagrams to %v", i, len(out.Datagrams), out.To)
		}
		h, body, err := wire.ParseXHeader(out.Datagrams[0], true)
		if err != nil {
			t.Fatal(err)
		}
		if i < peers {
			if h.Type != wire.WELCOME {
				t.Errorf("sender %d: %v, want WELCOME", i, h.Type)
			}
			// A transfer in progress: the session cannot be evicted.
			open := s.Handle(out.Datagrams[0], now).Datagrams
			if len(open) != 1 {
				t.Fatalf("sender %d: %d datagrams after WELCOME", i, len(open))
			}
			acc := in.Handle(open[0], from, now)
			if len(acc.Datagrams) != 1 {
				t.Fatalf("sender %d: %d answers to OPEN", i, len(acc.Datagrams))
			}
			welcomes = append(welcomes, slices.Clone(acc.Datagrams[0]))
			continue
		}
		r, err := wire.ParseReject(body)
		if h.Type != wire.REJECT || err != nil || r.Code != wire.CodeBusy {
			t.Fatalf("sender %d: %v %+v, want REJECT busy", i, h.Type, r)
		}
		s.Handle(out.Datagrams[0], now)
		if err := s.Err(); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "too many senders") || s.Legacy() {
			t.Errorf("sender %d: Err = %v, want ErrRefused: too many senders", i, err)
		}
		if len(out.Events) != 1 || out.Events[0].Kind != EventRefused {
			t.Errorf("events %+v, want EventRefused", out.Events)
		}
	}
	if st := in.Stats(); st.Peers != peers || st.PeersRefused != 1 {
		t.Errorf("stats %+v, want %d peers and one refused", st, peers)
	}
	for i, w := range welcomes {
		s := senders[i]
		_, _, ievs := xexchange(t, s, in, addr(i), now, s.Handle(w, now).Datagrams)
		if err := s.Err(); err != nil || len(ievs) != 2 || ievs[0].Text != fmt.Sprint("from ", i) || ievs[0].Peer != addr(i) {
			t.Errorf("sender %d: Err %v, inbox events %+v", i, err, ievs)
		}
	}
	if st := in.Stats(); st.Peers != 0 || st.Texts != peers {
		t.Errorf("stats %+v, want %d texts and no peer left", st, peers)
	}
}

// TestXInboxEvictsIdle checks that a full XInbox makes room for a new
// session by forgetting the idle one silent the longest (a HELLO from a
// spoofed address never goes further).
func TestXInboxEvictsIdle(t *testing.T) {
	in := mustXInbox(t, XInboxConfig{MaxPeers: 2})
	now := t0
	for i := range 3 {
		hello := xframe(0, 0, wire.HELLO, wire.AppendHello(nil, wire.Hello{Version: wire.Version, Token: uint64(i + 1)}))
		out := in.Handle(hello, netip.AddrPortFrom(alice.Addr(), uint16(5000+i)), now.Add(time.Duration(i)*time.Second))
		if h, _ := xanswer(t, out); h.Type != wire.WELCOME {
			t.Errorf("HELLO %d: %v, want WELCOME", i, h.Type)
		}
	}
	if st := in.Stats(); st.Peers != 2 || st.PeersRefused != 0 {
		t.Errorf("stats %+v, want 2 peers, none refused", st)
	}
}

// xframe encodes a plain extended frame.
func xframe(sid, pn uint32, typ wire.Type, body []byte) []byte {
	b := append(wire.AppendXHeader(nil, wire.XHeader{Session: sid, PN: pn, Type: typ}), body...)
	wire.SetCRC(b)
	return b
}

// xanswer returns the one datagram of out, parsed.
func xanswer(t *testing.T, out Output) (wire.XHeader, []byte) {
	t.Helper()
	if len(out.Datagrams) != 1 {
		t.Fatalf("%d datagrams, want one", len(out.Datagrams))
	}
	h, body, err := wire.ParseXHeader(out.Datagrams[0], true)
	if err != nil {
		t.Fatalf("ParseXHeader(%x): %v", out.Datagrams[0], err)
	}
	return h, bytes.Clone(body)
}

func xnone(t *testing.T, what string, out Output, counter *uint64, before uint64) {
	t.Helper()
	if len(out.Datagrams) != 0 || len(out.Events) != 0 {
		t.Errorf("%s: answered %d datagrams, events %+v; want nothing", what, len(out.Datagrams), out.Events)
	}
	if *counter != before+1 {
		t.Errorf("%s: counter went from %d to %d, want +1", what, before, *counter)
	}
}

// TestXInboxByHand feeds an XInbox crafted frames: repeats get the same
// answers, and what does not fit is dropped without a word.
func TestXInboxByHand(t *testing.T) {
	in := mustXInbox(t, XInboxConfig{Store: newMemStore(), Window: 8})
	now := t0
	hello := xframe(0, 0, wire.HELLO, wire.AppendHello(nil, wire.Hello{Version: wire.Version, Token: 77}))
	h, body := xanswer(t, in.Handle(hello, alice, now))
	w, err := wire.ParseWelcome(body)
	if h.Type != wire.WELCOME || err != nil || w.Token != 77 || w.Window != 8 || h.Session == 0 {
		t.Fatalf("answer to HELLO: %+v %+v %v", h, w, err)
	}
	sid := h.Session
	pn := uint32(1)
	send := func(typ wire.Type, body []byte) Output {
		pn++
		return in.Handle(xframe(sid, pn, typ, body), alice, now)
	}
	// A repeated HELLO gets the same WELCOME.
	h2, body2 := xanswer(t, in.Handle(hello, alice, now))
	if h2.Session != sid || h2.Type != wire.WELCOME || !bytes.Equal(body2, body) {
		t.Errorf("repeated HELLO: %+v %x, want the same WELCOME", h2, body2)
	}

	text := []byte("forty bytes of text, sent four at a time")
	open := wire.AppendOpen(nil, wire.Open{TID: 1, Kind: wire.KindText, FragSize: 4, Size: uint64(len(text))})
	h, accept := xanswer(t, send(wire.OPEN, open))
	if a, err := wire.ParseAccept(accept); h.Type != wire.ACCEPT || err != nil || a != (wire.Accept{TID: 1, Window: 8}) {
		t.Fatalf("answer to OPEN: %v %+v %v", h.Type, a, err)
	}
	st := in.Stats()
	h, again := xanswer(t, send(wire.OPEN, open))
	if h.Type != wire.ACCEPT || !bytes.Equal(again, accept) || in.Stats().Repeats != st.Repeats+1 {
		t.Errorf("resent OPEN: %v %x, want the same ACCEPT %x", h.Type, again, accept)
	}
	data := func(tid, idx uint32) []byte {
		b := wire.AppendDataHead(nil, tid, idx)
		if end := min(int(idx+1)*4, len(text)); int(idx)*4 < end {
			b = append(b, text[idx*4:end]...)
		} else {
			b = append(b, "junk"...)
		}
		return b
	}

	st = in.Stats()
	xnone(t, "DATA of an unknown transfer", send(wire.DATA, data(9, 0)), &in.stats.Dropped, st.Dropped)
	st = in.Stats()
	xnone(t, "DATA past the window", send(wire.DATA, data(1, 8)), &in.stats.Dropped, st.Dropped)
	st = in.Stats()
	bad := xframe(sid, 100, wire.DATA, data(1, 0))
	bad[len(bad)-1] ^= 1
	xnone(t, "DATA with a bad crc", in.Handle(bad, alice, now), &in.stats.Malformed, st.Malformed)
	st = in.Stats()
	xnone(t, "DATA from another address", in.Handle(xframe(sid, 101, wire.DATA, data(1, 0)), bob, now), &in.stats.Dropped, st.Dropped)
	st = in.Stats()
	xnone(t, "DATA of another session", in.Handle(xframe(sid+1, 102, wire.DATA, data(1, 0)), alice, now), &in.stats.Dropped, st.Dropped)
	st = in.Stats()
	short := wire.AppendDataHead(nil, 1, 0)
	xnone(t, "DATA a byte short", send(wire.DATA, append(short, "abc"...)), &in.stats.Malformed, st.Malformed)
	st = in.Stats()
	xnone(t, "DATA past the last fragment", send(wire.DATA, data(1, 10)), &in.stats.Malformed, st.Malformed)

	// In order, the fragments are acked in a batch, with Flush.
	for idx := range uint32(10) {
		if out := send(wire.DATA, data(1, idx)); len(out.Datagrams) != 0 {
			t.Errorf("DATA %d in order acked at once", idx)
		}
	}
	h, sack := xanswer(t, in.Flush(now))
	var a wire.Ack
	if err := wire.ParseAck(sack, &a); h.Type != wire.SACK || err != nil || a.TID != 1 || a.Cum != 10 || a.Limit != 18 || a.N != 0 || a.Largest != pn {
		t.Errorf("SACK after all the DATA: %v %+v %v", h.Type, a, err)
	}
	end := wire.End{TID: 1, Sum: sha256.Sum256(text)}
	out := send(wire.END, wire.AppendEnd(nil, end))
	if len(out.Events) != 1 || out.Events[0].Kind != EventText || out.Events[0].Text != string(text) {
		t.Errorf("END: events %+v", out.Events)
	}
	h, done := xanswer(t, out)
	if r, err := wire.ParseResult(done); h.Type != wire.DONE || err != nil || r.TID != 1 || r.Code != wire.CodeOK {
		t.Errorf("answer to END: %v %+v %v", h.Type, r, err)
	}
	out = send(wire.END, wire.AppendEnd(nil, end))
	if h, again := xanswer(t, out); h.Type != wire.DONE || !bytes.Equal(again, done) || len(out.Events) != 0 {
		t.Errorf("resent END: %v %x %+v, want the same DONE %x and no event", h.Type, again, out.Events, done)
	}
	if h, again := xanswer(t, send(wire.OPEN, open)); h.Type != wire.DONE || !bytes.Equal(again, done) {
		t.Errorf("OPEN resent after DONE: %v %x, want the DONE", h.Type, again)
	}
	st = in.Stats()
	xnone(t, "DATA after DONE", send(wire.DATA, data(1, 3)), &in.stats.Duplicates, st.Duplicates)

	// maxXfers transfers at once; the next is refused busy, and so is its
	// repeat.
	for tid := uint32(10); tid < 10+maxXfers; tid++ {
		h, _ := xanswer(t, send(wire.OPEN, wire.AppendOpen(nil, wire.Open{TID: tid, Kind: wire.KindText, FragSize: 4, Size: 8})))
		if h.Type != wire.ACCEPT {
			t.Fatalf("OPEN %d: %v", tid, h.Type)
		}
	}
	busy := wire.AppendOpen(nil, wire.Open{TID: 99, Kind: wire.KindText, FragSize: 4, Size: 8})
	out = send(wire.OPEN, busy)
	h, abort := xanswer(t, out)
	if r, err := wire.ParseResult(abort); h.Type != wire.ABORT || err != nil || r.TID != 99 || r.Code != wire.CodeBusy {
		t.Errorf("OPEN past maxXfers: %v %+v %v", h.Type, r, err)
	}
	if len(out.Events) != 1 || out.Events[0].Kind != EventRefused {
		t.Errorf("events %+v, want EventRefused", out.Events)
	}
	if h, again := xanswer(t, send(wire.OPEN, busy)); h.Type != wire.ABORT || !bytes.Equal(again, abort) {
		t.Errorf("resent OPEN past maxXfers: %v, want the same ABORT", h.Type)
	}
	if in.Active() != maxXfers {
		t.Errorf("Active() = %d, want %d", in.Active(), maxXfers)
	}
	// The sender's CLOSE ends them all.
	out = send(wire.CLOSE, nil)
	if len(xevents(out.Events, EventAborted)) != maxXfers || len(xevents(out.Events, EventEnd)) != 1 || in.Active() != 0 || in.Stats().Peers != 0 {
		t.Errorf("CLOSE: events %+v, active %d", out.Events, in.Active())
	}
}

// xmsg is a datagram between an XSender and an XInbox.
type xmsg struct {
	toIn bool
	b    []byte
}

// xexchange passes first to in, and then every datagram either sends to
// the other at once, with the acks held back flushed, until none is
// left. It returns them all, and the events of both.
func xexchange(t *testing.T, s *XSender, in *XInbox, from netip.AddrPort, now time.Time, first [][]byte) (log []xmsg, sevs, ievs []Event) {
	t.Helper()
	var q []xmsg
	for _, d := range first {
		q = append(q, xmsg{true, slices.Clone(d)})
	}
	for steps := 0; len(q) > 0; steps++ {
		if steps > 10_000 {
			t.Fatal("the exchange does not end")
		}
		m := q[0]
		q = q[1:]
		log = append(log, m)
		if m.toIn {
			out := in.Handle(m.b, from, now)
			ievs = append(ievs, out.Events...)
			for _, d := range out.Datagrams {
				q = append(q, xmsg{false, slices.Clone(d)})
			}
		} else {
			out := s.Handle(m.b, now)
			sevs = append(sevs, out.Events...)
			for _, d := range out.Datagrams {
				q = append(q, xmsg{true, slices.Clone(d)})
			}
		}
		if len(q) == 0 {
			for _, d := range in.Flush(now).Datagrams {
				q = append(q, xmsg{false, slices.Clone(d)})
			}
		}
	}
	return log, sevs, ievs
}

// TestXInboxSealedByHand checks a sealed session against what an
// attacker on the path can send: plain frames, replays of sealed ones,
// damaged ones. None gets an answer, and the session goes on.
func TestXInboxSealedByHand(t *testing.T) {
	s, err := NewXSender(SendOptions{Secret: secret, KeepAlive: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(Text("sealed")); err != nil {
		t.Fatal(err)
	}
	in := mustXInbox(t, XInboxConfig{Secret: secret})
	now := t0
	log, sevs, ievs := xexchange(t, s, in, alice, now, s.Tick(now).Datagrams)
	if len(sevs) != 1 || len(ievs) != 1 || ievs[0].Text != "sealed" || !s.Stats().Sealed {
		t.Fatalf("sender events %+v, inbox events %+v, stats %+v", sevs, ievs, s.Stats())
	}
	sent := map[wire.Type][]byte{}
	for _, m := range log {
		if m.toIn && wire.IsExtended(m.b) {
			sent[wire.Type(m.b[8])] = m.b
		}
	}
	for _, typ := range []wire.Type{wire.HELLO, wire.HANDSHAKE, wire.OPEN, wire.DATA, wire.END} {
		if sent[typ] == nil {
			t.Fatalf("no %v sent", typ)
		}
	}
	if wire.ExtCRCOK(sent[wire.DATA]) || bytes.Contains(sent[wire.DATA], []byte("sealed")) {
		t.Errorf("DATA %x is not sealed", sent[wire.DATA])
	}
	h, _, err := wire.ParseXHeader(sent[wire.OPEN], false)
	if err != nil {
		t.Fatal(err)
	}
	sid := h.Session
	flipped := slices.Clone(sent[wire.DATA])
	flipped[len(flipped)-20] ^= 4
	fresh := func(b []byte) []byte { // the same frame with a packet number never used
		b = slices.Clone(b)
		b[4], b[5] = 0x7f, 0xff
		return b
	}
	plainData := xframe(sid, 1<<20, wire.DATA, append(wire.AppendDataHead(nil, 1, 0), "sealed"...))
	plainOpen := xframe(sid, 1<<20+1, wire.OPEN, wire.AppendOpen(nil, wire.Open{TID: 5, Kind: wire.KindText, FragSize: 4, Size: 1}))
	tests := []struct {
		name    string
		b       []byte
		counter *uint64
	}{
		{"replayed OPEN", sent[wire.OPEN], &in.stats.Duplicates},
		{"replayed DATA", sent[wire.DATA], &in.stats.Duplicates},
		{"replayed END", sent[wire.END], &in.stats.Duplicates},
		{"sealed DATA damaged", flipped, &in.stats.Duplicates},
		{"sealed END with another packet number", fresh(sent[wire.END]), &in.stats.Malformed},
		{"plain DATA", plainData, &in.stats.Malformed},
		{"plain OPEN", plainOpen, &in.stats.Malformed},
		{"plain END", xframe(sid, 1<<20+2, wire.END, wire.AppendEnd(nil, wire.End{TID: 1, Sum: sha256.Sum256([]byte("sealed"))})), &in.stats.Malformed},
	}
	for _, tt := range tests {
		before := *tt.counter
		xnone(t, tt.name, in.Handle(tt.b, alice, now), tt.counter, before)
	}
	// The session is unharmed: a second item goes through.
	if err := s.Enqueue(Text("still sealed")); err != nil {
		t.Fatal(err)
	}
	s.CloseSend()
	_, sevs, ievs = xexchange(t, s, in, alice, now, s.Tick(now).Datagrams)
	if len(sevs) != 1 || len(ievs) != 2 || ievs[0].Text != "still sealed" || ievs[1].Kind != EventEnd || s.Err() != nil || !s.Done() {
		t.Errorf("second item: sender events %+v, inbox events %+v, Err %v", sevs, ievs, s.Err())
	}
	if st := s.Stats(); st.Replays != 0 || st.Items != 2 {
		t.Errorf("sender stats %+v", st)
	}
}

// TestXSenderReplays checks the sender's side: a replayed sealed answer
// is dropped and counted.
func TestXSenderReplays(t *testing.T) {
	s, err := NewXSender(SendOptions{Secret: secret, KeepAlive: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(Text("one")); err != nil {
		t.Fatal(err)
	}
	in := mustXInbox(t, XInboxConfig{Secret: secret})
	now := t0
	log, _, _ := xexchange(t, s, in, alice, now, s.Tick(now).Datagrams)
	var accept []byte
	for _, m := range log {
		if !m.toIn && wire.Type(m.b[8]) == wire.ACCEPT {
			accept = m.b
		}
	}
	if err := s.Enqueue(Text("two")); err != nil {
		t.Fatal(err)
	}
	out := s.Tick(now) // OPEN of "two", not yet answered
	if len(out.Datagrams) != 1 {
		t.Fatalf("%d datagrams, want the OPEN", len(out.Datagrams))
	}
	st := s.Stats()
	out = s.Handle(accept, now) // the ACCEPT of "one", replayed
	if len(out.Datagrams) != 0 || s.Stats().Replays != st.Replays+1 {
		t.Errorf("replayed ACCEPT: %d datagrams sent, replays %d, want none and one", len(out.Datagrams), s.Stats().Replays)
	}
}

// TestXSimResume cuts a file off mid-way, then sends it again: the
// receiver resumes from its partial file, or, if the content changed
// under the same name, size and time, finds out by the SHA-256.
func TestXSimResume(t *testing.T) {
	const f = 1024
	mtime := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	orig := randomBytes(100*f, 10)
	total := int(wire.Fragments(uint64(len(orig)), f))
	changed := func(at int) []byte {
		b := slices.Clone(orig)
		b[at] ^= 1
		return b
	}
	tests := []struct {
		name    string
		cutAt   int // DATA delivered before the cut
		second  []byte
		wantErr error
	}{
		{"same content", total / 2, orig, nil},
		{"changed after the cut", total / 2, changed(len(orig) - 5), nil},
		{"changed before the cut", total / 2, changed(5), ErrIntegrity},
		{"cut before END", total, orig, nil},
		{"cut before END, changed", total, changed(len(orig) - 5), ErrIntegrity},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			store, err := OpenStore(dir, StoreOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			in := mustXInbox(t, XInboxConfig{Store: store})
			item := func(b []byte) Item {
				return File("resume.bin", bytes.NewReader(b), int64(len(b))).WithModTime(mtime)
			}

			// First: cut off after half the fragments.
			s := mustXSender(t, SendOptions{FragmentSize: f}, item(orig))
			n := newXSim(t, uint64(i), s, in, xlink{delay: ms}, xlink{delay: ms})
			dats := 0
			n.onDeliver = func(toIn bool, b []byte) bool {
				if toIn && wire.Type(b[8]) == wire.DATA {
					if dats++; dats == tt.cutAt {
						n.cut = true
					}
				}
				return true
			}
			n.run(time.Minute, func() bool { return len(xevents(n.iEvents, EventGone)) > 0 })
			if gone := xevents(n.iEvents, EventGone); len(gone) != 1 || gone[0].Name != "resume.bin" {
				t.Fatalf("events %+v, want EventGone of resume.bin", n.iEvents)
			}
			names := xlistDir(t, dir)
			if len(names) != 1 || !strings.HasPrefix(names[0], ".netkit-r-") || !strings.HasSuffix(names[0], ".part") {
				t.Fatalf("after the cut the folder holds %v, want one .netkit-r-*.part", names)
			}
			part, err := os.Stat(filepath.Join(dir, names[0]))
			if err != nil || part.Size() == 0 || part.Size()%f != 0 || part.Size() > int64(len(orig)) {
				t.Fatalf("partial file: %v, %v", part.Size(), err)
			}

			// Then again, with the same name, size and time.
			s2 := mustXSender(t, SendOptions{FragmentSize: f}, item(tt.second))
			n2 := newXSim(t, uint64(i)+100, s2, in, xlink{delay: ms}, xlink{delay: ms})
			n2.now = n.now.Add(time.Second)
			n2.run(time.Minute, n2.senderDone)
			st := s2.Stats()
			if st.Resumed != part.Size() || in.Stats().Resumed != uint64(part.Size()) {
				t.Errorf("resumed %d bytes (inbox %d), want the partial file's %d", st.Resumed, in.Stats().Resumed, part.Size())
			}
			if want := total - int(part.Size()/f); n2.frames[wire.DATA] != want {
				t.Errorf("%d DATA sent, want %d of %d", n2.frames[wire.DATA], want, total)
			}
			names = xlistDir(t, dir)
			if tt.wantErr != nil {
				if err := s2.Err(); !errors.Is(err, tt.wantErr) || !errors.Is(err, ErrRefused) {
					t.Errorf("Err = %v, want %v", err, tt.wantErr)
				}
				if failed := xevents(n2.iEvents, EventFailed); len(failed) != 1 || !errors.Is(failed[0].Err, tt.wantErr) {
					t.Errorf("inbox events %+v, want EventFailed wrapping %v", n2.iEvents, tt.wantErr)
				}
				if len(names) != 0 {
					t.Errorf("the folder holds %v, want nothing", names)
				}
				return
			}
			if err := s2.Err(); err != nil {
				t.Fatal(err)
			}
			if st.Bytes != int64(len(orig))-part.Size() {
				t.Errorf("sender counts %d bytes, want %d", st.Bytes, int64(len(orig))-part.Size())
			}
			got, err := os.ReadFile(filepath.Join(dir, "resume.bin"))
			if err != nil || !bytes.Equal(got, tt.second) {
				t.Errorf("resume.bin: %d bytes, %v; want the %d sent", len(got), err, len(tt.second))
			}
			if len(names) != 1 {
				t.Errorf("the folder holds %v, want resume.bin alone", names)
			}
		})
	}
}

func xlistDir(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// xpattern is an io.ReaderAt of any size that repeats a few bytes.
type xpattern struct{}

func (xpattern) ReadAt(p []byte, off int64) (int, error) {
	for i := range p {
		p[i] = byte(off + int64(i))
	}
	return len(p), nil
}

// xfifo is a queue of datagrams in buffers allocated once.
type xfifo struct {
	bufs      [][]byte
	head, len int
}

func newXFifo(n int) *xfifo {
	q := &xfifo{bufs: make([][]byte, n)}
	for i := range q.bufs {
		q.bufs[i] = make([]byte, 0, wire.MaxExtFrame)
	}
	return q
}

func (q *xfifo) push(b []byte) {
	if q.len == len(q.bufs) {
		panic("xfifo full")
	}
	i := (q.head + q.len) % len(q.bufs)
	q.bufs[i] = append(q.bufs[i][:0], b...)
	q.len++
}

func (q *xfifo) pop() []byte {
	b := q.bufs[q.head]
	q.head = (q.head + 1) % len(q.bufs)
	q.len--
	return b
}

// TestXHotPathAllocs checks that the steady state of a transfer
// allocates nothing: the XInbox taking a DATA in order (and now and then
// sending a SACK), the XSender taking a SACK and sending the DATA it
// makes room for.
func TestXHotPathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	const window = 512
	s := mustXSender(t, SendOptions{Window: window}, File("big.bin", xpattern{}, 1<<40))
	in := mustXInbox(t, XInboxConfig{Store: discardStore{}, MaxSize: -1, Window: window})
	now := t0
	toIn, toS := newXFifo(4*window), newXFifo(64)
	var deadline time.Time
	sender := func(o Output) {
		for _, d := range o.Datagrams {
			toIn.push(d)
		}
		deadline = o.Deadline
	}
	inbox := func(o Output) {
		for _, d := range o.Datagrams {
			toS.push(d)
		}
	}
	// step moves one datagram to the XInbox and its answers to the
	// XSender; the fake clock goes on a microsecond.
	step := func() {
		now = now.Add(time.Microsecond)
		if toIn.len == 0 {
			if !deadline.IsZero() && now.Before(deadline) {
				now = deadline
			}
			sender(s.Tick(now))
			inbox(in.Flush(now))
		}
		if toIn.len > 0 {
			inbox(in.Handle(toIn.pop(), alice, now))
		}
		for toS.len > 0 {
			sender(s.Handle(toS.pop(), now))
		}
	}
	for range 200_000 { // past slow start, the window full
		step()
	}
	if s.Err() != nil || s.Stats().Cwnd != window {
		t.Fatalf("not in the steady state: Err %v, stats %+v", s.Err(), s.Stats())
	}
	done := s.Progress().Done
	if n := testing.AllocsPerRun(10_000, step); n != 0 {
		t.Errorf("%v allocations per DATA through both machines, want 0", n)
	}
	if moved := s.Progress().Done - done; moved < 9_000*wire.MaxData {
		t.Errorf("only %d bytes acked while measuring", moved)
	}
}

// TestXSimHelloLoss loses the first two HELLOs on their way to a
// receiver that speaks the extended protocol: the sender must not take it
// for a legacy one (plain) or give up (sealed) for so little.
func TestXSimHelloLoss(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		t.Run(fmt.Sprint("sealed=", sealed), func(t *testing.T) {
			o, cfg := SendOptions{}, XInboxConfig{}
			if sealed {
				o.Secret, cfg.Secret = secret, secret
			}
			s := mustXSender(t, o, Text("late"))
			n := newXSim(t, 11, s, mustXInbox(t, cfg), xlink{delay: ms}, xlink{delay: ms})
			n.lin = NewInbox(InboxConfig{}) // as a Receiver has both
			hellos := 0
			n.onDeliver = func(toIn bool, b []byte) bool {
				if toIn && wire.IsExtended(b) && wire.Type(b[8]) == wire.HELLO {
					hellos++
					return hellos > 2
				}
				return true
			}
			n.run(time.Minute, n.senderDone)
			if err := s.Err(); err != nil || s.Legacy() || len(n.iEvents) == 0 || n.iEvents[0].Text != "late" {
				t.Errorf("Err = %v, legacy %v, events %+v; want the text through the extended protocol", err, s.Legacy(), n.iEvents)
			}
		})
	}
}

// TestXSimLostReject loses the REJECT that tells a sender its secret is
// wrong.
func TestXSimLostReject(t *testing.T) {
	s := mustXSender(t, SendOptions{Secret: "open sesame", Timeout: 3 * time.Second}, Text("psst"))
	in := mustXInbox(t, XInboxConfig{Secret: secret})
	n := newXSim(t, 12, s, in, xlink{delay: ms}, xlink{delay: ms})
	rejects := 0
	n.onDeliver = func(toIn bool, b []byte) bool {
		if !toIn && wire.Type(b[8]) == wire.REJECT {
			rejects++
			return rejects > 1
		}
		return true
	}
	n.run(time.Minute, n.senderDone)
	if got := xevents(n.iEvents, EventRefused); len(got) != 1 || !errors.Is(got[0].Err, ErrBadSecret) {
		t.Errorf("inbox events %+v, want EventRefused: ErrBadSecret", n.iEvents)
	}
	if err := s.Err(); !errors.Is(err, ErrBadSecret) {
		t.Errorf("a lost wrong-secret REJECT must be sent again: the XInbox forgot the session, so when that one "+
			"datagram is lost the sender's repeated HANDSHAKE is dropped, and the sender fails %v later with %v, not ErrBadSecret "+
			"(%d REJECTs sent)", n.sDoneAt.Sub(t0), err, rejects)
	}
}

// xfailReader reads data, but fails at offset at: with err, or short
// (a file that shrank) when err is nil.
type xfailReader struct {
	data []byte
	at   int64
	err  error
}

func (r xfailReader) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	if off < r.at {
		n = copy(p, r.data[off:min(r.at, int64(len(r.data)))])
	}
	if n == len(p) {
		return n, nil
	}
	if r.err == nil {
		return n, io.EOF
	}
	return n, r.err
}

// TestXSimFailures checks the transfers that fail on one side or the
// other: each side learns why, and nothing is stored.
func TestXSimFailures(t *testing.T) {
	errDisk := errors.New("disk on fire")
	data := randomBytes(600<<10, 13)
	tests := []struct {
		name      string
		item      Item
		store     *memStore // nil: none
		abortAt   int       // the sender's user aborts after this many DATA
		refuse    bool
		wantErr   []error
		wantMsg   string
		wantEvent EventKind
		inboxErr  error
	}{
		{name: "read error", item: File("a.bin", xfailReader{data, 400 << 10, errDisk}, int64(len(data))),
			wantErr: []error{errDisk}, wantEvent: EventAborted, inboxErr: ErrAborted, wantMsg: "disk on fire"},
		{name: "file shrank", item: File("a.bin", xfailReader{data, 300 << 10, nil}, int64(len(data))),
			wantErr: []error{ErrChanged}, wantEvent: EventAborted, inboxErr: ErrAborted, wantMsg: "changed"},
		{name: "disk full", item: File("a.bin", bytes.NewReader(data), int64(len(data))), store: &memStore{files: map[string][]byte{}, open: map[*memSink]bool{}, failName: "*", failAfter: 100 << 10},
			wantErr: []error{ErrRefused}, wantMsg: "no space left", wantEvent: EventFailed, inboxErr: syscall.ENOSPC},
		{name: "user abort", item: File("a.bin", bytes.NewReader(data), int64(len(data))), abortAt: 100,
			wantErr: []error{errDisk}, wantEvent: EventAborted, inboxErr: ErrAborted, wantMsg: "disk on fire"},
		{name: "shutting down", item: Text("hi"), refuse: true,
			wantErr: []error{ErrRefused}, wantMsg: "shutting down", wantEvent: EventRefused, inboxErr: ErrShuttingDown},
		{name: "no store", item: File("a.bin", bytes.NewReader(data), int64(len(data))), store: nil,
			wantErr: []error{ErrRefused}, wantMsg: "takes no files", wantEvent: EventRefused, inboxErr: ErrRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := XInboxConfig{}
			store := tt.store
			if store == nil && tt.name != "no store" {
				store = newMemStore()
			}
			if store != nil {
				cfg.Store = store
			}
			s := mustXSender(t, SendOptions{}, tt.item, Text("never sent"))
			in := mustXInbox(t, cfg)
			if tt.refuse {
				in.Refuse(ErrShuttingDown)
			}
			n := newXSim(t, 13, s, in, xlink{delay: ms}, xlink{delay: ms})
			var sent []wire.Type
			n.onSend = func(toIn bool, b []byte) {
				if toIn {
					sent = append(sent, wire.Type(b[8]))
				}
				if toIn && tt.abortAt > 0 && wire.Type(b[8]) == wire.DATA && n.frames[wire.DATA] == tt.abortAt {
					n.fromSender(s.Abort(errDisk))
				}
			}
			n.run(time.Minute, n.senderDone)
			err := s.Err()
			for _, w := range tt.wantErr {
				if !errors.Is(err, w) {
					t.Errorf("Err = %v, want %v", err, w)
				}
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Err = %v, want it to say %q", err, tt.wantMsg)
			}
			evs := xevents(n.iEvents, tt.wantEvent)
			if len(evs) != 1 || !errors.Is(evs[0].Err, tt.inboxErr) || len(xevents(n.iEvents, EventText)) != 0 {
				t.Errorf("inbox events %+v, want one %v wrapping %v", n.iEvents, tt.wantEvent, tt.inboxErr)
			}
			if store != nil && (len(store.files) != 0 || store.openCount() != 0) {
				t.Errorf("files %v stored, %d open", store.names(), store.openCount())
			}
			if in.Active() != 0 {
				t.Errorf("%d transfers active", in.Active())
			}
			if in.Stats().Peers != 0 {
				t.Errorf("after the receiver refused or failed a transfer (ABORT), the XSender must end the session with CLOSE; "+
					"sending no CLOSE (sent %v): the XInbox keeps the session until its Timeout and then reports a spurious EventGone", sent[max(0, len(sent)-3):])
			}
		})
	}
}

// TestXSimKeepAlive checks an idle session: PING and PONG keep it up,
// and a receiver that goes quiet is found out Timeout after its last
// PONG.
func TestXSimKeepAlive(t *testing.T) {
	const keepAlive, timeout = time.Second, 3 * time.Second
	s, err := NewXSender(SendOptions{KeepAlive: keepAlive, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(Text("then idle")); err != nil {
		t.Fatal(err)
	}
	in := mustXInbox(t, XInboxConfig{Timeout: 2 * keepAlive})
	n := newXSim(t, 14, s, in, xlink{delay: ms}, xlink{delay: ms})
	n.run(time.Minute, func() bool { return n.now.Sub(t0) >= 20*time.Second })
	if err := s.Err(); err != nil || s.Done() || in.Stats().Peers != 1 {
		t.Fatalf("Err %v, done %v, peers %d", err, s.Done(), in.Stats().Peers)
	}
	if k := n.frames[wire.PING]; k < 18 || k > 20 {
		t.Errorf("%d PINGs in 20s, want one a second", k)
	}
	if st := s.Stats(); st.KeepAlives != uint64(n.frames[wire.PING]) {
		t.Errorf("stats count %d keep-alives, %d PINGs sent", st.KeepAlives, n.frames[wire.PING])
	}
	n.quiet = true
	n.run(time.Minute, n.senderDone)
	if !errors.Is(s.Err(), ErrPeerGone) {
		t.Fatalf("Err = %v, want ErrPeerGone", s.Err())
	}
	if got := n.sDoneAt.Sub(n.lastToSender); got < timeout || got > timeout+keepAlive {
		t.Errorf("gave up %v after the last PONG, want %v to %v", got, timeout, timeout+keepAlive)
	}
}

// TestXInboxTwoSenders runs two sessions through one XInbox at once:
// the acks it holds back go out together, each to its own sender.
func TestXInboxTwoSenders(t *testing.T) {
	store := newMemStore()
	in := mustXInbox(t, XInboxConfig{Store: store})
	type peer struct {
		addr netip.AddrPort
		s    *XSender
		name string
		data []byte
	}
	peers := []*peer{
		{addr: alice, name: "a.bin", data: randomBytes(50_000, 21)},
		{addr: bob, name: "b.bin", data: randomBytes(70_000, 22)},
	}
	type dgram struct {
		from, to netip.AddrPort // to the XInbox when to is zero
		b        []byte
	}
	var q []dgram
	now := t0
	peerOf := func(a netip.AddrPort) *peer {
		for _, p := range peers {
			if p.addr == a {
				return p
			}
		}
		t.Fatalf("a datagram to %v", a)
		return nil
	}
	fromInbox := func(out Output, from netip.AddrPort) (to map[netip.AddrPort]bool) {
		to = map[netip.AddrPort]bool{}
		if len(out.To) != len(out.Datagrams) {
			t.Fatalf("%d datagrams, %d destinations", len(out.Datagrams), len(out.To))
		}
		for i, d := range out.Datagrams {
			if from.IsValid() && out.To[i] != from {
				t.Errorf("the answer to %v goes to %v", from, out.To[i])
			}
			to[out.To[i]] = true
			q = append(q, dgram{to: out.To[i], b: slices.Clone(d)})
		}
		return to
	}
	for i, p := range peers {
		p.s = mustXSender(t, SendOptions{FragmentSize: 700 + 300*i}, File(p.name, bytes.NewReader(p.data), int64(len(p.data))))
		for _, d := range p.s.Tick(now).Datagrams {
			q = append(q, dgram{from: p.addr, b: slices.Clone(d)})
		}
	}
	both := 0
	for steps := 0; ; steps++ {
		if steps > 100_000 {
			t.Fatal("no end")
		}
		if len(q) == 0 {
			if peers[0].s.Done() && peers[1].s.Done() {
				break
			}
			now = now.Add(ms)
			if len(fromInbox(in.Flush(now), netip.AddrPort{})) == 2 {
				both++
			}
			for _, p := range peers {
				for _, d := range p.s.Tick(now).Datagrams {
					q = append(q, dgram{from: p.addr, b: slices.Clone(d)})
				}
			}
			continue
		}
		d := q[0]
		q = q[1:]
		if !d.to.IsValid() {
			fromInbox(in.Handle(d.b, d.from, now), d.from)
			continue
		}
		p := peerOf(d.to)
		for _, b := range p.s.Handle(d.b, now).Datagrams {
			q = append(q, dgram{from: p.addr, b: slices.Clone(b)})
		}
	}
	for _, p := range peers {
		if err := p.s.Err(); err != nil {
			t.Errorf("%s: %v", p.name, err)
		}
		if !bytes.Equal(store.files[p.name], p.data) {
			t.Errorf("%s did not arrive intact", p.name)
		}
	}
	if both == 0 {
		t.Errorf("no Flush acked both sessions at once: the test did not test")
	}
	if st := in.Stats(); st.Files != 2 || st.Peers != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestXInboxHugeOpen offers a receiver without a size limit a file of
// 2^64-1 bytes: it cannot be counted in fragments, and must be refused.
func TestXInboxHugeOpen(t *testing.T) {
	in := mustXInbox(t, XInboxConfig{Store: newMemStore(), MaxSize: -1})
	now := t0
	hello := xframe(0, 0, wire.HELLO, wire.AppendHello(nil, wire.Hello{Version: wire.Version, Token: 1}))
	h, _ := xanswer(t, in.Handle(hello, alice, now))
	open := wire.AppendOpen(nil, wire.Open{TID: 1, Kind: wire.KindFile, FragSize: 2, Size: 1<<64 - 1, Name: "huge.bin"})
	out := in.Handle(xframe(h.Session, 1, wire.OPEN, open), alice, now)
	if len(out.Datagrams) == 0 {
		return // dropped as malformed
	}
	if h, _ := xanswer(t, out); h.Type == wire.ACCEPT {
		end := wire.AppendEnd(nil, wire.End{TID: 1, Sum: sha256.Sum256(nil)})
		out = in.Handle(xframe(h.Session, 2, wire.END, end), alice, now)
		t.Errorf("wire.ParseOpen must refuse an OPEN of 2^64-1 bytes in fragments of 2 (wire.Fragments overflowed to 0), "+
			"and an XInbox with no MaxSize takes it as a transfer of 0 fragments: END then stores an empty file: events %+v", out.Events)
	}
}

// TestXInboxRefusesBadNames sends OPENs whose names would lead out of the
// folder, or onto the store's own files, to an XInbox on a real Store:
// each is refused with ABORT (code refused) and nothing is written.
func TestXInboxRefusesBadNames(t *testing.T) {
	dir := t.TempDir()
	store, err := OpenStore(dir, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	in := mustXInbox(t, XInboxConfig{Store: store})
	hello := xframe(0, 0, wire.HELLO, wire.AppendHello(nil, wire.Hello{Version: wire.Version, Token: 9}))
	h, _ := xanswer(t, in.Handle(hello, alice, t0))
	names := []string{"../escape", "..", ".", "/etc/passwd", "a/b", `a\b`, "nul\x00byte", "ctl\x1bname", ".netkit-r-abc.part", ".netkit-1234.part", "\xff\xfe"}
	for i, name := range names {
		open := wire.AppendOpen(nil, wire.Open{TID: uint32(i + 1), Kind: wire.KindFile, FragSize: 100, Size: 10, Name: name})
		out := in.Handle(xframe(h.Session, uint32(i+1), wire.OPEN, open), alice, t0)
		ah, body := xanswer(t, out)
		r, err := wire.ParseResult(body)
		if ah.Type != wire.ABORT || err != nil || r.Code != wire.CodeRefused {
			t.Errorf("OPEN %q: %v %+v, want ABORT refused", name, ah.Type, r)
		}
	}
	if got := listDir(t, dir); len(got) != 0 {
		t.Errorf("the folder holds %q", got)
	}
	if in.Active() != 0 {
		t.Errorf("%d transfers active", in.Active())
	}
}
