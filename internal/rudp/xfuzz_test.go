package rudp

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/rudp/wire"
)

// The fuzz targets of the extended state machines run a real XSender
// against a real XInbox over a network the fuzzer drives: each byte of
// the input is one step, delivering, dropping, duplicating or damaging
// the next datagram either way, letting time pass, or injecting a
// datagram made of the input's bytes (with the live session's id, and a
// good crc when asked, so that it reaches the code behind the checks).
// After every step both machines are checked against their limits, and
// at the end nothing is left open and nothing was stored outside the
// inbox or past its limits.

// Limits of the XInbox under fuzzing: small, so that the fuzzer reaches
// them.
const (
	fuzzMaxText     = 64
	fuzzMaxSize     = 4096
	fuzzMaxPeers    = 2
	fuzzMaxPerAddr  = 2
	fuzzWindow      = 16
	fuzzMaxBuffered = 2048
	fuzzMaxPartials = 2
	fuzzPartBytes   = 8192
	fuzzFragSize    = 100
	fuzzSteps       = 4096 // steps of an input, at most
	fuzzDrainSteps  = 4096 // steps after the input, to let the machines settle
)

// fuzzFile and fuzzText are what the XSender sends.
var (
	fuzzFile = randomBytes(3000, 11)
	fuzzText = "a text under fuzz"
)

// cachedKeys makes deriveKey cheap for the fuzz targets: one key per
// passphrase, whatever the salt, which both sides share as they would
// the real derivation.
func cachedKeys(tb testing.TB) {
	real := deriveKey
	deriveKey = func(pass string, salt []byte) ([32]byte, error) {
		keyCache.Lock()
		defer keyCache.Unlock()
		if k, ok := keyCache.keys[pass]; ok {
			return k, nil
		}
		k, err := real(pass, salt)
		if err == nil {
			keyCache.keys[pass] = k
		}
		return k, err
	}
	tb.Cleanup(func() { deriveKey = real })
}

var keyCache = struct {
	sync.Mutex
	keys map[string][32]byte
}{keys: map[string][32]byte{}}

// countingStore is a ResumableStore that counts its sinks still open.
type countingStore struct {
	*Store
	mu   sync.Mutex
	open int
}

type countingSink struct {
	ResumableSink
	s    *countingStore
	done bool
}

func (c *countingStore) wrap(k FileSink, err error) (FileSink, error) {
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.open++
	c.mu.Unlock()
	return &countingSink{ResumableSink: k.(ResumableSink), s: c}, nil
}

func (c *countingStore) Create(name string) (FileSink, error) { return c.wrap(c.Store.Create(name)) }

func (c *countingStore) Resume(name, key string) (FileSink, int64, error) {
	k, have, err := c.Store.Resume(name, key)
	sink, err := c.wrap(k, err)
	return sink, have, err
}

func (c *countingStore) openSinks() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.open
}

func (k *countingSink) end() {
	if k.done {
		panic("a sink ended twice")
	}
	k.done = true
	k.s.mu.Lock()
	k.s.open--
	k.s.mu.Unlock()
}

func (k *countingSink) Commit() (string, error) { k.end(); return k.ResumableSink.Commit() }
func (k *countingSink) Abort() error            { k.end(); return k.ResumableSink.Abort() }
func (k *countingSink) Suspend() error          { k.end(); return k.ResumableSink.Suspend() }

// xfuzz is one run: the two machines, the datagrams in flight each way,
// the fake clock, and what each side reported.
type xfuzz struct {
	t       *testing.T
	sealed  bool
	s       *XSender
	in      *XInbox
	store   *countingStore
	parent  string // the inbox is parent/inbox; nothing else may appear
	now     time.Time
	up      [][]byte // sender to inbox
	down    [][]byte // inbox to sender
	iEvents []Event
	sEvents []Event
}

