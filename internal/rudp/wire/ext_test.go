package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestExtTypeString(t *testing.T) {
	tests := []struct {
		typ  Type
		want string
	}{
		{HELLO, "HELLO"}, {WELCOME, "WELCOME"}, {REJECT, "REJECT"}, {HANDSHAKE, "HANDSHAKE"},
		{OPEN, "OPEN"}, {ACCEPT, "ACCEPT"}, {DATA, "DATA"}, {SACK, "SACK"}, {END, "END"},
		{DONE, "DONE"}, {ABORT, "ABORT"}, {PING, "PING"}, {PONG, "PONG"}, {CLOSE, "CLOSE"},
		{15, "Type(15)"}, {30, "Type(30)"}, {255, "Type(255)"},
	}
	for _, tt := range tests {
		if got := tt.typ.String(); got != tt.want {
			t.Errorf("Type(%d).String() = %q, want %q", uint8(tt.typ), got, tt.want)
		}
	}
}

func TestExtendedSealable(t *testing.T) {
	for typ := range Type(255) {
		ext := typ >= HELLO && typ <= CLOSE
		if got := typ.Extended(); got != ext {
			t.Errorf("%v.Extended() = %v, want %v", typ, got, ext)
		}
		// The handshake frames are never sealed; everything after is.
		seal := typ >= OPEN && typ <= CLOSE
		if got := typ.Sealable(); got != seal {
			t.Errorf("%v.Sealable() = %v, want %v", typ, got, seal)
		}
	}
}

func TestIsExtended(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want bool
	}{
		{"INF", Append(nil, Frame{hdr(INF, 0, 1, 4), []byte("T")}), false},
		{"DAT", Append(nil, Frame{hdr(DAT, 1, 1, 2), []byte("hi")}), false},
		{"ACK", Append(nil, AckFor(KeepAlive())), false},
		{"NACK", Append(nil, Frame{hdr(NACK, 1, 6, 4), nil}), false},
		{"KPA", Append(nil, KeepAlive()), false},
		{"FIN", Append(nil, Fin()), false},
		{"type 15", xframe(XHeader{Type: 15}, nil), false},
		{"type 30", xframe(XHeader{Type: 30}, nil), false},
		{"short HELLO", xframe(XHeader{Type: HELLO}, nil)[:HeaderLen-1], false},
		{"empty", nil, false},
		{"HELLO", xframe(XHeader{Type: HELLO}, AppendHello(nil, Hello{Version: Version})), true},
		{"CLOSE header only", xframe(XHeader{Session: 9, PN: 3, Type: CLOSE}, nil), true},
	}
	for typ := HELLO; typ <= CLOSE; typ++ {
		tests = append(tests, struct {
			name string
			b    []byte
			want bool
		}{typ.String(), xframe(XHeader{Session: 1, PN: 2, Type: typ}, []byte{1, 2, 3}), true})
	}
	for _, tt := range tests {
		if got := IsExtended(tt.b); got != tt.want {
			t.Errorf("IsExtended(%s %x) = %v, want %v", tt.name, tt.b, got, tt.want)
		}
	}
}

// xframe encodes a plain extended frame: header, body, crc.
func xframe(h XHeader, body []byte) []byte {
	b := append(AppendXHeader(nil, h), body...)
	SetCRC(b)
	return b
}

