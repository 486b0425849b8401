package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

const goodID = "0123456789abcdef0123456789abcdef"

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		{"ping", `{"id":"` + goodID + `","type":"ping","sender":"alice","time":"2026-12-04T13:00:00Z"}`, nil},
		{"echo body", `{"id":"` + goodID + `","type":"echo","sender":"a","time":"2026-12-04T13:00:00.123+01:00","body":{"x":[1,2]}}`, nil},
		{"reply", `{"id":"` + goodID + `","type":"reply","sender":"s","time":"2026-12-04T13:00:00Z","reply_to":"` + goodID + `","extra":1}`, nil},
		{"empty", ``, ErrJSON},
		{"not json", `{"id":`, ErrJSON},
		{"array", `[1]`, ErrNotObject},
		{"string", `"ping"`, ErrNotObject},
		{"no id", `{"type":"ping","sender":"a","time":"2026-12-04T13:00:00Z"}`, ErrID},
		{"short id", `{"id":"abc","type":"ping","sender":"a","time":"2026-12-04T13:00:00Z"}`, ErrID},
		{"upper id", `{"id":"0123456789ABCDEF0123456789ABCDEF","type":"ping","sender":"a","time":"2026-12-04T13:00:00Z"}`, ErrID},
		{"id number", `{"id":5,"type":"ping","sender":"a","time":"2026-12-04T13:00:00Z"}`, ErrMalformed},
		{"no type", `{"id":"` + goodID + `","sender":"a","time":"2026-12-04T13:00:00Z"}`, ErrMalformed},
		{"no sender", `{"id":"` + goodID + `","type":"ping","time":"2026-12-04T13:00:00Z"}`, ErrSender},
		{"long sender", `{"id":"` + goodID + `","type":"ping","sender":"` + string(bytes.Repeat([]byte("a"), 65)) + `","time":"2026-12-04T13:00:00Z"}`, ErrSender},
		{"bad time", `{"id":"` + goodID + `","type":"ping","sender":"a","time":"yesterday"}`, ErrTime},
		{"no time", `{"id":"` + goodID + `","type":"ping","sender":"a"}`, ErrTime},
		{"bad reply_to", `{"id":"` + goodID + `","type":"reply","sender":"a","time":"2026-12-04T13:00:00Z","reply_to":"x"}`, ErrReplyTo},
		{"unknown type", `{"id":"` + goodID + `","type":"dance","sender":"a","time":"2026-12-04T13:00:00Z"}`, ErrUnknownType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Parse([]byte(tt.in))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("got %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if errors.Is(tt.want, ErrUnknownType) && (e == nil || e.ID != goodID) {
				t.Errorf("unknown type: envelope %+v, want its id", e)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	for _, typ := range Types {
		e, err := New(typ, "alice", map[string]any{"n": 1})
		if err != nil {
			t.Fatal(err)
		}
		if typ == Reply || typ == Error {
			e.ReplyTo = NewID()
		}
		b, err := Append(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse(b)
		if err != nil {
			t.Fatalf("%s: %v (%s)", typ, err, b)
		}
		if got.ID != e.ID || got.Type != typ || got.Sender != "alice" || !got.Time.Equal(e.Time) || !bytes.Equal(got.Body, e.Body) || got.ReplyTo != e.ReplyTo {
			t.Errorf("%s: got %+v, want %+v", typ, got, e)
		}
	}
}

// TestTruncated: every prefix of a valid envelope is refused cleanly.
func TestTruncated(t *testing.T) {
	e, _ := New(Echo, "alice", "hello")
	b, _ := Append(nil, e)
	for i := range len(b) - 1 {
		if _, err := Parse(b[:i]); err == nil {
			t.Fatalf("prefix %d (%s) parsed", i, b[:i])
		}
	}
}

func TestSealed(t *testing.T) {
	server, _ := GenerateKeyPair()
	eph, _ := GenerateKeyPair()
	msg := []byte(`{"type":"ping"}`)
	tok, sh := SealRequest(msg, eph, &server.Public)
	if !IsSealed(tok) {
		t.Fatalf("IsSealed(%q) false", tok[:4])
	}
	got, client, sh2, err := OpenRequest(tok, server)
	if err != nil || !bytes.Equal(got, msg) || client != eph.Public || *sh != *sh2 {
		t.Fatalf("OpenRequest: %q, %v", got, err)
	}
	rep := SealReply([]byte("pong"), sh2)
	if got, err := OpenReply(rep, sh); err != nil || string(got) != "pong" {
		t.Fatalf("OpenReply: %q, %v", got, err)
	}
	other, _ := GenerateKeyPair()
	if _, _, _, err := OpenRequest(tok, other); !errors.Is(err, ErrSealed) {
		t.Errorf("wrong server key: %v", err)
	}
	for i := range len(tok) {
		if _, _, _, err := OpenRequest(tok[:i], server); err == nil {
			t.Fatalf("prefix %d opened", i)
		}
	}
	if _, _, _, err := OpenRequest(rep, server); !errors.Is(err, ErrNotBoxed) {
		t.Errorf("a reply as a request: %v", err)
	}
	kp, err := KeyPairFromPrivate(server.Private)
	if err != nil || kp.Public != server.Public {
		t.Errorf("KeyPairFromPrivate: %v", err)
	}
	if k, err := DecodeKey(EncodeKey(server.Public)); err != nil || k != server.Public {
		t.Errorf("DecodeKey: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, typ := range Types {
		e, _ := New(typ, "alice", []any{"x", 1, nil})
		b, _ := Append(nil, e)
		f.Add(b)
	}
	f.Add([]byte(`{"id":"` + goodID + `","type":"dance","sender":"a","time":"2026-12-04T13:00:00Z"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownType) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		out, err := Append(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		e2, err := Parse(out)
		if err != nil {
			t.Fatalf("re-encoded envelope does not parse: %v\n%s", err, out)
		}
		if e2.ID != e.ID || e2.Type != e.Type || !e2.Time.Equal(e.Time) {
			t.Fatalf("round trip changed it: %+v vs %+v", e, e2)
		}
		if e.Body != nil && !json.Valid(e.Body) {
			t.Fatal("body not valid JSON")
		}
	})
}

func FuzzOpenRequest(f *testing.F) {
	server, _ := GenerateKeyPair()
	eph, _ := GenerateKeyPair()
	tok, sh := SealRequest([]byte(`{"a":1}`), eph, &server.Public)
	f.Add(tok)
	f.Add(SealReply([]byte("x"), sh))
	f.Add([]byte("gQ=="))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, tok []byte) {
		msg, _, sh, err := OpenRequest(tok, server)
		if err != nil {
			if !errors.Is(err, ErrSealed) && !errors.Is(err, ErrNotBoxed) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		if sh == nil || msg == nil {
			t.Fatal("opened with no shared key or message")
		}
	})
}