func newXFuzz(t *testing.T, sealed bool) *xfuzz {
	parent := t.TempDir()
	dir := filepath.Join(parent, "inbox")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := OpenStore(dir, StoreOptions{MaxSize: fuzzMaxSize, MaxPartials: fuzzMaxPartials, MaxPartialBytes: fuzzPartBytes})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	n := &xfuzz{t: t, sealed: sealed, store: &countingStore{Store: st}, parent: parent, now: t0}
	cfg := XInboxConfig{
		Store: n.store, MaxText: fuzzMaxText, MaxSize: fuzzMaxSize, Timeout: time.Second,
		MaxPeers: fuzzMaxPeers, MaxPerAddr: fuzzMaxPerAddr, IdleEvict: 500 * time.Millisecond,
		Window: fuzzWindow, MaxBuffered: fuzzMaxBuffered,
	}
	opt := SendOptions{FragmentSize: fuzzFragSize, Timeout: 2 * time.Second, KeepAlive: 300 * time.Millisecond}
	if sealed {
		cfg.Secret, opt.Secret = secret, secret
	}
	n.in = mustXInbox(t, cfg)
	n.s = mustXSender(t, opt, Text(fuzzText), File("f.bin", bytes.NewReader(fuzzFile), int64(len(fuzzFile))))
	n.fromSender(n.s.Tick(n.now))
	return n
}

// fromSender checks what the XSender sent and puts it on the way.
func (n *xfuzz) fromSender(out Output) {
	n.t.Helper()
	for _, d := range out.Datagrams {
		if len(d) > wire.MaxExtFrame {
			n.t.Fatalf("sender sent %d bytes", len(d))
		}
		if !wire.IsExtended(d) {
			if _, err := wire.Parse(d); err != nil || !n.s.Legacy() {
				n.t.Fatalf("sender sent %x (legacy %v): %v", d, n.s.Legacy(), err)
			}
			continue // to nobody: the fuzzed receiver is extended
		}
		h, _, err := wire.ParseXHeader(d, false)
		if err != nil {
			n.t.Fatalf("sender sent %x: %v", d, err)
		}
		switch h.Type {
		case wire.HELLO, wire.HANDSHAKE, wire.OPEN, wire.DATA, wire.END, wire.ABORT, wire.PING, wire.CLOSE:
		default:
			n.t.Fatalf("sender sent a %v", h.Type)
		}
		if !n.sealed || !h.Type.Sealable() {
			if _, _, err := wire.ParseXHeader(d, true); err != nil {
				n.t.Fatalf("sender sent %v with a bad crc", h.Type)
			}
		}
		n.up = append(n.up, bytes.Clone(d))
	}
	n.sEvents = append(n.sEvents, out.Events...)
	n.checkSender()
}

// fromInbox checks what the XInbox sent and puts what goes to the
// sender on the way.
func (n *xfuzz) fromInbox(out Output) {
	n.t.Helper()
	if len(out.To) != len(out.Datagrams) {
		n.t.Fatalf("%d datagrams, %d addresses", len(out.Datagrams), len(out.To))
	}
	for i, d := range out.Datagrams {
		if len(d) > wire.MaxExtFrame {
			n.t.Fatalf("inbox sent %d bytes", len(d))
		}
		h, _, err := wire.ParseXHeader(d, false)
		if err != nil {
			n.t.Fatalf("inbox sent %x: %v", d, err)
		}
		switch h.Type {
		case wire.WELCOME, wire.REJECT, wire.HANDSHAKE, wire.ACCEPT, wire.SACK, wire.DONE, wire.ABORT, wire.PONG, wire.CLOSE:
		default:
			n.t.Fatalf("inbox sent a %v", h.Type)
		}
		if out.To[i] == alice {
			n.down = append(n.down, bytes.Clone(d))
		}
	}
	for _, ev := range out.Events {
		n.checkEvent(ev)
	}
	n.iEvents = append(n.iEvents, out.Events...)
	n.checkInbox()
}

