package wire

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestTypeString(t *testing.T) {
	tests := []struct {
		typ  Type
		want string
	}{
		{INF, "INF"}, {ACK, "ACK"}, {NACK, "NACK"}, {DAT, "DAT"}, {KPA, "KPA"}, {FIN, "FIN"},
		{6, "Type(6)"}, {255, "Type(255)"},
	}
	for _, tt := range tests {
		if got := tt.typ.String(); got != tt.want {
			t.Errorf("Type(%d).String() = %q, want %q", uint8(tt.typ), got, tt.want)
		}
	}
}

func hdr(typ Type, seq, count uint32, size uint16) Header {
	return Header{Seq: seq, Count: count, Size: size, Type: typ}
}

func TestRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte{0xa5}, MaxData)
	tests := []struct {
		name string
		f    Frame
	}{
		{"INF text", Frame{hdr(INF, 0, 6, 4), []byte("T")}},
		{"INF empty text", Frame{hdr(INF, 0, 0, 1), []byte("T")}},
		{"INF file", Frame{hdr(INF, 4, 9, 4), []byte("F")}},
		{"INF empty file", Frame{hdr(INF, 1, 1, 1445), []byte("F")}},
		{"INF largest", Frame{hdr(INF, MaxSeq, MaxSeq, MaxData), []byte("F")}},
		{"DAT one byte", Frame{hdr(DAT, 1, 1, 1), []byte{0}}},
		{"DAT largest frame", Frame{hdr(DAT, MaxSeq, MaxSeq, MaxData), big}},
		{"ACK of INF", Frame{hdr(ACK, 0, 6, 4), []byte("T")}},
		{"ACK of DAT", Frame{hdr(ACK, 6, 6, 3), nil}},
		{"ACK of KPA", Frame{hdr(ACK, 0, 0, 0), nil}},
		{"NACK of DAT", Frame{hdr(NACK, 3, 9, 4), nil}},
		{"NACK of damaged header", Frame{hdr(NACK, MaxSeq, 0, 0xffff), nil}},
		{"KPA", Frame{hdr(KPA, 0, 0, 0), nil}},
		{"FIN", Frame{hdr(FIN, 0, 0, 0), nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("xy")
			b := Append(prefix, tt.f)
			if !bytes.Equal(b[:2], []byte("xy")) || len(b) != 2+HeaderLen+len(tt.f.Data) {
				t.Fatalf("Append(%q, f) = %x: prefix lost or wrong length", prefix, b)
			}
			got, err := Parse(b[2:])
			if err != nil {
				t.Fatalf("Parse(Append(f)): %v", err)
			}
			want := tt.f
			if tt.f.Type.checked() {
				want.CRC = checksum(b[2:11], tt.f.Data)
			}
			if !sameFrame(got, want) {
				t.Errorf("Parse(Append(f)) = %+v, want %+v", got.Header, want.Header)
			}
			if again := Append(nil, got); !bytes.Equal(again, b[2:]) {
				t.Errorf("Append(Parse(b)) = %x, want %x", again, b[2:])
			}
		})
	}
}

func TestAppendIgnoresCRC(t *testing.T) {
	for _, f := range []Frame{
		{hdr(DAT, 1, 6, 4), []byte("Toto")},
		{hdr(ACK, 1, 6, 4), nil},
	} {
		a := Append(nil, f)
		f.CRC = 0xdeadbeef
		if b := Append(nil, f); !bytes.Equal(a, b) {
			t.Errorf("Append of %v with CRC field set = %x, want %x", f.Type, b, a)
		}
	}
}

func TestAppendWithCRC(t *testing.T) {
	f := Frame{hdr(DAT, 1, 6, 4), []byte("Toto")}
	got := AppendWithCRC(nil, f, 0x01020304)
	want := mustHex(t, "000001000006000403"+"01020304"+"546f746f")
	if !bytes.Equal(got, want) {
		t.Errorf("AppendWithCRC = %x, want %x", got, want)
	}
}

func TestAppendPanics(t *testing.T) {
	tests := []struct {
		name string
		f    Frame
	}{
		{"seq over 24 bits", Frame{Header: hdr(DAT, MaxSeq+1, MaxSeq, 1), Data: []byte{1}}},
		{"count over 24 bits", Frame{Header: hdr(ACK, 1, MaxSeq+1, 1)}},
		{"data over MaxData", Frame{Header: hdr(DAT, 1, 1, 0), Data: make([]byte, MaxData+1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Append(%+v) did not panic", tt.f.Header)
				}
			}()
			Append(nil, tt.f)
		})
	}
}

