package rudp

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/rudp/wire"
)

// packDatagrams joins datagrams into one fuzz input: each is a two-byte
// length, then its bytes. The fuzzer mutates lengths and bytes alike.
func packDatagrams(ds ...[]byte) []byte {
	var b []byte
	for _, d := range ds {
		b = binary.BigEndian.AppendUint16(b, uint16(len(d)))
		b = append(b, d...)
	}
	return b
}

// unpackDatagrams splits a fuzz input into datagrams; a length past the
// end takes what is left.
func unpackDatagrams(b []byte) [][]byte {
	var ds [][]byte
	for len(b) >= 2 {
		n := int(binary.BigEndian.Uint16(b))
		b = b[2:]
		n = min(n, len(b))
		ds = append(ds, b[:n])
		b = b[n:]
	}
	return ds
}

// seedExchanges returns fuzz seeds from real transfers: the frames a
// sender sends, with some duplicated, damaged and reordered.
func seedExchanges(f *testing.F) {
	infT, dt := text("Toto je textova sprava.", 4)
	infF, df := file("smallFile.bin", "It is a small file.", 4)
	f.Add(packDatagrams(append([][]byte{infT}, dt...)...))
	f.Add(packDatagrams(append(append([][]byte{infF}, df...), fin)...))
	f.Add(packDatagrams(infF, infF, df[0], df[0], damaged(df[1]), df[2], df[1], kpa, infT, dt[0], fin, dt[1]))
	f.Add(packDatagrams(infF, df[0], df[1], df[2], df[3], infF, df[8], df[4]))
	f.Add(packDatagrams(kpa, zeroAck, []byte{}, []byte("junk"), fin))
}

// FuzzInbox feeds arbitrary datagrams from two peers to an Inbox, with
// time passing, and checks that every answer is a valid frame, that at
// most one answers each datagram, and that nothing leaks: files open
// match transfers active, all of which end at Close.
func FuzzInbox(f *testing.F) {
	seedExchanges(f)
	f.Fuzz(func(t *testing.T, input []byte) {
		store := newMemStore()
		in := NewInbox(InboxConfig{Store: store, MaxText: 64, MaxSize: 64, MaxPeers: 2, Timeout: time.Second})
		now := t0
		for i, d := range unpackDatagrams(input) {
			from := alice
			if len(d) > 0 && d[len(d)-1]&1 == 1 && i%3 == 2 {
				from = bob
			}
			now = now.Add(time.Duration(len(d)) * 10 * time.Millisecond)
			out := in.Handle(d, from, now)
			answers := 0
			for i := range out.Datagrams {
				if len(out.To) != len(out.Datagrams) {
					t.Fatalf("%d datagrams, %d addresses", len(out.Datagrams), len(out.To))
				}
				if out.To[i] == from {
					answers++
				} else if f, err := wire.Parse(out.Datagrams[i]); err != nil || f.Type != wire.FIN {
					t.Fatalf("sent %x to %v, another peer than %v: want only a FIN of an eviction", out.Datagrams[i], out.To[i], from)
				}
			}
			if answers > 1 {
				t.Fatalf("%d answers to one datagram", answers)
			}
			for _, a := range out.Datagrams {
				if _, err := wire.Parse(a); err != nil {
					t.Fatalf("answer %x to %x: %v", a, d, err)
				}
			}
			in.Tick(now)
			if in.Active() < 0 || in.Active() > 2 || store.openCount() > in.Active() {
				t.Fatalf("%d active, %d files open", in.Active(), store.openCount())
			}
			for _, p := range in.peers {
				if len(p.text) > 64 {
					t.Fatalf("a text of %d bytes held, over MaxText", len(p.text))
				}
			}
		}
		for name, b := range store.files {
			if len(b) > 64 {
				t.Fatalf("%q stored with %d bytes, over MaxSize", name, len(b))
			}
		}
		in.Close(ErrServerClosed)
		if in.Active() != 0 || store.openCount() != 0 {
			t.Fatalf("after Close: %d active, %d files open", in.Active(), store.openCount())
		}
	})
}

// FuzzSender feeds arbitrary answers to a Sender in the middle of a
// transfer and checks that it only ever sends valid frames, never gets
// ahead of what was acknowledged, and stops sending once done.
func FuzzSender(f *testing.F) {
	infF, df := file("smallFile.bin", "It is a small file.", 4)
	var acks [][]byte
	for _, b := range append([][]byte{infF}, df...) {
		acks = append(acks, ack(b))
	}
	f.Add(packDatagrams(acks...))
	f.Add(packDatagrams(acks[0], nack(df[0]), acks[1], acks[1], acks[3], fin))
	f.Add(packDatagrams(acks[0], zeroAck, []byte("junk"), acks[2], acks[1]))
	f.Fuzz(func(t *testing.T, input []byte) {
		const content = "It is a small file."
		s := mustSender(t, SendOptions{FragmentSize: 4, KeepAlive: time.Second}, File("smallFile.bin", strings.NewReader(content), int64(len(content))))
		now := t0
		check := func(out Output) {
			for _, d := range out.Datagrams {
				fr, err := wire.Parse(d)
				if err != nil {
					t.Fatalf("sent %x: %v", d, err)
				}
				if fr.Type == wire.DAT && fr.Seq > uint32(len(df)) {
					t.Fatalf("sent DAT %d of %d", fr.Seq, len(df))
				}
			}
			if p := s.Progress(); p.Done > p.Size {
				t.Fatalf("progress %d of %d", p.Done, p.Size)
			}
		}
		check(s.Tick(now))
		for _, d := range unpackDatagrams(input) {
			done := s.Done()
			out := s.Handle(d, now)
			if done && len(out.Datagrams) > 0 {
				t.Fatalf("sent %d datagrams after the end", len(out.Datagrams))
			}
			check(out)
			now = now.Add(time.Duration(len(d)) * 50 * time.Millisecond)
			check(s.Tick(now))
		}
	})
}
