package rudp

import (
	"bytes"
	"testing"

	"github.com/netkit/netkit/internal/rudp/wire"
)

// discardStore takes files and keeps nothing.
type discardStore struct{}

type discardSink struct{}

func (discardStore) Create(string) (FileSink, error) { return discardSink{}, nil }
func (discardSink) Write(p []byte) (int, error)      { return len(p), nil }
func (discardSink) Commit() (string, error)          { return "x", nil }
func (discardSink) Abort() error                     { return nil }

// TestHotPathAllocs checks that moving a DAT frame through both state
// machines allocates nothing: the sender's ACK in, the next DAT out, the
// receiver's DAT in, its ACK out.
func TestHotPathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	const frames = 10_000
	data := make([]byte, frames*wire.MaxData)
	s := mustSender(t, SendOptions{}, File("big.bin", bytes.NewReader(data), int64(len(data))))
	in := NewInbox(InboxConfig{Store: discardStore{}, MaxSize: -1})
	now := t0
	dat := bytes.Clone(one(t, s.Tick(now)))
	step := func() {
		out := in.Handle(dat, alice, now)
		ackb := out.Datagrams[0]
		o := s.Handle(ackb, now)
		dat = append(dat[:0], o.Datagrams[0]...)
	}
	for range 5 { // INF, the name, into the content
		step()
	}
	if n := testing.AllocsPerRun(1000, step); n != 0 {
		t.Errorf("%v allocations per frame, want 0", n)
	}
}