func TestParseErrors(t *testing.T) {
	enc := func(typ Type, seq, count uint32, size uint16, data string) []byte {
		f := Frame{Header: hdr(typ, seq, count, size)}
		if data != "" {
			f.Data = []byte(data)
		}
		return Append(nil, f)
	}
	// withCRC re-encodes b with a real crc even on types sent with 0, so
	// these cases fail on their fields and not on the crc.
	withCRC := func(b []byte) []byte {
		b = bytes.Clone(b)
		sum := checksum(b[:9], b[HeaderLen:])
		b[9], b[10], b[11], b[12] = byte(sum>>24), byte(sum>>16), byte(sum>>8), byte(sum)
		return b
	}
	tooLong := append(enc(DAT, 1, 1, MaxData, string(make([]byte, MaxData))), 0)
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"one byte", []byte{0}, ErrShort},
		{"12 bytes", make([]byte, 12), ErrShort},
		{"1459 bytes", tooLong, ErrTooLong},
		{"type 6", withCRC(append(make([]byte, 8), 6, 0, 0, 0, 0)), ErrType},
		{"type 255", append(make([]byte, 8), 255, 0, 0, 0, 0), ErrType},

		{"INF crc 0", AppendWithCRC(nil, Frame{hdr(INF, 0, 6, 4), []byte("T")}, 0), ErrCRC},
		{"INF no data", enc(INF, 0, 6, 4, ""), ErrKind},
		{"INF lowercase t", enc(INF, 0, 6, 4, "t"), ErrKind},
		{"INF other kind", enc(INF, 0, 6, 4, "X"), ErrKind},
		{"INF two bytes", enc(INF, 0, 6, 4, "TT"), ErrKind},
		{"INF size 0", enc(INF, 0, 6, 0, "T"), ErrSize},
		{"INF size 1446", enc(INF, 0, 6, 1446, "T"), ErrSize},
		{"INF text with name frames", enc(INF, 1, 6, 4, "T"), ErrSeq},
		{"INF file without name frames", enc(INF, 0, 6, 4, "F"), ErrSeq},
		{"INF more name frames than frames", enc(INF, 5, 4, 4, "F"), ErrSeq},

		{"DAT crc 0", AppendWithCRC(nil, Frame{hdr(DAT, 1, 6, 4), []byte("Toto")}, 0), ErrCRC},
		{"DAT crc off by one bit", AppendWithCRC(nil, Frame{hdr(DAT, 1, 6, 4), []byte("Toto")}, 0x451e7cd1), ErrCRC},
		{"DAT size below data", enc(DAT, 1, 6, 3, "Toto"), ErrSize},
		{"DAT size above data", enc(DAT, 1, 6, 5, "Toto"), ErrSize},
		{"DAT no data", enc(DAT, 1, 6, 0, ""), ErrSize},
		{"DAT seq 0", enc(DAT, 0, 6, 4, "Toto"), ErrSeq},
		{"DAT seq past count", enc(DAT, 7, 6, 4, "Toto"), ErrSeq},
		{"DAT count 0", enc(DAT, 1, 0, 4, "Toto"), ErrSeq},

		{"ACK wrong nonzero crc", AppendWithCRC(nil, Frame{Header: hdr(ACK, 1, 6, 4)}, 1), ErrCRC},
		{"ACK other data", enc(ACK, 0, 6, 4, "X"), ErrKind},
		{"ACK of text INF with name frames", enc(ACK, 1, 6, 4, "T"), ErrSeq},
		{"ACK of INF size 0", enc(ACK, 0, 6, 0, "T"), ErrSize},
		{"ACK seq 0 with count", enc(ACK, 0, 6, 0, ""), ErrSeq},
		{"ACK seq 0 with size", enc(ACK, 0, 0, 4, ""), ErrSize},
		{"ACK seq past count", enc(ACK, 7, 6, 4, ""), ErrSeq},
		{"ACK of DAT size 0", enc(ACK, 1, 6, 0, ""), ErrSize},
		{"ACK of DAT size 1446", enc(ACK, 1, 6, 1446, ""), ErrSize},

		{"NACK wrong nonzero crc", AppendWithCRC(nil, Frame{Header: hdr(NACK, 1, 6, 4)}, 1), ErrCRC},
		{"NACK with data", enc(NACK, 1, 6, 4, "Toto"), ErrData},

		{"KPA wrong nonzero crc", AppendWithCRC(nil, KeepAlive(), kpaCRC^1), ErrCRC},
		{"KPA seq", enc(KPA, 1, 0, 0, ""), ErrSeq},
		{"KPA count", enc(KPA, 0, 1, 0, ""), ErrSeq},
		{"KPA size", enc(KPA, 0, 0, 1, ""), ErrSize},
		{"KPA data", enc(KPA, 0, 0, 0, "x"), ErrData},
		{"KPA fields with real crc", withCRC(enc(KPA, 1, 1, 1, "")), ErrSeq},
		{"FIN wrong nonzero crc", AppendWithCRC(nil, Fin(), finCRC^1), ErrCRC},
		{"FIN seq", enc(FIN, 1, 0, 0, ""), ErrSeq},
		{"FIN count", enc(FIN, 0, 1, 0, ""), ErrSeq},
		{"FIN size", enc(FIN, 0, 0, 1, ""), ErrSize},
		{"FIN data", enc(FIN, 0, 0, 0, "x"), ErrData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(tt.b)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse(%x) error = %v, want %v", tt.b, err, tt.want)
			}
			if err.Error()[:6] != "wire: " {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if tt.want != ErrCRC && !sameFrame(f, Frame{}) {
				t.Errorf("Parse(%x) = %+v with %v, want the zero Frame", tt.b, f.Header, err)
			}
		})
	}
}

