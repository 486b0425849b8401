package rudp

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/rudp/wire"
)

// simItem is an item with what the receiver must end up with.
type simItem struct {
	file bool
	name string
	data []byte
}

func (si simItem) item() Item {
	if si.file {
		return File(si.name, bytes.NewReader(si.data), int64(len(si.data)))
	}
	return Text(string(si.data))
}

// TestSimImpaired sends texts and files through a simulated network that
// loses, duplicates, reorders and corrupts datagrams, many seeds each, and
// checks that every item arrives once, intact and in order, and that
// nothing is left open.
func TestSimImpaired(t *testing.T) {
	const ms = time.Millisecond
	profiles := []struct {
		name     string
		up, down netem
	}{
		{"clean", netem{delay: ms}, netem{delay: ms}},
		{"loss 5% dup reorder", netem{loss: .05, dup: .05, delay: ms, jitter: 1500 * time.Microsecond}, netem{loss: .05, dup: .05, delay: ms, jitter: 1500 * time.Microsecond}},
		{"corrupt 10%", netem{corrupt: .1, delay: ms}, netem{corrupt: .1, delay: ms}},
		{"loss 20%", netem{loss: .2, delay: ms}, netem{loss: .2, delay: ms}},
		{"everything", netem{loss: .15, dup: .1, corrupt: .1, delay: ms, jitter: ms}, netem{loss: .15, dup: .1, corrupt: .1, delay: ms, jitter: ms}},
	}
	sizes := func(f int) []int { return slices.Compact([]int{0, 1, f, f + 1, 7*f + 3, 40 * f}) }
	for _, p := range profiles {
		for _, f := range []int{1, 4, 1445} {
			t.Run(fmt.Sprintf("%s/F=%d", p.name, f), func(t *testing.T) {
				var items []simItem
				for _, n := range sizes(f) {
					items = append(items,
						simItem{data: randomText(n, uint64(n))},
						simItem{file: true, name: fmt.Sprintf("f%d.bin", n), data: randomBytes(n, uint64(n))})
				}
				var sum Stats
				for seed := range uint64(12) {
					st := checkSim(t, seed, f, p.up, p.down, items)
					sum.Retransmissions += st.Retransmissions
					sum.NACKs += st.NACKs
					sum.Timeouts += st.Timeouts
				}
				t.Logf("12 runs: %d retransmissions, %d timeouts, %d NACKs", sum.Retransmissions, sum.Timeouts, sum.NACKs)
				if (p.up.loss > 0 && sum.Timeouts == 0) || (p.up.corrupt > 0 && sum.NACKs == 0) {
					t.Errorf("the impairments did not bite: %+v", sum)
				}
			})
		}
	}
}

// randomText returns n reproducible printable bytes.
func randomText(n int, seed uint64) []byte {
	b := randomBytes(n, seed)
	for i := range b {
		b[i] = ' ' + b[i]%95
	}
	return b
}

func checkSim(t *testing.T, seed uint64, f int, up, down netem, items []simItem) Stats {
	t.Helper()
	store := newMemStore()
	var its []Item
	for _, si := range items {
		its = append(its, si.item())
	}
	s := mustSender(t, SendOptions{FragmentSize: f}, its...)
	in := NewInbox(InboxConfig{Store: store})
	sim := newSim(t, seed, s, in, up, down)
	took := sim.run(10 * time.Minute)
	if err := s.Err(); err != nil {
		t.Fatalf("seed %d: sender failed after %v: %v", seed, took, err)
	}
	var got []simItem
	for _, ev := range sim.events {
		switch ev.Kind {
		case EventText:
			got = append(got, simItem{data: []byte(ev.Text)})
		case EventFile:
			if ev.Path != ev.Name {
				t.Errorf("seed %d: %q stored as %q", seed, ev.Name, ev.Path)
			}
			got = append(got, simItem{file: true, name: ev.Name, data: store.files[ev.Path]})
		case EventEnd:
		default:
			t.Errorf("seed %d: event %v %q: %v", seed, ev.Kind, ev.Name, ev.Err)
		}
	}
	if len(got) != len(items) {
		t.Fatalf("seed %d: %d items delivered, want %d (stats %+v)", seed, len(got), len(items), in.Stats())
	}
	for i := range items {
		w, g := items[i], got[i]
		if w.file != g.file || w.name != g.name || !bytes.Equal(w.data, g.data) {
			t.Errorf("seed %d: item %d = file %v %q %d bytes, want file %v %q %d bytes", seed, i, g.file, g.name, len(g.data), w.file, w.name, len(w.data))
		}
	}
	if n := store.openCount(); n != 0 {
		t.Errorf("seed %d: %d files left open", seed, n)
	}
	if in.Active() != 0 {
		t.Errorf("seed %d: %d transfers active after the end", seed, in.Active())
	}
	// FIN is not answered, so it may be lost: the peer then expires.
	if len(in.peers) != 0 {
		out := in.Tick(sim.now.Add(DefaultTimeout))
		if len(out.Events) != 1 || out.Events[0].Kind != EventGone || out.Events[0].Name != "" || len(in.peers) != 0 {
			t.Errorf("seed %d: peer left after a lost FIN; Tick after the timeout gave %+v", seed, out.Events)
		}
	}
	st := s.Stats()
	if st.Items != len(items) {
		t.Errorf("seed %d: sender counts %d items, want %d", seed, st.Items, len(items))
	}
	if up.loss == 0 && down.loss == 0 && up.corrupt == 0 && down.corrupt == 0 && st.Retransmissions != 0 {
		t.Errorf("seed %d: %d retransmissions on a clean network", seed, st.Retransmissions)
	}
	return st
}

// TestSimSilentReceiver checks that a sender whose receiver never answers
// resends with exponential backoff, capped, and gives up with ErrPeerGone
// exactly Timeout after its first frame, sending FIN.
func TestSimSilentReceiver(t *testing.T) {
	s := mustSender(t, SendOptions{}, Text("hello"))
	now := t0
	var sends []time.Duration
	var last [][]byte
	for i := 0; !s.Done(); i++ {
		if i > 100 {
			t.Fatal("no end after 100 ticks")
		}
		out := s.Tick(now)
		for _, d := range out.Datagrams {
			sends = append(sends, now.Sub(t0))
			last = append(last, d)
		}
		if s.Done() {
			break
		}
		if !out.Deadline.After(now) {
			t.Fatalf("deadline %v not after now %v", out.Deadline.Sub(t0), now.Sub(t0))
		}
		now = out.Deadline
	}
	const s_ = time.Second
	want := []time.Duration{0, s_ / 2, 3 * s_ / 2, 7 * s_ / 2, 11 * s_ / 2, 15 * s_ / 2, 19 * s_ / 2, 10 * s_}
	if fmt.Sprint(sends) != fmt.Sprint(want) {
		t.Errorf("sent at %v, want %v", sends, want)
	}
	if !errors.Is(s.Err(), ErrPeerGone) {
		t.Errorf("Err = %v, want ErrPeerGone", s.Err())
	}
	if f := frameOf(t, last[len(last)-1]); f.Type != wire.FIN {
		t.Errorf("last frame %v, want FIN", f.Type)
	}
	for _, d := range last[:len(last)-1] {
		if !bytes.Equal(d, last[0]) {
			t.Errorf("resent %x, first sent %x", d, last[0])
		}
	}
	if st := s.Stats(); st.Retransmissions != 6 || st.Timeouts != 6 || st.RTTSamples != 0 {
		t.Errorf("stats %+v: want 6 retransmissions and timeouts, no RTT sample", st)
	}
}