func TestParseXHeader(t *testing.T) {
	h := XHeader{Session: 0xdeadbeef, PN: 0x01020304, Type: DATA}
	body := []byte("body bytes")
	good := xframe(h, body)
	if !bytes.Equal(good[:9], []byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, byte(DATA)}) {
		t.Fatalf("AppendXHeader = %x", good[:9])
	}
	if !ExtCRCOK(good) {
		t.Errorf("ExtCRCOK(a frame after SetCRC) = false")
	}
	for _, check := range []bool{true, false} {
		gh, gb, err := ParseXHeader(good, check)
		if err != nil || gh != h || !bytes.Equal(gb, body) {
			t.Errorf("ParseXHeader(good, %v) = %+v, %q, %v; want %+v, %q", check, gh, gb, err, h, body)
		}
	}
	// The body aliases the datagram.
	if _, gb, _ := ParseXHeader(good, true); &gb[0] != &good[HeaderLen] {
		t.Errorf("ParseXHeader copied the body")
	}

	badCRC := bytes.Clone(good)
	badCRC[len(badCRC)-1] ^= 1
	sealedLike := bytes.Clone(good)
	binary.BigEndian.PutUint32(sealedLike[9:], 0) // a sealed frame carries crc 0
	largest := xframe(XHeader{Type: DATA}, make([]byte, MaxExtFrame-HeaderLen))
	tooLong := xframe(XHeader{Type: DATA}, make([]byte, MaxExtFrame-HeaderLen+1))

	tests := []struct {
		name    string
		b       []byte
		check   bool
		wantErr error // nil: parses
	}{
		{"bad crc checked", badCRC, true, ErrCRC},
		{"bad crc unchecked", badCRC, false, nil},
		{"crc 0 checked", sealedLike, true, ErrCRC},
		{"crc 0 unchecked", sealedLike, false, nil},
		{"header only", xframe(XHeader{Type: PING}, nil), true, nil},
		{"largest", largest, true, nil},
		{"too long", tooLong, true, ErrTooLong},
		{"too long unchecked", tooLong, false, ErrTooLong},
		{"short", good[:HeaderLen-1], false, ErrShort},
		{"empty", nil, false, ErrShort},
		{"type 30", xframe(XHeader{Type: 30}, nil), true, ErrType},
		{"type 15", xframe(XHeader{Type: 15}, nil), false, ErrType},
	}
	for typ := INF; typ <= FIN; typ++ {
		tests = append(tests, struct {
			name    string
			b       []byte
			check   bool
			wantErr error
		}{"legacy " + typ.String(), xframe(XHeader{Type: typ}, nil), false, ErrType})
	}
	for _, w := range exampleWires(t) {
		tests = append(tests, struct {
			name    string
			b       []byte
			check   bool
			wantErr error
		}{"legacy example " + Type(w[8]).String(), w, true, ErrType})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gh, gb, err := ParseXHeader(tt.b, tt.check)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("ParseXHeader(%x, %v): %v", tt.b, tt.check, err)
				}
				if !bytes.Equal(gb, tt.b[HeaderLen:]) || gh.Type != Type(tt.b[8]) {
					t.Errorf("ParseXHeader(%x) = %+v, %x", tt.b, gh, gb)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("ParseXHeader(%x, %v) error = %v, want %v", tt.b, tt.check, err, tt.wantErr)
			}
			if gb != nil {
				t.Errorf("ParseXHeader(%x, %v) returned a body %x with %v", tt.b, tt.check, gb, err)
			}
		})
	}
}

// extCase is one extended body: its encoding and what it decodes to.
type extCase struct {
	name  string
	typ   Type
	body  []byte
	value any
	// prefixOK is the shortest proper prefix that still parses, for the
	// bodies that end in a field of free length (a message, a fragment):
	// 0 means none may.
	prefixOK int
}

// parseExt decodes b as a body of type t, with the parser for it.
func parseExt(t Type, b []byte) (any, error) {
	switch t {
	case HELLO:
		return ParseHello(b)
	case WELCOME:
		return ParseWelcome(b)
	case REJECT:
		return ParseReject(b)
	case OPEN:
		return ParseOpen(b)
	case ACCEPT:
		return ParseAccept(b)
	case DATA:
		tid, idx, frag, err := ParseData(b)
		if err != nil {
			return nil, err
		}
		return dataBody{tid, idx, string(frag)}, nil
	case SACK:
		var a Ack
		if err := ParseAck(b, &a); err != nil {
			return nil, err
		}
		return a, nil
	case END:
		return ParseEnd(b)
	case DONE, ABORT:
		return ParseResult(b)
	}
	panic("no parser for " + t.String())
}

