package rudp

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/rudp/wire"
)

// step is one datagram handed to an Inbox (or, with tick, a Tick), and
// what must come of it.
type step struct {
	from   netip.AddrPort // alice if zero
	at     time.Duration  // after t0
	in     []byte         // nil: Tick
	want   []byte         // the answer; nil: none
	events []EventKind
}

var (
	fin     = wire.Append(nil, wire.Fin())
	kpa     = wire.Append(nil, wire.KeepAlive())
	zeroAck = wire.Append(nil, wire.AckFor(wire.KeepAlive()))
)

func ack(b []byte) []byte {
	f, err := wire.Parse(b)
	if err != nil {
		panic(err)
	}
	return wire.Append(nil, wire.AckFor(f))
}

func nack(b []byte) []byte {
	f, _ := wire.Parse(b)
	return wire.Append(nil, wire.NackFor(f))
}

func damaged(b []byte) []byte {
	b = bytes.Clone(b)
	wire.Corrupt(b, 5)
	return b
}

// play runs steps against in and checks each answer and event.
func play(t *testing.T, in *Inbox, steps []step) []Event {
	t.Helper()
	var all []Event
	for i, st := range steps {
		from := st.from
		if !from.IsValid() {
			from = alice
		}
		var out Output
		if st.in == nil {
			out = in.Tick(t0.Add(st.at))
		} else {
			out = in.Handle(st.in, from, t0.Add(st.at))
		}
		var got []byte
		switch len(out.Datagrams) {
		case 0:
		case 1:
			got = out.Datagrams[0]
		default:
			t.Fatalf("step %d: %d answers", i, len(out.Datagrams))
		}
		if !bytes.Equal(got, st.want) {
			t.Errorf("step %d (%s): answer %s, want %s", i, describe(st.in), describe(got), describe(st.want))
		}
		var kinds []EventKind
		for _, ev := range out.Events {
			kinds = append(kinds, ev.Kind)
			all = append(all, ev)
		}
		if fmt.Sprint(kinds) != fmt.Sprint(st.events) {
			t.Errorf("step %d (%s): events %v, want %v (%+v)", i, describe(st.in), kinds, st.events, out.Events)
		}
	}
	return all
}

// describe names an encoded frame for a test message.
func describe(b []byte) string {
	if b == nil {
		return "nothing"
	}
	f, err := wire.Parse(b)
	if err != nil && !errors.Is(err, wire.ErrCRC) {
		return fmt.Sprintf("junk %x", b)
	}
	s := fmt.Sprintf("%v %d/%d size %d %q", f.Type, f.Seq, f.Count, f.Size, f.Data)
	if err != nil {
		s += " (damaged)"
	}
	return s
}

// file returns the frames of a file transfer at fragment size f: the INF,
// then the DATs, name first.
func file(name, content string, f int) (inf []byte, dats [][]byte) {
	return transferFrames(wire.KindFile, name, content, f)
}

func text(s string, f int) (inf []byte, dats [][]byte) {
	return transferFrames(wire.KindText, "", s, f)
}

func transferFrames(kind byte, name, content string, f int) ([]byte, [][]byte) {
	p, err := wire.NewPlan(kind, name, int64(len(content)), f)
	if err != nil {
		// For names NewPlan refuses, build the frames by hand.
		nf := (len(name) + f - 1) / f
		cf := (len(content) + f - 1) / f
		p = wire.Plan{Kind: kind, FragSize: f, NameFrames: uint32(nf), Count: uint32(nf + cf)}
	}
	inf := wire.Append(nil, p.Info())
	var dats [][]byte
	all := name + content
	for i := 0; i < len(name); i += f {
		d := name[i:min(i+f, len(name))]
		dats = append(dats, enc(wire.DAT, uint32(len(dats)+1), p.Count, uint16(len(d)), d))
	}
	for i := 0; i < len(content); i += f {
		d := content[i:min(i+f, len(content))]
		dats = append(dats, enc(wire.DAT, uint32(len(dats)+1), p.Count, uint16(len(d)), d))
	}
	_ = all
	return inf, dats
}

