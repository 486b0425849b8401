package wire

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"testing"
)

// exampleFrame is one frame of a documented exchange, every field spelled
// out. The tables below were printed by testdata/examples.py, an encoder
// written from the document alone on Python's zlib.crc32, run by hand:
//
//	python3 testdata/examples.py
//
// so each CRC and each byte is checked against a second implementation.
type exampleFrame struct {
	typ   Type
	seq   uint32
	count uint32
	size  uint16
	data  string
	crc   uint32
	wire  string // hex
}

// textExample is the document's first example: the text
// "Toto je textova sprava." at fragment size 4, each frame followed by the
// receiver's answer.
var textExample = []exampleFrame{
	{INF, 0, 6, 4, "T", 0x07c5a0e7, "00000000000600040007c5a0e754"},
	{ACK, 0, 6, 4, "T", 0x00000000, "0000000000060004010000000054"},
	{DAT, 1, 6, 4, "Toto", 0x451e7cd0, "000001000006000403451e7cd0546f746f"},
	{ACK, 1, 6, 4, "", 0x00000000, "00000100000600040100000000"},
	{DAT, 2, 6, 4, " je ", 0x8bd090e0, "0000020000060004038bd090e0206a6520"},
	{ACK, 2, 6, 4, "", 0x00000000, "00000200000600040100000000"},
	{DAT, 3, 6, 4, "text", 0x96076919, "0000030000060004039607691974657874"},
	{ACK, 3, 6, 4, "", 0x00000000, "00000300000600040100000000"},
	{DAT, 4, 6, 4, "ova ", 0xd1428dd8, "000004000006000403d1428dd86f766120"},
	{ACK, 4, 6, 4, "", 0x00000000, "00000400000600040100000000"},
	{DAT, 5, 6, 4, "spra", 0x6ebaf619, "0000050000060004036ebaf61973707261"},
	{ACK, 5, 6, 4, "", 0x00000000, "00000500000600040100000000"},
	{DAT, 6, 6, 3, "va.", 0xb04215e7, "000006000006000303b04215e776612e"},
	{ACK, 6, 6, 3, "", 0x00000000, "00000600000600030100000000"},
}

// fileExample is the document's second example: the file "smallFile.bin"
// holding "It is a small file." at fragment size 4: four name frames, then
// five content frames.
var fileExample = []exampleFrame{
	{INF, 4, 9, 4, "F", 0xf2664884, "000004000009000400f266488446"},
	{ACK, 4, 9, 4, "F", 0x00000000, "0000040000090004010000000046"},
	{DAT, 1, 9, 4, "smal", 0x0ce39a3b, "0000010000090004030ce39a3b736d616c"},
	{ACK, 1, 9, 4, "", 0x00000000, "00000100000900040100000000"},
	{DAT, 2, 9, 4, "lFil", 0x61ba98fa, "00000200000900040361ba98fa6c46696c"},
	{ACK, 2, 9, 4, "", 0x00000000, "00000200000900040100000000"},
	{DAT, 3, 9, 4, "e.bi", 0x0866bf6c, "0000030000090004030866bf6c652e6269"},
	{ACK, 3, 9, 4, "", 0x00000000, "00000300000900040100000000"},
	{DAT, 4, 9, 1, "n", 0xea357156, "000004000009000103ea3571566e"},
	{ACK, 4, 9, 1, "", 0x00000000, "00000400000900010100000000"},
	{DAT, 5, 9, 4, "It i", 0xa953e348, "000005000009000403a953e34849742069"},
	{ACK, 5, 9, 4, "", 0x00000000, "00000500000900040100000000"},
	{DAT, 6, 9, 4, "s a ", 0x22f09c90, "00000600000900040322f09c9073206120"},
	{ACK, 6, 9, 4, "", 0x00000000, "00000600000900040100000000"},
	{DAT, 7, 9, 4, "smal", 0xe4565078, "000007000009000403e4565078736d616c"},
	{ACK, 7, 9, 4, "", 0x00000000, "00000700000900040100000000"},
	{DAT, 8, 9, 4, "l fi", 0x38bd9fac, "00000800000900040338bd9fac6c206669"},
	{ACK, 8, 9, 4, "", 0x00000000, "00000800000900040100000000"},
	{DAT, 9, 9, 3, "le.", 0xc2dcdd21, "000009000009000303c2dcdd216c652e"},
	{ACK, 9, 9, 3, "", 0x00000000, "00000900000900030100000000"},
}

// KPA and FIN frames with their real CRC, from the same script; the
// original sends them with crc 0.
const (
	kpaCRC = 0xe164d0b7
	finCRC = 0x9663e021
)

func (e exampleFrame) frame() Frame {
	f := Frame{Header: Header{Seq: e.seq, Count: e.count, Size: e.size, Type: e.typ, CRC: e.crc}}
	if e.data != "" {
		f.Data = []byte(e.data)
	}
	return f
}