// appendExt encodes v, a value parseExt returned, as a body.
func appendExt(b []byte, v any) []byte {
	switch v := v.(type) {
	case Hello:
		return AppendHello(b, v)
	case Welcome:
		return AppendWelcome(b, v)
	case Reject:
		return AppendReject(b, v)
	case Open:
		return AppendOpen(b, v)
	case Accept:
		return AppendAccept(b, v)
	case dataBody:
		return append(AppendDataHead(b, v.tid, v.idx), v.frag...)
	case Ack:
		return AppendAck(b, &v)
	case End:
		return AppendEnd(b, v)
	case Result:
		return AppendResult(b, v)
	}
	panic("cannot append " + reflect.TypeOf(v).String())
}

// dataBody is a DATA body, decoded.
type dataBody struct {
	tid, idx uint32
	frag     string
}

func ackOf(tid, largest, delay, cum, limit uint32, ranges ...Range) Ack {
	a := Ack{TID: tid, Largest: largest, Delay: delay, Cum: cum, Limit: limit, N: len(ranges)}
	copy(a.Ranges[:], ranges)
	return a
}

func maxRanges() Ack {
	var rs []Range
	for i := range uint32(MaxRanges) {
		rs = append(rs, Range{10 + 3*i, 11 + 3*i})
	}
	return ackOf(1, 99, 0, 5, 4096, rs...)
}

func extCases() []extCase {
	var sum [32]byte
	for i := range sum {
		sum[i] = byte(i * 7)
	}
	var salt [SaltLen]byte
	copy(salt[:], "0123456789abcdef")
	cases := []extCase{
		{name: "HELLO", typ: HELLO, value: Hello{Version: Version, Token: 0x0102030405060708}},
		{name: "HELLO secret", typ: HELLO, value: Hello{Version: Version, Flags: FlagSecret, Token: math.MaxUint64}},
		{name: "WELCOME", typ: WELCOME, value: Welcome{Version: Version, Token: 42, Window: 4096}},
		{name: "WELCOME secret", typ: WELCOME, value: Welcome{Version: Version, Flags: FlagSecret, Token: 42, Window: 1, Salt: salt}},
		{name: "REJECT", typ: REJECT, value: Reject{Token: 7, Code: CodeBusy}},
		{name: "REJECT message", typ: REJECT, value: Reject{Token: 7, Code: CodeNeedSecret, Message: "send with --secret"}, prefixOK: 9},
		{name: "REJECT longest", typ: REJECT, value: Reject{Code: CodeVersion, Message: strings.Repeat("v", MaxMessage)}, prefixOK: 9},
		{name: "OPEN text", typ: OPEN, value: Open{TID: 1, Kind: KindText, FragSize: 1, Size: 5}},
		{name: "OPEN empty text", typ: OPEN, value: Open{TID: 2, Kind: KindText, FragSize: MaxData}},
		{name: "OPEN file", typ: OPEN, value: Open{TID: 3, Kind: KindFile, FragSize: 1445, Size: 100 << 10, MTime: 1_700_000_000_123456789, Name: "smallFile.bin"}},
		{name: "OPEN negative mtime", typ: OPEN, value: Open{TID: 3, Kind: KindFile, FragSize: 4, Size: 9, MTime: -1, Name: "súbor"}},
		{name: "OPEN longest name", typ: OPEN, value: Open{TID: math.MaxUint32, Kind: KindFile, FragSize: 1, Size: 1<<32 - 1, Name: strings.Repeat("n", MaxName)}},
		{name: "OPEN most fragments", typ: OPEN, value: Open{TID: 4, Kind: KindFile, FragSize: MaxData, Size: (1<<32 - 1) * MaxData, Name: "big"}},
		{name: "ACCEPT", typ: ACCEPT, value: Accept{TID: 1, Window: 4096}},
		{name: "ACCEPT resume", typ: ACCEPT, value: Accept{TID: 9, Offset: 1 << 40, Window: 1}},
		{name: "DATA", typ: DATA, value: dataBody{1, 0, "x"}},
		{name: "DATA largest", typ: DATA, value: dataBody{math.MaxUint32, math.MaxUint32, strings.Repeat("d", MaxData)}, prefixOK: 9},
		{name: "SACK", typ: SACK, value: ackOf(1, 100, 250, 7, 7+4096)},
		{name: "SACK ranges", typ: SACK, value: ackOf(1, 100, 0, 0, 8, Range{1, 2}, Range{3, 5}, Range{7, 8})},
		{name: "SACK most ranges", typ: SACK, value: maxRanges()},
		{name: "END", typ: END, value: End{TID: 3, Sum: sum}},
		{name: "DONE", typ: DONE, value: Result{TID: 3, Code: CodeOK, Text: "smallFile (1).bin"}, prefixOK: 5},
		{name: "DONE text", typ: DONE, value: Result{TID: 3, Code: CodeOK}},
		{name: "ABORT", typ: ABORT, value: Result{TID: 3, Code: CodeIntegrity, Text: "SHA-256 mismatch"}, prefixOK: 5},
	}
	for i := range cases {
		cases[i].body = appendExt(nil, cases[i].value)
	}
	return cases
}

