package rudp

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/rudp/wire"
)

// one returns the single datagram of out, failing the test otherwise.
func one(t *testing.T, out Output) []byte {
	t.Helper()
	if len(out.Datagrams) != 1 {
		t.Fatalf("%d datagrams, want 1", len(out.Datagrams))
	}
	return bytes.Clone(out.Datagrams[0])
}

func none(t *testing.T, out Output) {
	t.Helper()
	if len(out.Datagrams) != 0 {
		t.Fatalf("%d datagrams, want none: %x", len(out.Datagrams), out.Datagrams)
	}
}

// ackOf returns the receiver's ACK of the encoded frame b.
func ackOf(t *testing.T, b []byte) []byte {
	return wire.Append(nil, wire.AckFor(frameOf(t, b)))
}

func nackOf(t *testing.T, b []byte) []byte {
	return wire.Append(nil, wire.NackFor(frameOf(t, b)))
}

func TestSenderNACKResendsAtOnce(t *testing.T) {
	s := mustSender(t, SendOptions{FragmentSize: 4}, Text("Toto je"))
	inf := one(t, s.Tick(t0))
	dat1 := one(t, s.Handle(ackOf(t, inf), t0.Add(10*time.Millisecond)))
	if f := frameOf(t, dat1); f.Type != wire.DAT || f.Seq != 1 || string(f.Data) != "Toto" {
		t.Fatalf("after the INF's ACK: %v %d %q, want DAT 1 \"Toto\"", f.Type, f.Seq, f.Data)
	}
	again := one(t, s.Handle(nackOf(t, dat1), t0.Add(11*time.Millisecond)))
	if !bytes.Equal(again, dat1) {
		t.Errorf("after NACK sent %x, want DAT 1 again %x", again, dat1)
	}
	dat2 := one(t, s.Handle(ackOf(t, dat1), t0.Add(12*time.Millisecond)))
	if f := frameOf(t, dat2); f.Seq != 2 || string(f.Data) != " je" {
		t.Fatalf("after DAT 1's ACK: seq %d %q", f.Seq, f.Data)
	}
	fin := one(t, s.Handle(ackOf(t, dat2), t0.Add(13*time.Millisecond)))
	if frameOf(t, fin).Type != wire.FIN || !s.Done() || s.Err() != nil {
		t.Fatalf("end: %x done %v err %v", fin, s.Done(), s.Err())
	}
	st := s.Stats()
	// Samples: the INF (10 ms) and DAT 2 (1 ms); DAT 1 went twice (Karn).
	if st.NACKs != 1 || st.Retransmissions != 1 || st.RTTSamples != 2 || st.Items != 1 || st.Bytes != 7 || st.Frames != 5 {
		t.Errorf("stats %+v", st)
	}
}

func TestSenderIgnoresStaleAndForeign(t *testing.T) {
	s := mustSender(t, SendOptions{FragmentSize: 4}, Text("abcdefgh"))
	inf := one(t, s.Tick(t0))
	dat1 := one(t, s.Handle(ackOf(t, inf), t0))
	dat2 := one(t, s.Handle(ackOf(t, dat1), t0))
	for _, b := range [][]byte{
		ackOf(t, inf), ackOf(t, dat1), nackOf(t, dat1), // late duplicates
		enc(wire.ACK, 2, 2, 3, ""),                // wrong size
		enc(wire.ACK, 2, 3, 4, ""),                // wrong count
		enc(wire.ACK, 0, 0, 0, ""),                // a KPA's answer, none outstanding
		enc(wire.DAT, 2, 2, 4, "efgh"),            // not for a sender
		[]byte("junk"), append(ackOf(t, dat2), 0), // not frames
	} {
		none(t, s.Handle(b, t0))
	}
	if fin := one(t, s.Handle(ackOf(t, dat2), t0)); frameOf(t, fin).Type != wire.FIN {
		t.Error("the right ACK did not finish")
	}
	if st := s.Stats(); st.Stale != 6 || st.Dropped != 3 {
		t.Errorf("stale %d dropped %d, want 6 and 3", st.Stale, st.Dropped)
	}
}

