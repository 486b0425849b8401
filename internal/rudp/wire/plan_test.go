package wire

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestNewPlan(t *testing.T) {
	name255 := strings.Repeat("n", MaxName)
	tests := []struct {
		name       string
		kind       byte
		file       string
		content    int64
		fragSize   int
		nameFrames uint32
		count      uint32
	}{
		{"empty text", KindText, "", 0, 4, 0, 0},
		{"1-byte text", KindText, "", 1, 4, 0, 1},
		{"exactly one fragment", KindText, "", 4, 4, 0, 1},
		{"one byte more", KindText, "", 5, 4, 0, 2},
		{"document text", KindText, "", 23, 4, 0, 6},
		{"F=1", KindText, "", 3, 1, 0, 3},
		{"F=1445 one fragment", KindText, "", 1445, 1445, 0, 1},
		{"F=1445 one byte more", KindText, "", 1446, 1445, 0, 2},
		{"most frames", KindText, "", MaxSeq, 1, 0, MaxSeq},
		{"empty file", KindFile, "a", 0, 4, 1, 1},
		{"name shorter than F", KindFile, "a", 5, 4, 1, 3},
		{"name exactly F", KindFile, "abcd", 4, 4, 1, 2},
		{"name longer than F", KindFile, "smallFile.bin", 19, 4, 4, 9},
		{"longest name at F=1", KindFile, name255, 1, 1, 255, 256},
		{"longest name in one frame", KindFile, name255, 1445, 1445, 1, 2},
		{"most frames with a name", KindFile, "a", MaxSeq - 1, 1, 1, MaxSeq},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPlan(tt.kind, tt.file, tt.content, tt.fragSize)
			if err != nil {
				t.Fatalf("NewPlan: %v", err)
			}
			if p.Kind != tt.kind || p.FragSize != tt.fragSize || p.NameFrames != tt.nameFrames || p.Count != tt.count {
				t.Errorf("NewPlan = kind %q F %d name frames %d count %d, want %q %d %d %d",
					p.Kind, p.FragSize, p.NameFrames, p.Count, tt.kind, tt.fragSize, tt.nameFrames, tt.count)
			}
			inf := p.Info()
			want := Frame{Header: hdr(INF, tt.nameFrames, tt.count, uint16(tt.fragSize)), Data: []byte{tt.kind}}
			if !sameFrame(inf, want) {
				t.Errorf("Info() = %+v %q, want %+v %q", inf.Header, inf.Data, want.Header, want.Data)
			}
			if _, err := Parse(Append(nil, inf)); err != nil {
				t.Errorf("Parse(Info()): %v", err)
			}
			if _, err := PlanOf(inf); err != nil {
				t.Errorf("PlanOf(Info()): %v", err)
			}
			// The last frame of each part holds what is left.
			if tt.count > 0 {
				last, err := p.Fragment(tt.count)
				if err != nil {
					t.Fatalf("Fragment(%d): %v", tt.count, err)
				}
				if total := int64(len(tt.file)); last.Name && last.End != total || !last.Name && last.End != tt.content {
					t.Errorf("Fragment(%d) = %+v, ends before the data", tt.count, last)
				}
			}
		})
	}
}

func TestNewPlanErrors(t *testing.T) {
	tests := []struct {
		name     string
		kind     byte
		file     string
		content  int64
		fragSize int
		want     error
	}{
		{"other kind", 'X', "", 1, 4, ErrKind},
		{"lowercase kind", 't', "", 1, 4, ErrKind},
		{"F=0", KindText, "", 1, 0, ErrSize},
		{"negative F", KindText, "", 1, -1, ErrSize},
		{"F=1446", KindText, "", 1, 1446, ErrSize},
		{"text with a name", KindText, "a", 1, 4, ErrBadName},
		{"file without a name", KindFile, "", 1, 4, ErrBadName},
		{"name too long", KindFile, strings.Repeat("n", MaxName+1), 1, 1445, ErrBadName},
		{"name with a path", KindFile, "dir/a", 1, 4, ErrBadName},
		{"negative length", KindText, "", -1, 4, ErrLength},
		{"one frame too many", KindText, "", MaxSeq + 1, 1, ErrLength},
		{"one frame too many with a name", KindFile, "a", MaxSeq, 1, ErrLength},
		{"largest int64", KindText, "", math.MaxInt64, 1445, ErrLength},
		{"largest int64 at F=1", KindFile, "a", math.MaxInt64, 1, ErrLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p, err := NewPlan(tt.kind, tt.file, tt.content, tt.fragSize); !errors.Is(err, tt.want) {
				t.Errorf("NewPlan = %+v, %v; want %v", p, err, tt.want)
			}
		})
	}
}