func TestExtRoundTrip(t *testing.T) {
	for _, tt := range extCases() {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("xy")
			b := appendExt(prefix, tt.value)
			if !bytes.Equal(b[:2], prefix) || !bytes.Equal(b[2:], tt.body) {
				t.Fatalf("append after a prefix = %x, want xy then %x", b, tt.body)
			}
			got, err := parseExt(tt.typ, tt.body)
			if err != nil {
				t.Fatalf("parse(%x): %v", tt.body, err)
			}
			if !reflect.DeepEqual(got, tt.value) {
				t.Errorf("parse(append(v)) = %+v, want %+v", got, tt.value)
			}
			// And in a whole frame.
			fr := xframe(XHeader{Session: 5, PN: 6, Type: tt.typ}, tt.body)
			h, body, err := ParseXHeader(fr, true)
			if err != nil || h != (XHeader{5, 6, tt.typ}) || !bytes.Equal(body, tt.body) {
				t.Errorf("ParseXHeader(frame) = %+v, %x, %v", h, body, err)
			}
		})
	}
}

func TestExtBodySizes(t *testing.T) {
	tests := []struct {
		typ  Type
		v    any
		want int
	}{
		{HELLO, Hello{}, 13},
		{WELCOME, Welcome{Window: 1}, 14},
		{WELCOME, Welcome{Window: 1, Flags: FlagSecret}, 14 + SaltLen},
		{REJECT, Reject{Message: "abc"}, 12},
		{OPEN, Open{Kind: KindFile, FragSize: 1, Name: "abc"}, 29},
		{ACCEPT, Accept{Window: 1}, 16},
		{SACK, ackOf(0, 0, 0, 0, 0, Range{1, 2}), 29},
		{END, End{}, 36},
		{DONE, Result{Text: "abc"}, 8},
	}
	for _, tt := range tests {
		if got := len(appendExt(nil, tt.v)); got != tt.want {
			t.Errorf("%v body of %+v: %d bytes, want %d", tt.typ, tt.v, got, tt.want)
		}
	}
	// The largest frame the protocol sends fits MaxExtFrame, and a plain
	// one of MaxPlainData, or a sealed one of MaxSealedData, MaxDatagram.
	if n := DataOverhead + MaxPlainData; n > MaxDatagram {
		t.Errorf("a plain DATA of %d bytes is %d bytes, over %d", MaxPlainData, n, MaxDatagram)
	}
	if n := DataOverhead + MaxSealedData + SealOverhead; n != MaxDatagram {
		t.Errorf("a sealed DATA of %d bytes is %d bytes, want %d", MaxSealedData, n, MaxDatagram)
	}
}