func TestSenderCorruptEvery(t *testing.T) {
	store := newMemStore()
	const text = "abcdefghijklmnopqrst" // 5 frames at F=4
	s := mustSender(t, SendOptions{FragmentSize: 4, CorruptEvery: 2}, Text(text))
	in := NewInbox(InboxConfig{Store: store})
	sim := newSim(t, 1, s, in, netem{delay: time.Millisecond}, netem{delay: time.Millisecond})
	sim.record = true
	sim.run(time.Minute)
	if s.Err() != nil || len(sim.events) < 1 || sim.events[0].Text != text {
		t.Fatalf("err %v, events %+v", s.Err(), sim.events)
	}
	st := s.Stats()
	if st.Corrupted != 2 || st.NACKs != 2 || st.Retransmissions != 2 || st.Timeouts != 0 {
		t.Errorf("stats %+v: want DAT 2 and 4 corrupted once, NACKed and resent", st)
	}
	var damaged []uint32
	for _, b := range sim.wire {
		f, err := wire.Parse(b)
		if errors.Is(err, wire.ErrCRC) {
			damaged = append(damaged, f.Seq)
		}
	}
	if len(damaged) != 2 || damaged[0] != 2 || damaged[1] != 4 {
		t.Errorf("damaged frames %v, want DAT 2 and 4", damaged)
	}
}

func TestSenderRTT(t *testing.T) {
	s := mustSender(t, SendOptions{FragmentSize: 1, MinRTO: time.Millisecond}, Text(strings.Repeat("x", 20)))
	now := t0
	b := one(t, s.Tick(now))
	for !s.Done() {
		now = now.Add(10 * time.Millisecond)
		out := s.Handle(ackOf(t, b), now)
		if len(out.Datagrams) > 0 {
			b = one(t, out)
		}
	}
	st := s.Stats()
	if st.SRTT != 10*time.Millisecond || st.RTTSamples != 21 {
		t.Errorf("SRTT %v after %d samples, want 10ms after 21", st.SRTT, st.RTTSamples)
	}
	// RTTVAR decays by 3/4 per sample from 5 ms: the RTO nears SRTT+G.
	if st.RTO < 11*time.Millisecond || st.RTO > 12*time.Millisecond {
		t.Errorf("RTO %v, want just over 11ms", st.RTO)
	}
}