// TestCRCZero checks that ACK, NACK, KPA and FIN are accepted with crc 0
// and with their real crc, and that INF and DAT are not accepted with 0.
func TestCRCZero(t *testing.T) {
	frames := []Frame{
		{hdr(ACK, 0, 6, 4), []byte("T")},
		{hdr(ACK, 4, 9, 1), nil},
		{hdr(ACK, 0, 0, 0), nil},
		{hdr(NACK, 4, 9, 1), nil},
		{hdr(NACK, 0, 0, 0), nil},
		KeepAlive(),
		Fin(),
	}
	for _, f := range frames {
		t.Run(fmt.Sprintf("%v %d", f.Type, f.Seq), func(t *testing.T) {
			zero := AppendWithCRC(nil, f, 0)
			if !bytes.Equal(zero, Append(nil, f)) {
				t.Errorf("Append does not send %v with crc 0", f.Type)
			}
			if _, err := Parse(zero); err != nil {
				t.Errorf("Parse(%x) with crc 0: %v", zero, err)
			}
			sum := checksum(zero[:9], zero[HeaderLen:])
			got, err := Parse(AppendWithCRC(nil, f, sum))
			if err != nil {
				t.Errorf("Parse with real crc 0x%08x: %v", sum, err)
			} else if got.CRC != sum {
				t.Errorf("Parse kept CRC 0x%08x, want 0x%08x", got.CRC, sum)
			}
			if _, err := Parse(AppendWithCRC(nil, f, sum^0x80)); !errors.Is(err, ErrCRC) {
				t.Errorf("Parse with wrong nonzero crc: %v, want ErrCRC", err)
			}
		})
	}
	if got := checksum(Append(nil, KeepAlive())[:9], nil); got != kpaCRC {
		t.Errorf("KPA crc = 0x%08x, want 0x%08x (zlib.crc32)", got, kpaCRC)
	}
	if got := checksum(Append(nil, Fin())[:9], nil); got != finCRC {
		t.Errorf("FIN crc = 0x%08x, want 0x%08x (zlib.crc32)", got, finCRC)
	}
}

// TestTruncated checks that every proper prefix of every valid frame is
// rejected, with one exception the format cannot avoid.
func TestTruncated(t *testing.T) {
	wires := exampleWires(t)
	for _, f := range []Frame{KeepAlive(), Fin(), AckFor(KeepAlive()), {hdr(NACK, 1, 6, 4), nil},
		{hdr(DAT, 1, 1, MaxData), bytes.Repeat([]byte("x"), MaxData)}} {
		wires = append(wires, Append(nil, f))
	}
	exceptions := 0
	for _, w := range wires {
		for n := range len(w) {
			f, err := Parse(w[:n])
			if err == nil {
				// An ACK of a file's INF ends in its kind byte and carries
				// crc 0; without that byte it reads as the ACK of the DAT
				// whose seq is the INF's name frame count. Only the
				// datagram's length can tell them apart.
				if n == HeaderLen && w[8] == byte(ACK) && len(w) == HeaderLen+1 && w[HeaderLen] == KindFile &&
					f.Type == ACK && f.Seq == uint32(w[2]) && f.Data == nil {
					exceptions++
					continue
				}
				t.Errorf("Parse(%x), a %d-byte prefix of %x, = %+v, want an error", w[:n], n, w, f.Header)
			}
		}
	}
	if exceptions != 1 { // the file example's ACK of its INF
		t.Errorf("%d truncated ACKs of a file INF parsed, want 1", exceptions)
	}
}