// TestExtTruncated checks that every proper prefix of every body is
// rejected with an error wrapping ErrBody, but for the bodies that end in
// a field of free length (a message, a fragment), whose prefixes past the
// fixed fields read as a shorter one.
func TestExtTruncated(t *testing.T) {
	for _, tt := range extCases() {
		t.Run(tt.name, func(t *testing.T) {
			for n := range len(tt.body) {
				v, err := parseExt(tt.typ, tt.body[:n])
				if tt.prefixOK > 0 && n >= tt.prefixOK {
					if err != nil {
						t.Errorf("parse(%x), a %d-byte prefix, failed: %v", tt.body[:n], n, err)
					}
					continue
				}
				if err == nil {
					t.Errorf("parse(%x), a %d-byte prefix of %x, = %+v, want an error", tt.body[:n], n, tt.body, v)
				} else if !errors.Is(err, ErrBody) {
					t.Errorf("parse of a %d-byte prefix: %v, want ErrBody", n, err)
				}
			}
		})
	}
}

// TestExtTrailing checks what follows a body's fields: ignored in a
// HELLO (a later version may add fields) and a plain WELCOME, a longer
// message or fragment where the body ends in one, an error elsewhere.
func TestExtTrailing(t *testing.T) {
	for _, tt := range extCases() {
		b := append(bytes.Clone(tt.body), '!')
		v, err := parseExt(tt.typ, b)
		switch {
		case tt.typ == HELLO, tt.typ == WELCOME:
			if err != nil || !reflect.DeepEqual(v, tt.value) {
				t.Errorf("%s with a byte more = %+v, %v; want %+v", tt.name, v, err, tt.value)
			}
		case tt.typ == REJECT, tt.typ == DONE, tt.typ == ABORT, tt.typ == DATA:
			if err != nil && !strings.Contains(tt.name, "longest") {
				t.Errorf("%s with a byte more: %v", tt.name, err)
			}
		default:
			if !errors.Is(err, ErrBody) {
				t.Errorf("%s with a byte more = %+v, %v; want ErrBody", tt.name, v, err)
			}
		}
	}
}