func TestInboxRepeatsAndDuplicates(t *testing.T) {
	store := newMemStore()
	in := NewInbox(InboxConfig{Store: store})
	inf, d := file("a.txt", "hello world", 4) // 2 name + 3 content frames
	play(t, in, []step{
		{in: inf, want: ack(inf)},
		{in: inf, want: ack(inf)}, // its ACK was lost: no restart
		{in: d[0], want: ack(d[0])},
		{in: inf, want: ack(inf)},   // a late duplicate of the INF
		{in: d[0], want: ack(d[0])}, // resent after a lost ACK: not stored twice
		{in: d[2], want: nil},       // ahead of its turn: dropped
		{in: damaged(d[1]), want: nack(damaged(d[1]))},
		{in: d[1], want: ack(d[1])},
		{in: d[2], want: ack(d[2])},
		{in: d[3], want: ack(d[3])},
		{in: d[2], want: ack(d[2])},
		{in: d[4], want: ack(d[4]), events: []EventKind{EventFile}},
		{in: d[4], want: ack(d[4])}, // the last ACK was lost
		{in: d[1], want: ack(d[1])},
		{in: kpa, want: zeroAck},
		{in: fin, events: []EventKind{EventEnd}},
		{in: d[4]}, // the session is over
	})
	if got := string(store.files["a.txt"]); got != "hello world" || len(store.files) != 1 {
		t.Errorf("stored %q (%d files), want \"hello world\"", got, len(store.files))
	}
	st := in.Stats()
	if st.Duplicates != 4 || st.Repeats != 2 || st.NACKs != 1 || st.Files != 1 || st.Bytes != 11 || st.Peers != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestInboxNewTransfers(t *testing.T) {
	store := newMemStore()
	in := NewInbox(InboxConfig{Store: store})
	infA, a := file("a.bin", "aaaaaaaa", 4)
	infB, b := file("b.bin", "bbbb", 4)
	infT, tt := text("same text", 4)
	infT2, tt2 := text("more text", 4) // the same INF as infT
	empty, _ := text("", 4)
	events := play(t, in, []step{
		{in: infA, want: ack(infA)},
		{in: a[0], want: ack(a[0])},
		{in: a[1], want: ack(a[1])},
		{in: a[2], want: ack(a[2])},
		// Another INF: a.bin is dropped, b.bin starts.
		{in: infB, want: ack(infB), events: []EventKind{EventAborted}},
		{in: a[3]}, // a stale frame of a.bin
		{in: b[0], want: ack(b[0])},
		{in: b[1], want: ack(b[1])},
		{in: b[2], want: ack(b[2]), events: []EventKind{EventFile}},
		// Two texts with identical INFs, one after the other: both count.
		{in: infT, want: ack(infT)},
		{in: tt[0], want: ack(tt[0])},
		{in: tt[1], want: ack(tt[1])},
		{in: tt[2], want: ack(tt[2]), events: []EventKind{EventText}},
		{in: infT2, want: ack(infT2)},
		{in: tt[2], want: ack(tt[2])}, // the first text's last DAT, resent: not the second's
		{in: tt2[0], want: ack(tt2[0])},
		{in: tt2[1], want: ack(tt2[1])},
		{in: tt2[2], want: ack(tt2[2]), events: []EventKind{EventText}},
		// An empty text is complete at its INF; its repeat is not a new one.
		{in: empty, want: ack(empty), events: []EventKind{EventText}},
		{in: empty, want: ack(empty)},
	})
	var texts []string
	for _, ev := range events {
		if ev.Kind == EventText {
			texts = append(texts, ev.Text)
		}
		if ev.Kind == EventAborted && (ev.Name != "a.bin" || !errors.Is(ev.Err, ErrAborted) || ev.Size != 4) {
			t.Errorf("aborted event %+v", ev)
		}
	}
	if fmt.Sprint(texts) != "[same text more text ]" {
		t.Errorf("texts %q", texts)
	}
	if store.names()[0] != "b.bin" || len(store.files) != 1 || store.openCount() != 0 {
		t.Errorf("files %v, %d open", store.names(), store.openCount())
	}
}

// TestInboxPhantom plays the legacy protocol's blind spot: a duplicate of
// the last INF delayed past the end of its transfer starts a phantom
// transfer. The sender's resend of the last DAT (its ACK was lost) must
// still be ACKed, and the next INF must replace the phantom.
func TestInboxPhantom(t *testing.T) {
	store := newMemStore()
	in := NewInbox(InboxConfig{Store: store})
	inf, d := text("abcdefgh", 4)
	inf2, d2 := text("xyz", 4)
	play(t, in, []step{
		{in: inf, want: ack(inf)},
		{in: d[0], want: ack(d[0])},
		{in: d[1], want: ack(d[1]), events: []EventKind{EventText}},
		{in: inf, want: ack(inf)},   // the delayed duplicate: a phantom begins
		{in: d[1], want: ack(d[1])}, // the resend of the last DAT
		{in: inf2, want: ack(inf2)},
		{in: d2[0], want: ack(d2[0]), events: []EventKind{EventText}},
	})
	if in.Active() != 0 {
		t.Errorf("%d transfers active", in.Active())
	}
}

func TestInboxRefusals(t *testing.T) {
	long := strings.Repeat("n", wire.MaxName+1)
	tests := []struct {
		name    string
		cfg     InboxConfig
		file    string
		content string
		f       int
		refuse  int // the index of the frame answered with FIN: -1 the INF
		want    error
	}{
		{"dot dot slash", InboxConfig{}, "../x", "data", 4, 0, wire.ErrBadName},
		{"absolute", InboxConfig{}, "/etc/passwd", "data", 4, 2, wire.ErrBadName},
		{"slash", InboxConfig{}, "a/b", "data", 4, 0, wire.ErrBadName},
		{"backslash", InboxConfig{}, `a\b`, "data", 4, 0, wire.ErrBadName},
		{"NUL", InboxConfig{}, "a\x00b", "data", 4, 0, wire.ErrBadName},
		{"control", InboxConfig{}, "a\x1bb", "data", 4, 0, wire.ErrBadName},
		{"dot dot", InboxConfig{}, "..", "data", 4, 0, wire.ErrBadName},
		{"not UTF-8", InboxConfig{}, "a\xffb", "data", 4, 0, wire.ErrBadName},
		{"too long in one frame", InboxConfig{}, long, "data", 1445, 0, wire.ErrBadName},
		{"too long in frames", InboxConfig{}, long, "data", 1, -1, wire.ErrBadName},
		{"file at the limit", InboxConfig{MaxSize: 8}, "f", "12345678", 4, 99, nil},
		{"file over the limit by its count", InboxConfig{MaxSize: 8}, "f", "123456789", 4, -1, ErrTooLarge},
		{"file over the limit as written", InboxConfig{MaxSize: 10}, "f", "123456789012", 4, 3, ErrTooLarge},
		{"text at the limit", InboxConfig{MaxText: 8}, "", "12345678", 4, 99, nil},
		{"text over the limit by its count", InboxConfig{MaxText: 8}, "", "123456789", 4, -1, ErrTooLarge},
		{"text over the limit as written", InboxConfig{MaxText: 10}, "", "123456789012", 4, 2, ErrTooLarge},
		{"no store", InboxConfig{}, "nostore", "x", 4, -1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newMemStore()
			if tt.name != "no store" {
				tt.cfg.Store = store
			}
			in := NewInbox(tt.cfg)
			kind := byte(wire.KindFile)
			if tt.file == "" {
				kind = wire.KindText
			}
			inf, dats := transferFrames(kind, tt.file, tt.content, tt.f)
			frames := append([][]byte{inf}, dats...)
			var refused *Event
			for i, b := range frames {
				out := in.Handle(b, alice, t0)
				for _, ev := range out.Events {
					if ev.Kind == EventRefused {
						refused = &ev
					}
				}
				want := ack(b)
				if i-1 == tt.refuse {
					want = fin
				}
				if len(out.Datagrams) != 1 || !bytes.Equal(out.Datagrams[0], want) {
					t.Fatalf("frame %d (%s): answer %x, want %s", i, describe(b), out.Datagrams, describe(want))
				}
				if i-1 == tt.refuse {
					// Every repeat is refused too, and the rest as well.
					for _, again := range [][]byte{b, frames[len(frames)-1]} {
						if out := in.Handle(again, alice, t0); len(out.Datagrams) != 1 || !bytes.Equal(out.Datagrams[0], fin) {
							t.Errorf("repeat of %s: answer %x, want FIN", describe(again), out.Datagrams)
						}
					}
					break
				}
			}
			switch {
			case tt.refuse == 99 && refused != nil:
				t.Errorf("refused: %v", refused.Err)
			case tt.refuse != 99 && refused == nil:
				t.Errorf("not refused")
			case tt.refuse != 99 && tt.want != nil && !errors.Is(refused.Err, tt.want):
				t.Errorf("refused with %v, want %v", refused.Err, tt.want)
			}
			if store.openCount() != 0 || in.Active() != 0 {
				t.Errorf("%d files open, %d transfers active", store.openCount(), in.Active())
			}
			if tt.refuse != 99 && len(store.files) != 0 {
				t.Errorf("stored %v", store.names())
			}
		})
	}
}