func TestFragment(t *testing.T) {
	p, err := NewPlan(KindFile, "smallFile.bin", 19, 4)
	if err != nil {
		t.Fatal(err)
	}
	recv, err := PlanOf(p.Info())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		seq  uint32
		want Fragment
		recv Fragment // on the receiver's plan, which does not know lengths
	}{
		{1, Fragment{true, 0, 4}, Fragment{true, 0, 4}},
		{3, Fragment{true, 8, 12}, Fragment{true, 8, 12}},
		{4, Fragment{true, 12, 13}, Fragment{true, 12, 16}},
		{5, Fragment{false, 0, 4}, Fragment{false, 0, 4}},
		{9, Fragment{false, 16, 19}, Fragment{false, 16, 20}},
	}
	for _, tt := range tests {
		if got, err := p.Fragment(tt.seq); err != nil || got != tt.want {
			t.Errorf("Fragment(%d) = %+v, %v; want %+v", tt.seq, got, err, tt.want)
		}
		if got, err := recv.Fragment(tt.seq); err != nil || got != tt.recv {
			t.Errorf("receiver's Fragment(%d) = %+v, %v; want %+v", tt.seq, got, err, tt.recv)
		}
	}
	for _, seq := range []uint32{0, 10, MaxSeq} {
		if got, err := p.Fragment(seq); !errors.Is(err, ErrSeq) {
			t.Errorf("Fragment(%d) = %+v, %v; want ErrSeq", seq, got, err)
		}
	}
	for _, bad := range []Plan{{}, {FragSize: 4, NameFrames: 2, Count: 1}, {FragSize: 0, Count: 1}, {FragSize: 4, Count: MaxSeq + 1}} {
		if got, err := bad.Fragment(1); err == nil {
			t.Errorf("Plan%+v.Fragment(1) = %+v, want an error", bad, got)
		}
	}
}

// TestPlanCoverage checks, over many small transfers, that the fragments
// of a plan are non-empty, at most F bytes, in order, and cover the name
// and content exactly, and that a receiver's plan places every frame the
// sender's sends at the same bytes.
func TestPlanCoverage(t *testing.T) {
	for _, fragSize := range []int{1, 2, 3, 4, 7, MaxData} {
		for _, file := range []string{"", "a", "abcd", "smallFile.bin"} {
			for content := range int64(3*fragSize + 2) {
				if fragSize == MaxData && content > 3 && content < 3*MaxData-3 {
					continue // the middle of a big range tells nothing new
				}
				kind := byte(KindFile)
				if file == "" {
					kind = KindText
				}
				p, err := NewPlan(kind, file, content, fragSize)
				if err != nil {
					t.Fatalf("NewPlan(%q, %q, %d, %d): %v", kind, file, content, fragSize, err)
				}
				recv, err := PlanOf(p.Info())
				if err != nil {
					t.Fatalf("PlanOf: %v", err)
				}
				var nameEnd, contentEnd int64
				for seq := uint32(1); seq <= p.Count; seq++ {
					fr, err := p.Fragment(seq)
					if err != nil {
						t.Fatalf("Fragment(%d): %v", seq, err)
					}
					end := &contentEnd
					if fr.Name {
						end = &nameEnd
						if contentEnd > 0 {
							t.Fatalf("name fragment %d after content", seq)
						}
					}
					if n := fr.End - fr.Start; fr.Start != *end || n < 1 || n > int64(fragSize) {
						t.Fatalf("F=%d %q %d: Fragment(%d) = %+v after %d bytes", fragSize, file, content, seq, fr, *end)
					}
					*end = fr.End
					dat := Frame{Header: hdr(DAT, seq, p.Count, uint16(fr.End-fr.Start)), Data: make([]byte, fr.End-fr.Start)}
					for _, plan := range []Plan{p, recv} {
						if got, err := plan.Check(dat); err != nil || got != fr {
							t.Fatalf("Check(DAT %d) = %+v, %v; want %+v", seq, got, err, fr)
						}
					}
				}
				if nameEnd != int64(len(file)) || contentEnd != content {
					t.Fatalf("F=%d %q %d: fragments cover %d name and %d content bytes", fragSize, file, content, nameEnd, contentEnd)
				}
			}
		}
	}
}