func TestExtBadValues(t *testing.T) {
	open := func(o Open) []byte { return AppendOpen(nil, o) }
	file := Open{TID: 1, Kind: KindFile, FragSize: 4, Size: 10, Name: "a.txt"}
	with := func(f func(*Open)) []byte {
		o := file
		f(&o)
		return open(o)
	}
	ack := func(a Ack) []byte { return AppendAck(nil, &a) }
	welcome := AppendWelcome(nil, Welcome{Version: Version, Flags: FlagSecret, Token: 1, Window: 8})
	tooManyRanges := func() []byte {
		a := maxRanges()
		b := AppendAck(nil, &a)
		b[20] = MaxRanges + 1
		return binary.BigEndian.AppendUint64(b, uint64(200)<<32|201)
	}
	ackShort := ack(ackOf(1, 0, 0, 0, 8, Range{1, 2}, Range{3, 4}))
	tests := []struct {
		name string
		typ  Type
		body []byte
		want error
	}{
		{"HELLO bad magic", HELLO, append([]byte("NKY"), make([]byte, 10)...), ErrBody},
		{"HELLO lower-case magic", HELLO, append([]byte("nkx"), make([]byte, 10)...), ErrBody},
		{"WELCOME window 0", WELCOME, AppendWelcome(nil, Welcome{Version: Version, Token: 1}), ErrBody},
		{"WELCOME secret without salt", WELCOME, welcome[:14], ErrBody},
		{"WELCOME secret with half a salt", WELCOME, welcome[:14+SaltLen/2], ErrBody},
		{"ACCEPT window 0", ACCEPT, AppendAccept(nil, Accept{TID: 1}), ErrBody},
		{"OPEN kind X", OPEN, with(func(o *Open) { o.Kind = 'X' }), ErrKind},
		{"OPEN kind 0", OPEN, with(func(o *Open) { o.Kind = 0 }), ErrKind},
		{"OPEN kind t", OPEN, open(Open{TID: 1, Kind: 't', FragSize: 4}), ErrKind},
		{"OPEN fragment size 0", OPEN, with(func(o *Open) { o.FragSize = 0 }), ErrSize},
		{"OPEN fragment size 1446", OPEN, with(func(o *Open) { o.FragSize = MaxData + 1 }), ErrSize},
		{"OPEN fragment size 65535", OPEN, with(func(o *Open) { o.FragSize = math.MaxUint16 }), ErrSize},
		{"OPEN text with a name", OPEN, open(Open{TID: 1, Kind: KindText, FragSize: 4, Size: 3, Name: "a"}), ErrBody},
		{"OPEN file without a name", OPEN, with(func(o *Open) { o.Name = "" }), ErrBody},
		{"OPEN name of 256 bytes", OPEN, with(func(o *Open) { o.Name = strings.Repeat("n", MaxName+1) }), ErrBody},
		{"OPEN name of 65535 bytes", OPEN, with(func(o *Open) { o.Name = strings.Repeat("n", math.MaxUint16) }), ErrBody},
		{"OPEN 2^32 fragments of 1", OPEN, with(func(o *Open) { o.FragSize, o.Size = 1, 1<<32 }), ErrLength},
		{"OPEN 2^32 fragments of 1445", OPEN, with(func(o *Open) { o.FragSize, o.Size = MaxData, (1<<32-1)*MaxData+1 }), ErrLength},
		{"OPEN 2^63 bytes", OPEN, with(func(o *Open) { o.FragSize, o.Size = MaxData, 1<<63 }), ErrLength},
		{"SACK ranges not ascending", SACK, ack(ackOf(1, 0, 0, 0, 8, Range{5, 6}, Range{2, 3})), ErrBody},
		{"SACK ranges overlapping", SACK, ack(ackOf(1, 0, 0, 0, 8, Range{2, 5}, Range{4, 6})), ErrBody},
		{"SACK ranges adjacent", SACK, ack(ackOf(1, 0, 0, 0, 8, Range{2, 4}, Range{4, 6})), ErrBody},
		{"SACK range empty", SACK, ack(ackOf(1, 0, 0, 0, 8, Range{2, 2})), ErrBody},
		{"SACK range reversed", SACK, ack(ackOf(1, 0, 0, 0, 8, Range{3, 2})), ErrBody},
		{"SACK range below Cum", SACK, ack(ackOf(1, 0, 0, 5, 8, Range{2, 3})), ErrBody},
		{"SACK range at Cum", SACK, ack(ackOf(1, 0, 0, 5, 8, Range{5, 6})), ErrBody},
		{"SACK range around Cum", SACK, ack(ackOf(1, 0, 0, 5, 8, Range{4, 6})), ErrBody},
		{"SACK more than MaxRanges", SACK, tooManyRanges(), ErrBody},
		{"SACK count 255", SACK, append(ack(ackOf(1, 0, 0, 0, 8))[:20], 255), ErrBody},
		{"SACK count over its ranges", SACK, append(ackShort[:20:20], append([]byte{3}, ackShort[21:]...)...), ErrBody},
		{"SACK count under its ranges", SACK, append(ackShort[:20:20], append([]byte{1}, ackShort[21:]...)...), ErrBody},
		{"SACK half a range more", SACK, append(bytes.Clone(ackShort), 0, 0, 0, 9), ErrBody},
		{"END a byte short", END, AppendEnd(nil, End{})[:35], ErrBody},
		{"END a byte long", END, append(AppendEnd(nil, End{}), 0), ErrBody},
		{"ACCEPT a byte long", ACCEPT, append(AppendAccept(nil, Accept{TID: 1, Window: 1}), 0), ErrBody},
		{"DATA without a fragment", DATA, AppendDataHead(nil, 1, 2), ErrBody},
		{"REJECT message over MaxMessage", REJECT, append(AppendReject(nil, Reject{Token: 1}), strings.Repeat("m", MaxMessage+1)...), ErrBody},
		{"DONE message over MaxMessage", DONE, append(AppendResult(nil, Result{TID: 1}), strings.Repeat("m", MaxMessage+1)...), ErrBody},
		{"ABORT message far over MaxMessage", ABORT, append(AppendResult(nil, Result{TID: 1}), make([]byte, 4*MaxMessage)...), ErrBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := parseExt(tt.typ, tt.body)
			if !errors.Is(err, tt.want) {
				t.Errorf("parse(%x) = %+v, %v; want an error wrapping %v", tt.body, v, err, tt.want)
			}
			if tt.typ == SACK {
				return // ParseAck fills what it decoded before the error
			}
			if v != nil && !reflect.ValueOf(v).IsZero() {
				t.Errorf("parse(%x) = %+v with %v, want the zero value", tt.body, v, err)
			}
		})
	}
}

