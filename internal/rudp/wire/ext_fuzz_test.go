package wire

import (
	"bytes"
	"reflect"
	"testing"
)

// extTypes are the types with a body parser.
var extTypes = []Type{HELLO, WELCOME, REJECT, OPEN, ACCEPT, DATA, SACK, END, DONE, ABORT}

func FuzzParseXHeader(f *testing.F) {
	for _, c := range extCases() {
		f.Add(xframe(XHeader{Session: 0x01020304, PN: 9, Type: c.typ}, c.body), true)
		// A sealed frame: crc 0, the body not checked.
		sealed := AppendXHeader(nil, XHeader{Session: 0x01020304, PN: 10, Type: c.typ})
		f.Add(append(sealed, c.body...), false)
	}
	for _, w := range exampleWires(f) {
		f.Add(w, true)
	}
	f.Add(xframe(XHeader{Type: CLOSE}, nil), true)
	f.Add(xframe(XHeader{Type: DATA}, make([]byte, MaxExtFrame-HeaderLen)), true)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, b []byte, check bool) {
		h, body, err := ParseXHeader(b, check)
		if err != nil {
			if body != nil {
				t.Fatalf("ParseXHeader(%x, %v) = a body with %v", b, check, err)
			}
			return
		}
		if !h.Type.Extended() || !IsExtended(b) {
			t.Fatalf("ParseXHeader(%x) accepted type %v", b, h.Type)
		}
		if len(b) > MaxExtFrame || len(body) != len(b)-HeaderLen {
			t.Fatalf("ParseXHeader(%x) = a %d-byte body", b, len(body))
		}
		if check && !ExtCRCOK(b) {
			t.Fatalf("ParseXHeader(%x, true) accepted a bad crc", b)
		}
		// Encoded again, with its crc, the frame is the same, or differs
		// in the crc alone when it was not checked.
		again := append(AppendXHeader(nil, h), body...)
		SetCRC(again)
		if check && !bytes.Equal(again, b) {
			t.Fatalf("re-encoded %x as %x", b, again)
		}
		if !bytes.Equal(again[:9], b[:9]) || !bytes.Equal(again[HeaderLen:], b[HeaderLen:]) {
			t.Fatalf("re-encoded %x as %x", b, again)
		}
		h2, body2, err := ParseXHeader(again, true)
		if err != nil || h2 != h || !bytes.Equal(body2, body) {
			t.Fatalf("ParseXHeader(re-encoded %x) = %+v, %x, %v; want %+v", again, h2, body2, err, h)
		}
	})
}

// FuzzExtBodies runs every body parser on the input: none may panic, and
// what one accepts must encode to a body that parses to the same value.
func FuzzExtBodies(f *testing.F) {
	for _, c := range extCases() {
		f.Add(c.body)
	}
	f.Add([]byte("NKX"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, typ := range extTypes {
			v, err := parseExt(typ, b)
			if err != nil {
				continue
			}
			enc := appendExt(nil, v)
			v2, err := parseExt(typ, enc)
			if err != nil {
				t.Fatalf("%v: parse(%x) = %+v, but its encoding %x: %v", typ, b, v, enc, err)
			}
			if !reflect.DeepEqual(v2, v) {
				t.Fatalf("%v: parse(%x) = %+v, its encoding %x parses to %+v", typ, b, v, enc, v2)
			}
			if again := appendExt(nil, v2); !bytes.Equal(again, enc) {
				t.Fatalf("%v: encoding not stable: %x then %x", typ, enc, again)
			}
		}
	})
}