func (e exampleFrame) String() string {
	return fmt.Sprintf("%v seq %d count %d size %d %q", e.typ, e.seq, e.count, e.size, e.data)
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sameFrame(a, b Frame) bool {
	return a.Header == b.Header && bytes.Equal(a.Data, b.Data)
}

// exampleWires returns every frame of both examples, encoded.
func exampleWires(t testing.TB) [][]byte {
	var out [][]byte
	for _, e := range append(append([]exampleFrame{}, textExample...), fileExample...) {
		out = append(out, mustHex(t, e.wire))
	}
	return out
}

// TestExampleFrames checks every field and the CRC of every frame of the
// document's examples, both ways.
func TestExampleFrames(t *testing.T) {
	for name, frames := range map[string][]exampleFrame{"text": textExample, "file": fileExample} {
		for _, e := range frames {
			t.Run(fmt.Sprintf("%s/%v", name, e), func(t *testing.T) {
				wire := mustHex(t, e.wire)
				want := e.frame()
				if got := Append(nil, want); !bytes.Equal(got, wire) {
					t.Errorf("Append = %x, want %x", got, wire)
				}
				got, err := Parse(wire)
				if err != nil {
					t.Fatalf("Parse(%x): %v", wire, err)
				}
				if !sameFrame(got, want) {
					t.Errorf("Parse(%x) = %+v %q, want %+v %q", wire, got.Header, got.Data, want.Header, want.Data)
				}
				if e.typ.checked() {
					if sum := checksum(wire[:9], wire[HeaderLen:]); sum != e.crc {
						t.Errorf("checksum = 0x%08x, want 0x%08x (zlib.crc32)", sum, e.crc)
					}
				}
			})
		}
	}
}

// TestExampleTransfers plays both examples through the package's helpers,
// the sender with NewPlan and Fragment, the receiver with Parse, PlanOf,
// Check and AckFor, and compares the exchange with the document's byte by
// byte, frame by frame.
func TestExampleTransfers(t *testing.T) {
	tests := []struct {
		name    string
		kind    byte
		file    string
		content string
		want    []exampleFrame
	}{
		{"text", KindText, "", "Toto je textova sprava.", textExample},
		{"file", KindFile, "smallFile.bin", "It is a small file.", fileExample},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, name, content := transfer(t, tt.kind, tt.file, []byte(tt.content), 4)
			if len(got) != len(tt.want) {
				t.Fatalf("%d frames exchanged, want %d", len(got), len(tt.want))
			}
			for i, e := range tt.want {
				if want := mustHex(t, e.wire); !bytes.Equal(got[i], want) {
					t.Errorf("frame %d (%v) = %x, want %x", i, e, got[i], want)
				}
			}
			if name != tt.file || content != tt.content {
				t.Errorf("receiver got name %q content %q, want %q %q", name, content, tt.file, tt.content)
			}
		})
	}
}

// transfer runs one lossless legacy transfer and returns every datagram in
// the order sent, alternating sender and receiver, with what the receiver
// put together.
func transfer(t *testing.T, kind byte, file string, content []byte, fragSize int) (wires [][]byte, name, got string) {
	t.Helper()
	plan, err := NewPlan(kind, file, int64(len(content)), fragSize)
	if err != nil {
		t.Fatalf("NewPlan: %v", err)
	}
	// exchange sends f, parses it on the other side, and returns it there.
	exchange := func(f Frame) Frame {
		t.Helper()
		b := Append(nil, f)
		wires = append(wires, b)
		g, err := Parse(b)
		if err != nil {
			t.Fatalf("Parse(%x): %v", b, err)
		}
		return g
	}
	inf := exchange(plan.Info())
	ack := exchange(AckFor(inf))
	if !Answers(plan.Info(), ack) {
		t.Fatalf("ACK %+v does not answer the INF", ack.Header)
	}
	recv, err := PlanOf(inf)
	if err != nil {
		t.Fatalf("PlanOf: %v", err)
	}
	var nameBuf, contentBuf []byte
	for seq := uint32(1); seq <= plan.Count; seq++ {
		fr, err := plan.Fragment(seq)
		if err != nil {
			t.Fatalf("Fragment(%d): %v", seq, err)
		}
		src := content
		if fr.Name {
			src = []byte(file)
		}
		data := src[fr.Start:fr.End]
		sent := Frame{Header: Header{Seq: seq, Count: plan.Count, Size: uint16(len(data)), Type: DAT}, Data: data}
		dat := exchange(sent)
		place, err := recv.Check(dat)
		if err != nil {
			t.Fatalf("Check(DAT %d): %v", seq, err)
		}
		dst := &contentBuf
		if place.Name {
			dst = &nameBuf
		}
		if int64(len(*dst)) != place.Start || place.End-place.Start != int64(len(dat.Data)) {
			t.Fatalf("DAT %d placed at %+v after %d bytes", seq, place, len(*dst))
		}
		*dst = append(*dst, dat.Data...)
		if ack := exchange(AckFor(dat)); !Answers(sent, ack) {
			t.Fatalf("ACK %+v does not answer DAT %d", ack.Header, seq)
		}
	}
	return wires, string(nameBuf), string(contentBuf)
}