// TestOpenFragmentsOverflow checks OPENs whose size is so close to 2^64
// that counting the fragments overflows.
func TestOpenFragmentsOverflow(t *testing.T) {
	if got := Fragments(10, 4); got != 3 {
		t.Errorf("Fragments(10, 4) = %d, want 3", got)
	}
	if got := Fragments(0, 4); got != 0 {
		t.Errorf("Fragments(0, 4) = %d, want 0", got)
	}
	if got := Fragments(math.MaxUint64, 1); got != math.MaxUint64 {
		t.Errorf("Fragments(MaxUint64, 1) = %d, want MaxUint64", got)
	}
	for _, f := range []uint16{2, 4, MaxData} {
		n := Fragments(math.MaxUint64, int(f))
		o := Open{TID: 1, Kind: KindFile, FragSize: f, Size: math.MaxUint64, Name: "huge"}
		got, err := ParseOpen(AppendOpen(nil, o))
		if n < 1<<32 || !errors.Is(err, ErrLength) {
			t.Errorf("Fragments must not wrap near 2^64: "+
				"Fragments(2^64-1, %d) = %d, and ParseOpen accepts that OPEN as %+v, %v; want ErrLength", f, n, got, err)
		}
	}
}

func TestAckRanges(t *testing.T) {
	a := ackOf(7, 1000, 12, 3, 3+64, Range{5, 9}, Range{10, 11}, Range{40, 64})
	b := AppendAck(nil, &a)
	var got Ack
	// Decoding into a used Ack leaves nothing of the old one.
	got.Ranges[5] = Range{1, 2}
	got.N = 9
	if err := ParseAck(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.N != 3 || got.Ranges[:got.N][2] != (Range{40, 64}) || got.Cum != 3 || got.Limit != 67 || got.Delay != 12 || got.Largest != 1000 || got.TID != 7 {
		t.Errorf("ParseAck = %+v, want %+v", got, a)
	}
	if n := testing.AllocsPerRun(100, func() { _ = ParseAck(b, &got) }); n != 0 {
		t.Errorf("ParseAck allocates %v times, want 0", n)
	}
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(100, func() { buf = AppendAck(buf[:0], &a) }); n != 0 {
		t.Errorf("AppendAck allocates %v times, want 0", n)
	}
}

func TestMessages(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "too many senders at once: try again later", "too many senders at once: try again later"},
		{"empty", "", ""},
		{"controls", "a\x00b\nc\rd\te\x1b[31mf\x7fg", "a?b?c?d?e?[31mf?g"},
		{"unicode kept", "súbor “x” 日本", "súbor “x” 日本"},
		{"invalid UTF-8 replaced", "a\xffb", "a?b"},
		{"C1 controls replaced", "a\u009b31mb\u0085c", "a?31mb?c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseReject(AppendReject(nil, Reject{Token: 1, Code: CodeRefused, Message: tt.in}))
			if err != nil || r.Message != tt.want {
				t.Errorf("REJECT message %q arrived as %q, %v; want %q", tt.in, r.Message, err, tt.want)
			}
			res, err := ParseResult(AppendResult(nil, Result{TID: 1, Code: CodeWrite, Text: tt.in}))
			if err != nil || res.Text != tt.want {
				t.Errorf("ABORT text %q arrived as %q, %v; want %q", tt.in, res.Text, err, tt.want)
			}
		})
	}
}

