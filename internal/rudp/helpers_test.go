package rudp

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/rudp/wire"
)

// t0 is the fake clock's start.
var t0 = time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)

var (
	alice = netip.MustParseAddrPort("192.0.2.1:4000")
	bob   = netip.MustParseAddrPort("192.0.2.2:5000")
)

// memStore is a FileStore in memory. A sink whose name is failName (any,
// when failName is "*") fails its writes with ENOSPC once failAfter bytes
// are in.
type memStore struct {
	mu        sync.Mutex
	files     map[string][]byte
	open      map[*memSink]bool
	failName  string
	failAfter int
	created   int
}

func newMemStore() *memStore {
	return &memStore{files: map[string][]byte{}, open: map[*memSink]bool{}}
}

type memSink struct {
	s    *memStore
	name string
	buf  bytes.Buffer
	fail bool
}

func (m *memStore) Create(name string) (FileSink, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.created++
	k := &memSink{s: m, name: name, fail: m.failName == "*" || (m.failName != "" && m.failName == name)}
	m.open[k] = true
	return k, nil
}

func (k *memSink) Write(p []byte) (int, error) {
	if k.fail && k.buf.Len()+len(p) > k.s.failAfter {
		return 0, fmt.Errorf("write %s: %w", k.name, syscall.ENOSPC)
	}
	return k.buf.Write(p)
}

func (k *memSink) Commit() (string, error) {
	k.s.mu.Lock()
	defer k.s.mu.Unlock()
	delete(k.s.open, k)
	name := k.name
	for i := 1; k.s.files[name] != nil; i++ {
		name = suffixed(k.name, i)
	}
	k.s.files[name] = slices.Clip(k.buf.Bytes())
	if k.s.files[name] == nil {
		k.s.files[name] = []byte{}
	}
	return name, nil
}

func (k *memSink) Abort() error {
	k.s.mu.Lock()
	defer k.s.mu.Unlock()
	delete(k.s.open, k)
	return nil
}

func (m *memStore) openCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.open)
}

func (m *memStore) names() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var names []string
	for n := range m.files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// netem is what the simulated network does to datagrams, one way.
type netem struct {
	loss, dup, corrupt float64
	// delay is every datagram's; jitter, up to which each gets more, at
	// random, reorders datagrams sent close together. Keep it below
	// 2*delay, the shortest round trip: a stop-and-wait sender never has
	// two frames in flight further apart than that, bar retransmissions.
	delay, jitter time.Duration
}

// packet is a datagram in flight in a simNet.
type packet struct {
	at    time.Time
	n     int // order of sending, to keep the sort stable
	toIn  bool
	bytes []byte
}

// simNet runs a Sender and an Inbox against each other over a simulated
// network with a fake clock: deterministic for a seed, and as fast as the
// CPU allows.
type simNet struct {
	t        testing.TB
	rng      *rand.Rand
	up, down netem
	now      time.Time
	inflight []packet
	sent     int
	s        *Sender
	in       *Inbox
	sDead    time.Time
	iDead    time.Time
	events   []Event // from the Inbox
	sevents  []Event // from the Sender
	wire     [][]byte
	record   bool
}

func newSim(t testing.TB, seed uint64, s *Sender, in *Inbox, up, down netem) *simNet {
	return &simNet{t: t, rng: rand.New(rand.NewPCG(seed, seed^0x5eed)), up: up, down: down, now: t0, s: s, in: in}
}

func (n *simNet) transmit(toIn bool, datagrams [][]byte) {
	im := n.down
	if toIn {
		im = n.up
	}
	for _, d := range datagrams {
		if n.record {
			n.wire = append(n.wire, slices.Clone(d))
		}
		if n.rng.Float64() < im.loss {
			continue
		}
		copies := 1
		if n.rng.Float64() < im.dup {
			copies = 2
		}
		for range copies {
			b := slices.Clone(d)
			if n.rng.Float64() < im.corrupt {
				wire.Corrupt(b, n.rng.IntN(8*len(b)))
			}
			at := n.now.Add(im.delay)
			if im.jitter > 0 {
				at = at.Add(time.Duration(n.rng.Int64N(int64(im.jitter))))
			}
			n.sent++
			n.inflight = append(n.inflight, packet{at: at, n: n.sent, toIn: toIn, bytes: b})
		}
	}
	sort.Slice(n.inflight, func(i, j int) bool {
		a, b := n.inflight[i], n.inflight[j]
		if !a.at.Equal(b.at) {
			return a.at.Before(b.at)
		}
		return a.n < b.n
	})
}

func (n *simNet) fromSender(o Output) {
	n.sDead = o.Deadline
	n.sevents = append(n.sevents, slices.Clone(o.Events)...)
	n.transmit(true, o.Datagrams)
}

func (n *simNet) fromInbox(o Output) {
	n.iDead = o.Deadline
	n.events = append(n.events, slices.Clone(o.Events)...)
	n.transmit(false, o.Datagrams)
}

// run runs until the Sender is done and the network is quiet, or limit of
// fake time has passed, and returns the fake time it took.
func (n *simNet) run(limit time.Duration) time.Duration {
	n.t.Helper()
	n.fromSender(n.s.Tick(n.now))
	end := t0.Add(limit)
	for steps := 0; ; steps++ {
		if steps > 10_000_000 {
			n.t.Fatalf("simulation did not settle after %d steps", steps)
		}
		next := n.sDead
		if n.s.Done() {
			next = time.Time{}
		}
		if len(n.inflight) > 0 {
			next = earliest(next, n.inflight[0].at)
		}
		if n.s.Done() && len(n.inflight) == 0 {
			return n.now.Sub(t0)
		}
		if next.IsZero() {
			n.t.Fatalf("simulation stalled at %v: sender idle with no deadline", n.now.Sub(t0))
		}
		if next.After(end) {
			n.t.Fatalf("simulation ran past %v: sender state %v, stats %+v", limit, n.s.state, n.s.Stats())
		}
		n.now = next
		// Expiries first, as a driver whose timer fired would.
		if !n.iDead.IsZero() && !n.now.Before(n.iDead) {
			n.fromInbox(n.in.Tick(n.now))
		}
		if len(n.inflight) > 0 && !n.inflight[0].at.After(n.now) {
			p := n.inflight[0]
			n.inflight = n.inflight[1:]
			if p.toIn {
				n.fromInbox(n.in.Handle(p.bytes, alice, n.now))
			} else {
				n.fromSender(n.s.Handle(p.bytes, n.now))
			}
			continue
		}
		if !n.s.Done() && !n.now.Before(n.sDead) {
			n.fromSender(n.s.Tick(n.now))
		}
	}
}

// mustSender returns a Sender with o, holding items, closed for sending.
func mustSender(t testing.TB, o SendOptions, items ...Item) *Sender {
	t.Helper()
	s, err := NewSender(o)
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

// randomBytes returns n reproducible random bytes.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// frameOf parses b, failing the test if it is not a valid frame.
func frameOf(t testing.TB, b []byte) wire.Frame {
	t.Helper()
	f, err := wire.Parse(b)
	if err != nil {
		t.Fatalf("Parse(%x): %v", b, err)
	}
	return f
}

// enc encodes a frame built from its fields.
func enc(typ wire.Type, seq, count uint32, size uint16, data string) []byte {
	f := wire.Frame{Header: wire.Header{Seq: seq, Count: count, Size: size, Type: typ}}
	if data != "" {
		f.Data = []byte(data)
	}
	return wire.Append(nil, f)
}