// TestInboxWriteError checks that a failing write aborts only its own
// transfer: the sender is told with FIN, the other sender carries on.
func TestInboxWriteError(t *testing.T) {
	store := newMemStore()
	store.failName, store.failAfter = "full.bin", 4
	in := NewInbox(InboxConfig{Store: store})
	infA, a := file("full.bin", "0123456789", 4)
	infB, b := file("ok.bin", "0123456789", 4)
	events := play(t, in, []step{
		{from: alice, in: infA, want: ack(infA)},
		{from: bob, in: infB, want: ack(infB)},
		{from: alice, in: a[0], want: ack(a[0])},
		{from: alice, in: a[1], want: ack(a[1])},
		{from: alice, in: a[2], want: ack(a[2])},
		{from: bob, in: b[0], want: ack(b[0])},
		{from: bob, in: b[1], want: ack(b[1])},
		{from: alice, in: a[3], want: fin, events: []EventKind{EventFailed}},
		{from: bob, in: b[2], want: ack(b[2])},
		{from: alice, in: a[3], want: fin},
		{from: bob, in: b[3], want: ack(b[3])},
		{from: bob, in: b[4], want: ack(b[4]), events: []EventKind{EventFile}},
	})
	if ev := events[0]; ev.Peer != alice || ev.Name != "full.bin" || !strings.Contains(ev.Err.Error(), "no space") {
		t.Errorf("failure event %+v", ev)
	}
	if store.names()[0] != "ok.bin" || len(store.files) != 1 || store.openCount() != 0 {
		t.Errorf("files %v, %d open", store.names(), store.openCount())
	}
}

