package rudp

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/rudp/wire"
)

// squatter returns the address of the i-th sender of an attacker on one
// IP address.
func squatter(i int) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr("198.51.100.7"), uint16(20000+i))
}

// TestInboxOneAddressCannotTakeEverySlot replays the attack of 256
// legacy senders from one address, each sending one INF and then a
// keep-alive every 3 s: they must not lock another sender out.
func TestInboxOneAddressCannotTakeEverySlot(t *testing.T) {
	in := NewInbox(InboxConfig{Store: newMemStore()})
	inf, dats := file("squat.bin", "0123456789", 4)
	now := t0
	admitted := 0
	for i := range DefaultMaxPeers {
		out := in.Handle(inf, squatter(i), now)
		if len(out.Datagrams) == 1 && bytes.Equal(out.Datagrams[0], ack(inf)) {
			admitted++
		}
	}
	if admitted != DefaultMaxPerAddr {
		t.Errorf("%d senders from one address admitted, want %d (MaxPerAddr)", admitted, DefaultMaxPerAddr)
	}
	for range 4 {
		now = now.Add(3 * time.Second)
		for i := range DefaultMaxPeers {
			in.Handle(kpa, squatter(i), now)
		}
		in.Tick(now)
	}
	// Another sender gets through, and its file is stored.
	out := in.Handle(inf, bob, now)
	if len(out.Datagrams) != 1 || !bytes.Equal(out.Datagrams[0], ack(inf)) {
		t.Fatalf("answer to another address's INF: %d datagrams %x, want its ACK", len(out.Datagrams), out.Datagrams)
	}
	for _, d := range dats {
		in.Handle(d, bob, now)
	}
	if st := in.Stats(); st.Files != 1 {
		t.Errorf("stats %+v, want bob's file stored", st)
	}
}

// TestInboxEvictsIdle checks that a full Inbox evicts the peer that has
// moved no data the longest (keep-alives do not count), telling it with
// FIN, and that a peer moving data is never evicted.
func TestInboxEvictsIdle(t *testing.T) {
	store := newMemStore()
	in := NewInbox(InboxConfig{Store: store, MaxPeers: 2, IdleEvict: 5 * time.Second})
	carol := netip.MustParseAddrPort("192.0.2.3:6000")
	dave := netip.MustParseAddrPort("192.0.2.4:7000")
	inf, dats := file("x.bin", "0123456789", 4)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	in.Handle(inf, alice, at(0)) // alice: one INF, then keep-alives only
	in.Handle(inf, bob, at(1))   // bob: sends data
	for s := 2; s <= 8; s++ {
		in.Handle(kpa, alice, at(s))
		if s-2 < len(dats)-1 {
			in.Handle(dats[s-2], bob, at(s))
		}
	}
	out := in.Handle(inf, carol, at(8))
	if len(out.Datagrams) != 2 || out.To[0] != alice || !bytes.Equal(out.Datagrams[0], fin) || out.To[1] != carol || !bytes.Equal(out.Datagrams[1], ack(inf)) {
		t.Fatalf("carol's INF: sent %d datagrams to %v, want FIN to alice (idle 8 s) and carol's ACK", len(out.Datagrams), out.To)
	}
	if st := in.Stats(); st.Evicted != 1 || st.Peers != 2 || st.Active != 2 || store.openCount() != 1 {
		t.Errorf("stats %+v, %d files open; want alice evicted, bob and carol active", st, store.openCount())
	}
	// Bob moved data a moment ago: dave cannot take his place.
	out = in.Handle(inf, dave, at(9))
	if len(out.Datagrams) != 1 || out.To[0] != dave || !bytes.Equal(out.Datagrams[0], fin) {
		t.Errorf("dave's INF: %d datagrams to %v, want only FIN to dave", len(out.Datagrams), out.To)
	}
	// Alice, evicted, comes back: she is a new peer, refused for now.
	if out := in.Handle(dats[0], alice, at(9)); len(out.Datagrams) != 0 {
		t.Errorf("alice's DAT after eviction answered %s", describe(out.Datagrams[0]))
	}
}

