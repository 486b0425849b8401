package rudp

import (
	"errors"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/rudp/wire"
)

// Per-item fragment size and error simulation override the session's, for
// that item only: the interactive menu asks for them per message.
func TestItemOverrides(t *testing.T) {
	store := newMemStore()
	const text = "abcdefghijklmnopqrst"
	s := mustSender(t, SendOptions{FragmentSize: 1445},
		Text(text).WithFragmentSize(4).WithCorruptEvery(2),
		Text(text))
	in := NewInbox(InboxConfig{Store: store})
	sim := newSim(t, 1, s, in, netem{delay: time.Millisecond}, netem{delay: time.Millisecond})
	sim.record = true
	sim.run(time.Minute)
	if s.Err() != nil || len(sim.events) < 2 || sim.events[0].Text != text || sim.events[1].Text != text {
		t.Fatalf("err %v, events %+v", s.Err(), sim.events)
	}
	var sizes []uint16
	damaged := 0
	for _, b := range sim.wire {
		f, err := wire.Parse(b)
		if errors.Is(err, wire.ErrCRC) {
			damaged++
			continue
		}
		if err == nil && f.Type == wire.INF {
			sizes = append(sizes, f.Size)
		}
	}
	if len(sizes) != 2 || sizes[0] != 4 || sizes[1] != 1445 {
		t.Errorf("INF fragment sizes %v, want [4 1445]", sizes)
	}
	if damaged != 2 {
		t.Errorf("%d damaged frames, want 2 (DAT 2 and 4 of the first item only)", damaged)
	}
	if err := mustSenderErr(Text("x").WithFragmentSize(1446)); err == nil {
		t.Error("fragment size 1446 accepted")
	}
}

func mustSenderErr(it Item) error {
	s, err := NewSender(SendOptions{})
	if err != nil {
		return err
	}
	return s.Enqueue(it)
}