func TestInboxPeers(t *testing.T) {
	in := NewInbox(InboxConfig{MaxPeers: 2, Timeout: 10 * time.Second, Store: newMemStore()})
	carol := netip.MustParseAddrPort("192.0.2.3:6000")
	inf, d := file("x.bin", "0123456789", 4)
	events := play(t, in, []step{
		{from: alice, in: d[0]}, // no transfer: dropped
		{from: alice, in: kpa, want: zeroAck},
		{from: alice, in: inf, want: ack(inf)},
		{from: bob, at: time.Second, in: inf, want: ack(inf)},
		{from: carol, in: inf, want: fin}, // a third peer, none idle: refused
		{from: alice, at: 2 * time.Second, in: d[0], want: ack(d[0])},
		{from: alice, at: 2 * time.Second, in: d[1], want: ack(d[1])},
		{from: alice, at: 2 * time.Second, in: d[2], want: ack(d[2])},
		{at: 11 * time.Second, events: []EventKind{EventGone}}, // bob: silent 10 s
		{from: carol, at: 11 * time.Second, in: inf, want: ack(inf)},
		{from: alice, at: 11 * time.Second, in: kpa, want: zeroAck},
		{at: 20 * time.Second},
		{at: 21 * time.Second, events: []EventKind{EventGone, EventGone}},
	})
	if ev := events[0]; ev.Peer != bob || !errors.Is(ev.Err, ErrPeerGone) || ev.Name != "" {
		t.Errorf("bob's event %+v", ev)
	}
	for _, ev := range events[1:] {
		if ev.Peer == alice && (ev.Name != "x.bin" || ev.Size != 4) {
			t.Errorf("alice's event %+v: want the partial file named", ev)
		}
	}
	st := in.Stats()
	if st.PeersRefused != 1 || st.Gone != 3 || st.Peers != 0 || st.Active != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestInboxRefuseAndClose(t *testing.T) {
	store := newMemStore()
	in := NewInbox(InboxConfig{Store: store})
	infA, a := file("a.bin", "0123456789", 4)
	infB, _ := file("b.bin", "0123456789", 4)
	play(t, in, []step{
		{from: alice, in: infA, want: ack(infA)},
		{from: alice, in: a[0], want: ack(a[0])},
	})
	in.Refuse(ErrShuttingDown)
	events := play(t, in, []step{
		{from: bob, in: infB, want: fin, events: []EventKind{EventRefused}},
		{from: alice, in: a[1], want: ack(a[1])}, // goes on
	})
	if !errors.Is(events[0].Err, ErrShuttingDown) {
		t.Errorf("refused with %v", events[0].Err)
	}
	out := in.Close(ErrServerClosed)
	if len(out.Events) != 1 || out.Events[0].Kind != EventAborted || !errors.Is(out.Events[0].Err, ErrServerClosed) {
		t.Errorf("Close events %+v", out.Events)
	}
	if store.openCount() != 0 || in.Active() != 0 || in.Stats().Peers != 0 {
		t.Errorf("after Close: %d open, %d active", store.openCount(), in.Active())
	}
}