// TestXInboxOneAddressCannotTakeEverySlot replays the attack of 256
// extended sessions from one address, each sending HELLO, OPEN and a
// PING every 2 s: another sender must still get in.
func TestXInboxOneAddressCannotTakeEverySlot(t *testing.T) {
	in := mustXInbox(t, XInboxConfig{Store: newMemStore()})
	now := t0
	type squat struct {
		sid uint32
		pn  uint32
	}
	var squats []squat
	for i := range DefaultMaxPeers {
		hello := xframe(0, 0, wire.HELLO, wire.AppendHello(nil, wire.Hello{Version: wire.Version, Token: uint64(i + 1)}))
		out := in.Handle(hello, squatter(i), now)
		h, _ := xanswer(t, out)
		if h.Type != wire.WELCOME {
			continue
		}
		open := wire.AppendOpen(nil, wire.Open{TID: 1, Kind: wire.KindFile, Name: fmt.Sprint("f", i), FragSize: 4, Size: 1 << 20})
		if h, _ := xanswer(t, in.Handle(xframe(h.Session, 1, wire.OPEN, open), squatter(i), now)); h.Type != wire.ACCEPT {
			t.Fatalf("squatter %d: OPEN answered %v", i, h.Type)
		}
		squats = append(squats, squat{h.Session, 2})
	}
	if len(squats) != DefaultMaxPerAddr {
		t.Errorf("%d sessions from one address, want %d (MaxPerAddr)", len(squats), DefaultMaxPerAddr)
	}
	for range 5 {
		now = now.Add(2 * time.Second)
		for i, q := range squats {
			in.Handle(xframe(q.sid, q.pn, wire.PING, nil), squatter(i), now)
			squats[i].pn++
		}
		in.Tick(now)
	}
	s := mustXSender(t, SendOptions{}, Text("let me in"))
	_, _, ievs := xexchange(t, s, in, bob, now, s.Tick(now).Datagrams)
	if err := s.Err(); err != nil || len(xevents(ievs, EventText)) != 1 {
		t.Errorf("another sender: Err %v, inbox events %+v", err, ievs)
	}
}

// TestXInboxEvictsIdleTransfers checks that a full XInbox evicts a
// session whose transfers have moved no data for IdleEvict, telling its
// sender with ABORT, where before only sessions without a transfer could
// go.
func TestXInboxEvictsIdleTransfers(t *testing.T) {
	in := mustXInbox(t, XInboxConfig{Store: newMemStore(), MaxPeers: 2, IdleEvict: 5 * time.Second})
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	var sids []uint32
	for i, from := range []netip.AddrPort{alice, bob} {
		hello := xframe(0, 0, wire.HELLO, wire.AppendHello(nil, wire.Hello{Version: wire.Version, Token: uint64(i + 1)}))
		h, _ := xanswer(t, in.Handle(hello, from, at(i)))
		open := wire.AppendOpen(nil, wire.Open{TID: 7, Kind: wire.KindText, FragSize: 4, Size: 400})
		xanswer(t, in.Handle(xframe(h.Session, 1, wire.OPEN, open), from, at(i)))
		sids = append(sids, h.Session)
	}
	// Bob sends a fragment at 5 s, alice only pings.
	in.Handle(xframe(sids[0], 2, wire.PING, nil), alice, at(5))
	in.Handle(xframe(sids[1], 2, wire.DATA, append(wire.AppendDataHead(nil, 7, 0), "abcd"...)), bob, at(5))
	in.Flush(at(5))
	carol := netip.MustParseAddrPort("192.0.2.3:6000")
	hello := xframe(0, 0, wire.HELLO, wire.AppendHello(nil, wire.Hello{Version: wire.Version, Token: 3}))
	out := in.Handle(hello, carol, at(6))
	var abortTo, welcomeTo []netip.AddrPort
	for i, d := range out.Datagrams {
		h, body, err := wire.ParseXHeader(d, true)
		if err != nil {
			t.Fatal(err)
		}
		switch h.Type {
		case wire.ABORT:
			if r, err := wire.ParseResult(body); err != nil || r.TID != 7 || r.Code != wire.CodeBusy {
				t.Errorf("ABORT %+v %v, want transfer 7 busy", r, err)
			}
			abortTo = append(abortTo, out.To[i])
		case wire.WELCOME:
			welcomeTo = append(welcomeTo, out.To[i])
		}
	}
	if fmt.Sprint(abortTo) != fmt.Sprint([]netip.AddrPort{alice}) || fmt.Sprint(welcomeTo) != fmt.Sprint([]netip.AddrPort{carol}) {
		t.Errorf("ABORT to %v and WELCOME to %v; want alice's idle transfer aborted and carol welcome", abortTo, welcomeTo)
	}
	if st := in.Stats(); st.Evicted != 1 || st.Peers != 2 {
		t.Errorf("stats %+v", st)
	}
}