func TestRTOBackoffAndReset(t *testing.T) {
	e := newRTO(500*time.Millisecond, 20*time.Millisecond, 2*time.Second)
	e.sample(100 * time.Millisecond) // srtt 100, rttvar 50: 300
	if e.rto != 300*time.Millisecond {
		t.Fatalf("rto %v, want 300ms", e.rto)
	}
	var got []time.Duration
	for range 4 {
		e.timedOut()
		got = append(got, e.rto)
	}
	if want := []time.Duration{600 * time.Millisecond, 1200 * time.Millisecond, 2 * time.Second, 2 * time.Second}; !equalDurations(got, want) {
		t.Errorf("backoff %v, want %v", got, want)
	}
	e.progress()
	if e.rto != 300*time.Millisecond {
		t.Errorf("after progress %v, want 300ms", e.rto)
	}
	e = newRTO(500*time.Millisecond, 20*time.Millisecond, 2*time.Second)
	e.sample(10 * time.Microsecond)
	if e.rto != 20*time.Millisecond {
		t.Errorf("rto %v, want the 20ms floor", e.rto)
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSenderKeepAlive checks the idle life of a session: no KPA before the
// first transfer, KPA every interval after it, answered or not, and the
// session gone when they go unanswered for the timeout.
func TestSenderKeepAlive(t *testing.T) {
	s, err := NewSender(SendOptions{KeepAlive: 3 * time.Second, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if out := s.Tick(t0); len(out.Datagrams) != 0 || !out.Deadline.IsZero() {
		t.Fatalf("idle before any transfer: %d datagrams, deadline %v", len(out.Datagrams), out.Deadline)
	}
	if err := s.Enqueue(Text("hi")); err != nil {
		t.Fatal(err)
	}
	inf := one(t, s.Tick(t0))
	dat := one(t, s.Handle(ackOf(t, inf), t0))
	out := s.Handle(ackOf(t, dat), t0)
	none(t, out)
	if len(out.Events) != 1 || out.Events[0].Kind != EventText || out.Events[0].Text != "hi" {
		t.Fatalf("events %+v, want the text delivered", out.Events)
	}
	if want := t0.Add(3 * time.Second); !out.Deadline.Equal(want) {
		t.Fatalf("deadline %v, want the first KPA at %v", out.Deadline, want)
	}
	kpa := wire.Append(nil, wire.KeepAlive())
	zeroAck := wire.Append(nil, wire.AckFor(wire.KeepAlive()))
	now := t0
	for i := range 5 { // answered: the session lives on
		now = now.Add(3 * time.Second)
		if got := one(t, s.Tick(now)); !bytes.Equal(got, kpa) {
			t.Fatalf("KPA %d = %x, want %x", i, got, kpa)
		}
		none(t, s.Handle(zeroAck, now.Add(time.Millisecond)))
	}
	// Unanswered from now: KPAs at +3, +6, +9, +12 s, and gone 10 s after
	// the first of them.
	start := now
	var sends []time.Duration
	for !s.Done() {
		out := s.Tick(now)
		for range out.Datagrams {
			sends = append(sends, now.Sub(start))
		}
		if !s.Done() {
			now = out.Deadline
		}
	}
	want := []time.Duration{3 * time.Second, 6 * time.Second, 9 * time.Second, 12 * time.Second, 13 * time.Second}
	if !equalDurations(sends, want) {
		t.Errorf("sent at %v after the last answer, want KPAs then FIN at %v", sends, want)
	}
	if !errors.Is(s.Err(), ErrPeerGone) {
		t.Errorf("Err = %v, want ErrPeerGone", s.Err())
	}
	if st := s.Stats(); st.KeepAlives != 9 {
		t.Errorf("%d KPAs counted, want 9", st.KeepAlives)
	}
}

func TestSenderFINFromReceiver(t *testing.T) {
	fin := wire.Append(nil, wire.Fin())
	s := mustSender(t, SendOptions{}, File("a.bin", strings.NewReader("abc"), 3))
	one(t, s.Tick(t0))
	none(t, s.Handle(fin, t0))
	if !s.Done() || !errors.Is(s.Err(), ErrRefused) || !strings.Contains(s.Err().Error(), `"a.bin"`) {
		t.Errorf("FIN answering the INF: done %v, err %v; want ErrRefused naming the file", s.Done(), s.Err())
	}

	s, _ = NewSender(SendOptions{})
	s.Enqueue(Text("x"))
	inf := one(t, s.Tick(t0))
	dat := one(t, s.Handle(ackOf(t, inf), t0))
	none(t, s.Handle(ackOf(t, dat), t0))
	none(t, s.Handle(fin, t0))
	if !errors.Is(s.Err(), ErrPeerClosed) || !errors.Is(s.Err(), net.ErrClosed) {
		t.Errorf("FIN while idle: err %v, want ErrPeerClosed", s.Err())
	}
	if err := s.Enqueue(Text("y")); !errors.Is(err, ErrClosed) {
		t.Errorf("Enqueue after the end: %v, want ErrClosed", err)
	}
}

func TestSenderEmptyItems(t *testing.T) {
	s := mustSender(t, SendOptions{FragmentSize: 4}, Text(""), File("e", strings.NewReader(""), 0))
	inf := one(t, s.Tick(t0))
	if f := frameOf(t, inf); f.Count != 0 || f.Seq != 0 {
		t.Fatalf("empty text INF: seq %d count %d, want 0 0", f.Seq, f.Count)
	}
	inf2 := one(t, s.Handle(ackOf(t, inf), t0))
	if f := frameOf(t, inf2); f.Type != wire.INF || f.Seq != 1 || f.Count != 1 {
		t.Fatalf("empty file INF: %v seq %d count %d, want INF 1 1", f.Type, f.Seq, f.Count)
	}
	name := one(t, s.Handle(ackOf(t, inf2), t0))
	if f := frameOf(t, name); string(f.Data) != "e" {
		t.Fatalf("name frame %q", f.Data)
	}
	if frameOf(t, one(t, s.Handle(ackOf(t, name), t0))).Type != wire.FIN || s.Stats().Items != 2 {
		t.Error("did not end after two empty items")
	}
}

type failingReader struct{ err error }

func (r failingReader) ReadAt([]byte, int64) (int, error) { return 0, r.err }

func TestSenderReadErrors(t *testing.T) {
	errDisk := errors.New("disk on fire")
	tests := []struct {
		name string
		r    io.ReaderAt
		size int64
		want error
	}{
		{"error", failingReader{errDisk}, 10, errDisk},
		{"shrunk", strings.NewReader("abc"), 10, ErrChanged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustSender(t, SendOptions{}, File("f", tt.r, tt.size))
			inf := one(t, s.Tick(t0))
			name := one(t, s.Handle(ackOf(t, inf), t0))
			fin := one(t, s.Handle(ackOf(t, name), t0))
			if frameOf(t, fin).Type != wire.FIN || !errors.Is(s.Err(), tt.want) {
				t.Errorf("sent %x, err %v; want FIN and %v", fin, s.Err(), tt.want)
			}
		})
	}
}

func TestSenderAbort(t *testing.T) {
	s := mustSender(t, SendOptions{}, Text("x"))
	one(t, s.Tick(t0))
	errStop := errors.New("stop")
	if frameOf(t, one(t, s.Abort(errStop))).Type != wire.FIN || s.Err() != errStop {
		t.Errorf("Abort: err %v", s.Err())
	}
	none(t, s.Abort(errStop))
	none(t, s.Tick(t0.Add(time.Hour)))
}

func TestSenderEnqueueErrors(t *testing.T) {
	if _, err := NewSender(SendOptions{FragmentSize: wire.MaxData + 1}); !errors.Is(err, wire.ErrSize) {
		t.Errorf("fragment size 1446: %v, want wire.ErrSize", err)
	}
	if _, err := NewSender(SendOptions{FragmentSize: -1}); !errors.Is(err, wire.ErrSize) {
		t.Errorf("fragment size -1: %v, want wire.ErrSize", err)
	}
	s, _ := NewSender(SendOptions{MaxQueue: 2})
	tests := []struct {
		item Item
		want error
	}{
		{Item{}, nil},
		{File("../x", strings.NewReader(""), 0), wire.ErrBadName},
		{File("a/b", strings.NewReader(""), 0), wire.ErrBadName},
		{File("", strings.NewReader(""), 0), wire.ErrBadName},
		{File("big", strings.NewReader(""), int64(wire.MaxSeq)*wire.MaxData), wire.ErrLength},
		{Text("ok"), nil},
		{Text("ok"), nil},
		{Text("full"), ErrQueueFull},
	}
	for i, tt := range tests {
		err := s.Enqueue(tt.item)
		switch {
		case i == 0 && err == nil:
			t.Errorf("the zero Item was accepted")
		case i > 0 && !errors.Is(err, tt.want):
			t.Errorf("item %d: %v, want %v", i, err, tt.want)
		}
	}
	s.CloseSend()
	if err := s.Enqueue(Text("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("after CloseSend: %v, want ErrClosed", err)
	}
}