// checkEvent checks a text or file the inbox delivered: the SHA-256 of
// every transfer is checked, so it must be what the sender sent (or
// empty, whose SHA-256 a forger can know).
func (n *xfuzz) checkEvent(ev Event) {
	n.t.Helper()
	switch ev.Kind {
	case EventText:
		if len(ev.Text) > fuzzMaxText || ev.Text != fuzzText && ev.Text != "" {
			n.t.Fatalf("text %q delivered", ev.Text)
		}
	case EventFile:
		if _, err := wire.SanitizeName(ev.Path); err != nil || strings.ContainsAny(ev.Path, `/\`) {
			n.t.Fatalf("file stored as %q: %v", ev.Path, err)
		}
		b, err := os.ReadFile(filepath.Join(n.parent, "inbox", ev.Path))
		if err != nil || !bytes.Equal(b, fuzzFile) && len(b) != 0 {
			n.t.Fatalf("file %q stored with %d bytes (%v), not the %d sent", ev.Path, len(b), err, len(fuzzFile))
		}
	}
}

// checkInbox checks the XInbox's limits.
func (n *xfuzz) checkInbox() {
	n.t.Helper()
	in := n.in
	active := 0
	if len(in.sessions) > fuzzMaxPeers {
		n.t.Fatalf("%d sessions, over %d", len(in.sessions), fuzzMaxPeers)
	}
	for ip, c := range in.perAddr {
		if c > fuzzMaxPerAddr || c <= 0 {
			n.t.Fatalf("%d sessions from %v", c, ip)
		}
	}
	for _, s := range in.sessions {
		if len(s.xfers) > maxXfers {
			n.t.Fatalf("%d transfers in a session", len(s.xfers))
		}
		active += len(s.xfers)
		for _, x := range s.xfers {
			if x.open.Kind == wire.KindText && x.open.Size > fuzzMaxText || x.open.Kind == wire.KindFile && x.open.Size > fuzzMaxSize {
				n.t.Fatalf("a %c transfer of %d bytes accepted, over the limit", x.open.Kind, x.open.Size)
			}
			if len(x.text) > fuzzMaxText || x.bytes > fuzzMaxSize || x.cum > x.count || x.high > x.count {
				n.t.Fatalf("transfer holds %d text bytes, %d bytes, cum %d high %d of %d", len(x.text), x.bytes, x.cum, x.high, x.count)
			}
		}
	}
	if in.buffered < 0 || in.buffered > fuzzMaxBuffered+wire.MaxData {
		n.t.Fatalf("%d bytes buffered, limit %d", in.buffered, fuzzMaxBuffered)
	}
	if active != in.Active() || n.store.openSinks() > active {
		n.t.Fatalf("%d transfers, Active %d, %d files open", active, in.Active(), n.store.openSinks())
	}
}

// checkSender checks the XSender's bookkeeping.
func (n *xfuzz) checkSender() {
	n.t.Helper()
	s := n.s
	if s.inflight < 0 || s.cwnd < 1 || s.cwnd > float64(max(DefaultWindow, initialCwnd)) {
		n.t.Fatalf("in flight %d, cwnd %v", s.inflight, s.cwnd)
	}
	if p := s.Progress(); p.Done < 0 || p.Done > p.Size {
		n.t.Fatalf("progress %d of %d", p.Done, p.Size)
	}
	if x := s.x; x != nil {
		if x.cum > x.next || x.next > x.count || x.base > x.cum || s.inflight > int(x.window) {
			n.t.Fatalf("base %d cum %d next %d count %d, %d in flight of a window of %d", x.base, x.cum, x.next, x.count, s.inflight, x.window)
		}
	}
}

// deliverUp hands the next datagram to the inbox, from alice.
func (n *xfuzz) deliverUp(d []byte, from bool) {
	addr := alice
	if from {
		addr = bob
	}
	n.fromInbox(n.in.Handle(d, addr, n.now))
}

func (n *xfuzz) deliverDown(d []byte) {
	done := n.s.Done()
	out := n.s.Handle(d, n.now)
	if done && len(out.Datagrams) > 0 {
		n.t.Fatalf("sender sent %d datagrams after its end", len(out.Datagrams))
	}
	n.fromSender(out)
}

// tick lets d pass and ticks both machines when due.
func (n *xfuzz) tick(d time.Duration) {
	n.now = n.now.Add(d)
	n.fromInbox(n.in.Tick(n.now))
	if !n.s.Done() {
		n.fromSender(n.s.Tick(n.now))
	}
}

// pop takes the first datagram of q.
func pop(q *[][]byte) []byte {
	if len(*q) == 0 {
		return nil
	}
	d := (*q)[0]
	*q = (*q)[1:]
	return d
}

// forge makes a datagram of b: the live session's id when asked, and a
// good crc when asked.
func (n *xfuzz) forge(b []byte, sid, crc bool) []byte {
	d := bytes.Clone(b)
	if sid && len(d) >= 4 {
		id := n.s.sid
		d[0], d[1], d[2], d[3] = byte(id>>24), byte(id>>16), byte(id>>8), byte(id)
	}
	if crc && len(d) >= wire.HeaderLen {
		wire.SetCRC(d)
	}
	return d
}

// step runs one step chosen by op, reading its arguments from rest; it
// returns how many bytes of rest it used.
func (n *xfuzz) step(op byte, rest []byte, toSender bool) int {
	arg := func(i int) byte {
		if i < len(rest) {
			return rest[i]
		}
		return 0
	}
	switch op % 8 {
	case 0, 1: // deliver the next datagram each way
		if d := pop(&n.up); d != nil {
			n.deliverUp(d, false)
		}
		if d := pop(&n.down); d != nil {
			n.deliverDown(d)
		}
		return 0
	case 2: // lose the next datagram one way
		if arg(0)&1 == 0 {
			pop(&n.up)
		} else {
			pop(&n.down)
		}
		return 1
	case 3: // deliver one twice
		if arg(0)&1 == 0 && len(n.up) > 0 {
			n.deliverUp(n.up[0], false)
		} else if len(n.down) > 0 {
			n.deliverDown(n.down[0])
		}
		return 1
	case 4: // damage a byte of the next one, good crc or not, and deliver it
		q := &n.up
		if toSender {
			q = &n.down
		}
		if len(*q) == 0 {
			return 3
		}
		d := bytes.Clone((*q)[0])
		d[int(arg(0))%len(d)] ^= arg(1) | 1
		d = n.forge(d, false, arg(2)&1 == 1)
		if toSender {
			n.deliverDown(d)
		} else {
			n.deliverUp(d, arg(2)&2 != 0)
		}
		return 3
	case 5: // time passes
		n.tick(time.Duration(arg(0)) * 5 * time.Millisecond)
		return 1
	default: // inject a datagram of the input's bytes
		if len(rest) < 2 {
			return len(rest)
		}
		size := min(int(rest[0]), len(rest)-2)
		flags := rest[1]
		d := n.forge(rest[2:2+size], flags&1 == 1, flags&2 == 2)
		if toSender {
			n.deliverDown(d)
		} else {
			n.deliverUp(d, flags&4 == 4)
		}
		return 2 + size
	}
}

// run plays input, then lets the machines settle on a clean network, then
// closes the inbox and checks that nothing is left open or misplaced.
func (n *xfuzz) run(input []byte, toSender bool) {
	steps := 0
	for i := 0; i < len(input) && steps < fuzzSteps; steps++ {
		i += 1 + n.step(input[i], input[i+1:], toSender)
	}
	for range fuzzDrainSteps {
		switch {
		case len(n.up) > 0 || len(n.down) > 0:
			n.step(0, nil, false)
		case n.s.Done():
			n.finish()
			return
		default:
			n.tick(50 * time.Millisecond)
		}
	}
	n.finish()
}

func (n *xfuzz) finish() {
	n.t.Helper()
	n.tick(time.Minute) // every session times out
	n.fromInbox(n.in.Close(wire.CodeShutdown, ErrServerClosed))
	if n.in.Active() != 0 || n.store.openSinks() != 0 || len(n.in.sessions) != 0 || n.in.buffered != 0 {
		n.t.Fatalf("after Close: %d active, %d files open, %d sessions, %d bytes buffered", n.in.Active(), n.store.openSinks(), len(n.in.sessions), n.in.buffered)
	}
	// A sealed session cannot be forged: the sender reports delivered
	// only what the inbox delivered.
	if n.sealed {
		for _, ev := range n.sEvents {
			if !delivered(n.iEvents, ev) {
				n.t.Fatalf("the sender reports %v %q delivered, the inbox did not", ev.Kind, ev.Name)
			}
		}
	}
	n.checkFolder()
}

func delivered(evs []Event, want Event) bool {
	for _, ev := range evs {
		if ev.Kind == want.Kind && ev.Text == want.Text && ev.Name == want.Name {
			return true
		}
	}
	return false
}

// checkFolder checks that nothing was written outside the inbox, and
// that the inbox holds only plain files within the limits: stored ones
// under names SanitizeName accepts, and at most fuzzMaxPartials partial
// files of fuzzPartBytes in all.
func (n *xfuzz) checkFolder() {
	n.t.Helper()
	entries, err := os.ReadDir(n.parent)
	if err != nil || len(entries) != 1 || entries[0].Name() != "inbox" {
		n.t.Fatalf("beside the inbox: %v (%v)", entries, err)
	}
	var partials int
	var partBytes int64
	err = filepath.WalkDir(filepath.Join(n.parent, "inbox"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if filepath.Base(path) != "inbox" {
				return errors.New("a folder in the inbox: " + path)
			}
			return nil
		}
		info, err := d.Info()
		if err != nil || !info.Mode().IsRegular() {
			return errors.New("not a regular file: " + path)
		}
		name := d.Name()
		if strings.HasPrefix(name, tempPrefix) {
			partials++
			partBytes += info.Size()
			return nil
		}
		if _, err := wire.SanitizeName(name); err != nil {
			return err
		}
		if info.Size() > fuzzMaxSize {
			return errors.New("over MaxSize: " + name)
		}
		return nil
	})
	if err != nil {
		n.t.Fatal(err)
	}
	if partials > fuzzMaxPartials || partBytes > fuzzPartBytes {
		n.t.Fatalf("%d partial files of %d bytes, limits %d and %d", partials, partBytes, fuzzMaxPartials, fuzzPartBytes)
	}
}

// seedXFuzz adds seeds: a clean run, one with loss and damage each way,
// one with time passing, and injections of real frame shapes.
func seedXFuzz(f *testing.F) {
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0}, 200))
	f.Add([]byte{0, 2, 0, 0, 2, 1, 0, 3, 0, 0, 4, 5, 7, 1, 0, 5, 200, 0, 0, 3, 1, 0, 4, 20, 1, 1, 0})
	f.Add([]byte{0, 0, 5, 255, 5, 255, 5, 255, 0, 0, 0})
	hello := xframe(0, 0, wire.HELLO, wire.AppendHello(nil, wire.Hello{Version: wire.Version, Token: 7}))
	open := xframe(0, 1, wire.OPEN, wire.AppendOpen(nil, wire.Open{TID: 1, Kind: wire.KindFile, FragSize: 100, Size: 300, Name: "../x"}))
	data := xframe(0, 2, wire.DATA, append(wire.AppendDataHead(nil, 1, 0), bytes.Repeat([]byte{'d'}, 100)...))
	sack := xframe(0, 3, wire.SACK, wire.AppendAck(nil, &wire.Ack{TID: 1, Cum: 5, Largest: 9}))
	for _, fr := range [][]byte{hello, open, data, sack} {
		in := append([]byte{0, 0, 0, 7, byte(len(fr)), 3}, fr...)
		f.Add(append(in, 0, 0, 0, 0))
	}
}

func fuzzX(f *testing.F, sealed, toSender bool) {
	cachedKeys(f)
	seedXFuzz(f)
	f.Fuzz(func(t *testing.T, input []byte) {
		newXFuzz(t, sealed).run(input, toSender)
	})
}

// FuzzXInbox fuzzes what reaches an XInbox, plain.
func FuzzXInbox(f *testing.F) { fuzzX(f, false, false) }

// FuzzXInboxSealed fuzzes what reaches an XInbox, sealed.
func FuzzXInboxSealed(f *testing.F) { fuzzX(f, true, false) }

// FuzzXSender fuzzes what reaches an XSender, plain.
func FuzzXSender(f *testing.F) { fuzzX(f, false, true) }

// FuzzXSenderSealed fuzzes what reaches an XSender, sealed.
func FuzzXSenderSealed(f *testing.F) { fuzzX(f, true, true) }

// TestXFuzzHarness checks that the fuzz harness carries a transfer: on a
// clean network both items arrive, plain and sealed, so the fuzz targets
// start from sessions that work.
func TestXFuzzHarness(t *testing.T) {
	cachedKeys(t)
	for _, sealed := range []bool{false, true} {
		n := newXFuzz(t, sealed)
		n.run(nil, false)
		if err := n.s.Err(); !n.s.Done() || err != nil {
			t.Fatalf("sealed %v: sender done %v, Err %v", sealed, n.s.Done(), err)
		}
		if len(xevents(n.iEvents, EventText)) != 1 || len(xevents(n.iEvents, EventFile)) != 1 {
			t.Errorf("sealed %v: inbox events %+v, want the text and the file", sealed, n.iEvents)
		}
	}
}