// TestMessageCut checks that Append cuts a message over MaxMessage to at
// most MaxMessage bytes of valid UTF-8, a prefix of it, and that what it
// sends parses.
func TestMessageCut(t *testing.T) {
	for _, s := range []string{
		strings.Repeat("a", MaxMessage+1),
		strings.Repeat("a", 10*MaxMessage),
		strings.Repeat("é", MaxMessage),       // 2-byte runes
		strings.Repeat("日", MaxMessage),       // 3-byte runes
		strings.Repeat("😀", MaxMessage),       // 4-byte runes
		"a" + strings.Repeat("😀", MaxMessage), // cut at every offset in a rune
		"ab" + strings.Repeat("😀", MaxMessage),
		"abc" + strings.Repeat("😀", MaxMessage),
	} {
		b := AppendResult(nil, Result{TID: 1, Code: CodeRefused, Text: s})
		msg := string(b[5:])
		// At most MaxMessage bytes, and not much less: a rune or two.
		if len(msg) > MaxMessage || len(msg) < MaxMessage-2*utf8.UTFMax || !utf8.ValidString(msg) || !strings.HasPrefix(s, msg) {
			t.Errorf("message of %d bytes %.8q... sent as %d bytes %.8q..., want a valid prefix of about %d bytes", len(s), s, len(msg), msg, MaxMessage)
		}
		r, err := ParseResult(b)
		if err != nil || r.Text != msg {
			t.Errorf("ParseResult of a cut message: %v", err)
		}
	}
	exact := strings.Repeat("m", MaxMessage)
	if r, err := ParseReject(AppendReject(nil, Reject{Message: exact})); err != nil || r.Message != exact {
		t.Errorf("a message of exactly MaxMessage bytes: %v", err)
	}
}

// TestMessageC1Controls checks that the C1 control characters
// (U+0080..U+009F, which some terminals take as escape sequences, U+009B
// being CSI) are replaced like the C0 ones: SanitizeName counts them as
// control characters too (unicode.IsControl).
func TestMessageC1Controls(t *testing.T) {
	in := "a\u009b31mb\u0085c"
	r, err := ParseResult(AppendResult(nil, Result{TID: 1, Text: in}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.ContainsFunc(r.Text, unicode.IsControl) {
		return
	}
	t.Errorf("C1 controls must be replaced: %+q arrived as %+q, C1 controls such as U+009B (CSI) kept", in, r.Text)
}

// TestMessageExpands checks that a parsed message stays within
// MaxMessage bytes, so that sending it on gives the same message: invalid
// UTF-8 is replaced byte for byte.
func TestMessageExpands(t *testing.T) {
	body := append(AppendResult(nil, Result{TID: 1, Code: CodeWrite}), bytes.Repeat([]byte{0xff}, MaxMessage)...)
	r, err := ParseResult(body)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseResult(AppendResult(nil, r))
	if len(r.Text) <= MaxMessage && err == nil && again == r {
		return
	}
	t.Errorf("a parsed message must stay within MaxMessage: a %d-byte message parses to %d bytes, over MaxMessage, "+
		"and AppendResult then cuts it to %d: parse(append(parse(b))) != parse(b)", MaxMessage, len(r.Text), len(again.Text))
}

func TestCodeString(t *testing.T) {
	tests := []struct {
		c    Code
		want string
	}{
		{CodeOK, "ok"}, {CodeRefused, "refused"}, {CodeTooLarge, "too large"}, {CodeIntegrity, "integrity check failed"},
		{CodeBusy, "busy"}, {CodeBadSecret, "wrong secret"}, {CodeGone, "peer gone"}, {14, "code 14"}, {255, "code 255"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("Code(%d).String() = %q, want %q", uint8(tt.c), got, tt.want)
		}
	}
	for c := CodeOK; c <= CodeGone; c++ {
		if s := c.String(); strings.HasPrefix(s, "code ") {
			t.Errorf("Code(%d) has no name", c)
		}
	}
}
