package rudp

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/rudp/wire"
)

// docFrame is one frame of SEED-PROTOCOL.md's examples, as the document
// gives its fields.
type docFrame struct {
	typ         wire.Type
	seq, count  uint32
	size        uint16
	data        string
	hexIfListed string // the bytes, where wire's tests recorded them from an independent encoder
}

// exchange returns the frames of one transfer at fragment size 4 as the
// document lists them: INF, its ACK, then each DAT with its ACK.
func exchange(kind string, nameFrames uint32, pieces []string) []docFrame {
	count := uint32(len(pieces))
	out := []docFrame{
		{typ: wire.INF, seq: nameFrames, count: count, size: 4, data: kind},
		{typ: wire.ACK, seq: nameFrames, count: count, size: 4, data: kind},
	}
	for i, p := range pieces {
		seq := uint32(i + 1)
		out = append(out,
			docFrame{typ: wire.DAT, seq: seq, count: count, size: uint16(len(p)), data: p},
			docFrame{typ: wire.ACK, seq: seq, count: count, size: uint16(len(p))})
	}
	return out
}

// TestSeedExample runs the document's two examples through a Sender and an
// Inbox and checks every datagram exchanged, byte for byte, against what
// wire encodes for the fields the document lists, and a few against the
// bytes of wire's independent Python encoder.
func TestSeedExample(t *testing.T) {
	textFrames := exchange("T", 0, []string{"Toto", " je ", "text", "ova ", "spra", "va."})
	textFrames[0].hexIfListed = "00000000000600040007c5a0e754"
	textFrames[1].hexIfListed = "0000000000060004010000000054"
	textFrames[12].hexIfListed = "000006000006000303b04215e776612e"
	fileFrames := exchange("F", 4, []string{"smal", "lFil", "e.bi", "n", "It i", "s a ", "smal", "l fi", "le."})
	fileFrames[0].hexIfListed = "000004000009000400f266488446"
	fileFrames[8].hexIfListed = "000004000009000103ea3571566e"
	fileFrames[18].hexIfListed = "000009000009000303c2dcdd216c652e"
	fin := docFrame{typ: wire.FIN}

	const text, name, content = "Toto je textova sprava.", "smallFile.bin", "It is a small file."
	tests := []struct {
		name  string
		items []Item
		want  []docFrame
	}{
		{"text", []Item{Text(text)}, append(textFrames, fin)},
		{"file", []Item{File(name, strings.NewReader(content), int64(len(content)))}, append(fileFrames, fin)},
		{"both in one session", []Item{Text(text), File(name, strings.NewReader(content), int64(len(content)))},
			append(append(append([]docFrame{}, textFrames...), fileFrames...), fin)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newMemStore()
			sim := newSim(t, 1, mustSender(t, SendOptions{FragmentSize: 4}, tt.items...), NewInbox(InboxConfig{Store: store}), netem{}, netem{})
			sim.record = true
			sim.run(time.Minute)
			if len(sim.wire) != len(tt.want) {
				t.Errorf("%d datagrams exchanged, want %d", len(sim.wire), len(tt.want))
			}
			for i := range min(len(sim.wire), len(tt.want)) {
				w := tt.want[i]
				f := wire.Frame{Header: wire.Header{Seq: w.seq, Count: w.count, Size: w.size, Type: w.typ}}
				if w.data != "" {
					f.Data = []byte(w.data)
				}
				want := wire.Append(nil, f)
				if got := sim.wire[i]; !bytes.Equal(got, want) {
					t.Errorf("datagram %d = %x, want %v seq %d count %d size %d %q = %x", i, got, w.typ, w.seq, w.count, w.size, w.data, want)
				}
				if w.hexIfListed != "" && hex.EncodeToString(want) != w.hexIfListed {
					t.Errorf("datagram %d: wire encodes %x, the independent encoder %s", i, want, w.hexIfListed)
				}
			}
			var texts []string
			for _, ev := range sim.events {
				switch ev.Kind {
				case EventText:
					texts = append(texts, ev.Text)
				case EventFile, EventEnd:
				default:
					t.Errorf("unexpected event %v: %v", ev.Kind, ev.Err)
				}
			}
			var wantTexts []string
			for _, it := range tt.items {
				if !it.IsFile() {
					wantTexts = append(wantTexts, text)
				} else if got := string(store.files[name]); got != content {
					t.Errorf("stored %q = %q, want %q", name, got, content)
				}
			}
			if strings.Join(texts, "|") != strings.Join(wantTexts, "|") {
				t.Errorf("texts %q, want %q", texts, wantTexts)
			}
			if err := sim.s.Err(); err != nil {
				t.Errorf("sender: %v", err)
			}
		})
	}
}