func TestCheckErrors(t *testing.T) {
	sender, err := NewPlan(KindFile, "smallFile.bin", 19, 4)
	if err != nil {
		t.Fatal(err)
	}
	recv, err := PlanOf(sender.Info())
	if err != nil {
		t.Fatal(err)
	}
	dat := func(seq, count uint32, data string) Frame {
		return Frame{Header: hdr(DAT, seq, count, uint16(len(data))), Data: []byte(data)}
	}
	tests := []struct {
		name string
		dat  Frame
		want error
	}{
		{"not a DAT", Frame{Header: hdr(ACK, 1, 9, 4)}, ErrType},
		{"other transfer", dat(1, 8, "smal"), ErrSeq},
		{"seq 0", dat(0, 9, "smal"), ErrSeq},
		{"seq past count", dat(10, 9, "smal"), ErrSeq},
		{"short name frame", dat(1, 9, "sma"), ErrSize},
		{"long name frame", dat(1, 9, "small"), ErrSize},
		{"short content frame", dat(5, 9, "It "), ErrSize},
		{"empty last name frame", dat(4, 9, ""), ErrSize},
		{"long last name frame", dat(4, 9, "n.bin"), ErrSize},
		{"empty last content frame", dat(9, 9, ""), ErrSize},
		{"size field not data length", Frame{Header: hdr(DAT, 1, 9, 3), Data: []byte("smal")}, ErrSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, p := range []Plan{sender, recv} {
				if got, err := p.Check(tt.dat); !errors.Is(err, tt.want) {
					t.Errorf("Check(%+v %q) on sized=%v = %+v, %v; want %v", tt.dat.Header, tt.dat.Data, p.sized, got, err, tt.want)
				}
			}
		})
	}
	// A last frame shorter than the rest is fine for a receiver, which does
	// not know the length, but not for the sender, which does.
	short := dat(4, 9, "n.")
	if _, err := recv.Check(short); err != nil {
		t.Errorf("receiver's Check(%q as last name frame): %v", short.Data, err)
	}
	if _, err := sender.Check(short); !errors.Is(err, ErrSize) {
		t.Errorf("sender's Check(%q as last name frame) = %v, want ErrSize", short.Data, err)
	}
}

func TestPlanOf(t *testing.T) {
	tests := []struct {
		name string
		inf  Frame
		want error
	}{
		{"text", Frame{hdr(INF, 0, 6, 4), []byte("T")}, nil},
		{"file", Frame{hdr(INF, 4, 9, 4), []byte("F")}, nil},
		{"not an INF", Frame{hdr(ACK, 4, 9, 4), []byte("F")}, ErrType},
		{"bad kind", Frame{hdr(INF, 0, 6, 4), []byte("X")}, ErrKind},
		{"bad size", Frame{hdr(INF, 0, 6, 0), []byte("T")}, ErrSize},
		{"text with name frames", Frame{hdr(INF, 1, 6, 4), []byte("T")}, ErrSeq},
		// 64 frames of 4 bytes can hold 253 to 256 bytes; 65 at least 257.
		{"name of up to 256 bytes", Frame{hdr(INF, 64, 64, 4), []byte("F")}, nil},
		{"name of at least 257 bytes", Frame{hdr(INF, 65, 65, 4), []byte("F")}, ErrBadName},
		{"name of 255 frames of 1", Frame{hdr(INF, 255, 255, 1), []byte("F")}, nil},
		{"name of 256 frames of 1", Frame{hdr(INF, 256, 256, 1), []byte("F")}, ErrBadName},
		{"text of many frames", Frame{hdr(INF, 0, MaxSeq, 1), []byte("T")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PlanOf(tt.inf)
			if !errors.Is(err, tt.want) {
				t.Fatalf("PlanOf(%+v %q) = %v, want %v", tt.inf.Header, tt.inf.Data, err, tt.want)
			}
			if err == nil && !bytes.Equal(Append(nil, p.Info()), Append(nil, tt.inf)) {
				t.Errorf("PlanOf(inf).Info() = %+v, want %+v", p.Info().Header, tt.inf.Header)
			}
		})
	}
}