// TestBitFlips checks that every single-bit error anywhere in an INF or DAT
// frame is rejected.
func TestBitFlips(t *testing.T) {
	for _, w := range exampleWires(t) {
		if typ := Type(w[8]); !typ.checked() {
			continue
		}
		for bit := range 8 * len(w) {
			b := bytes.Clone(w)
			b[bit/8] ^= 0x80 >> (bit % 8)
			if f, err := Parse(b); err == nil {
				t.Errorf("Parse(%x), %x with bit %d flipped, = %+v, want an error", b, w, bit, f.Header)
			}
		}
	}
}

func TestCorrupt(t *testing.T) {
	dat := Frame{hdr(DAT, 1, 6, 4), []byte("Toto")}
	tests := []struct {
		name    string
		f       Frame
		bit     int
		byteAt  int
		mask    byte
		wantErr error
	}{
		{"first data bit", dat, 0, 13, 0x80, ErrCRC},
		{"last data bit", dat, 31, 16, 0x01, ErrCRC},
		{"modulo the data bits", dat, 32 + 9, 14, 0x40, ErrCRC},
		{"INF kind byte", Frame{hdr(INF, 0, 6, 4), []byte("T")}, 7, 13, 0x01, ErrCRC},
		// With no data the header is flipped: a crc-0 ACK hides a flip in
		// bytes 0..8, one in the crc field makes it nonzero and checked.
		{"ACK header", Frame{Header: hdr(ACK, 0, 0, 0)}, 8*9 + 7, 9, 0x01, ErrCRC},
		{"KPA seq", KeepAlive(), 23, 2, 0x01, ErrSeq},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := Append(nil, tt.f)
			b := bytes.Clone(w)
			Corrupt(b, tt.bit)
			for i := range b {
				want := w[i]
				if i == tt.byteAt {
					want ^= tt.mask
				}
				if b[i] != want {
					t.Fatalf("Corrupt(%x, %d) = %x, want byte %d flipped by %#02x", w, tt.bit, b, tt.byteAt, tt.mask)
				}
			}
			f, err := Parse(b)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Parse(corrupted) error = %v, want %v", err, tt.wantErr)
			}
			// A damaged DAT still yields its header, so the receiver can
			// NACK it and the sender will take that NACK as the answer.
			if tt.f.Type == DAT {
				nack := NackFor(f)
				if !Answers(tt.f, nack) || nack.Type != NACK {
					t.Errorf("NackFor(%+v) = %+v, does not answer the DAT sent", f.Header, nack.Header)
				}
			}
		})
	}
	for _, bad := range []struct {
		b   []byte
		bit int
	}{{nil, 0}, {Append(nil, dat), -1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Corrupt(%x, %d) did not panic", bad.b, bad.bit)
				}
			}()
			Corrupt(bad.b, bad.bit)
		}()
	}
}

func TestParseDataAliases(t *testing.T) {
	b := append(Append(nil, Frame{hdr(DAT, 1, 6, 4), []byte("Toto")}), "spare"...)
	b = b[:len(b)-len("spare")]
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if &f.Data[0] != &b[HeaderLen] {
		t.Errorf("Data does not alias the parsed buffer")
	}
	if cap(f.Data) != len(f.Data) {
		t.Errorf("cap(Data) = %d, want %d: appending to Data would overwrite the caller's buffer", cap(f.Data), len(f.Data))
	}
	f, err = Parse(Append(nil, KeepAlive()))
	if err != nil || f.Data != nil {
		t.Errorf("Parse(KPA) = %v, %v; want nil Data", f.Data, err)
	}
}

func TestAllocs(t *testing.T) {
	dat := mustHex(t, textExample[2].wire)
	f, err := Parse(dat)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, MaxFrame)
	if n := testing.AllocsPerRun(100, func() { f, err = Parse(dat) }); n != 0 {
		t.Errorf("Parse allocates %v times, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { buf = Append(buf[:0], f) }); n != 0 {
		t.Errorf("Append allocates %v times, want 0", n)
	}
	ack := AckFor(f)
	if n := testing.AllocsPerRun(100, func() { buf = Append(buf[:0], AckFor(f)) }); n != 0 {
		t.Errorf("Append(AckFor) allocates %v times, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = Answers(f, ack) }); n != 0 {
		t.Errorf("Answers allocates %v times, want 0", n)
	}
}

func BenchmarkParse(b *testing.B) {
	w := Append(nil, Frame{hdr(DAT, 1, 1, MaxData), make([]byte, MaxData)})
	b.SetBytes(int64(len(w)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(w); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	f := Frame{hdr(DAT, 1, 1, MaxData), make([]byte, MaxData)}
	buf := make([]byte, 0, MaxFrame)
	b.SetBytes(MaxFrame)
	b.ReportAllocs()
	for b.Loop() {
		buf = Append(buf[:0], f)
	}
}
