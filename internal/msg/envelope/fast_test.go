package envelope

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

var fastInputs = []string{
	`{"id":"` + goodID + `","type":"ping","sender":"alice","time":"2026-12-04T13:00:00Z"}`,
	`{"id":"` + goodID + `","type":"echo","sender":"a","time":"2026-12-04T13:00:00.123+01:00","body":{"x":[1,2]}}`,
	` { "id" : "` + goodID + `" , "type":"echo","sender":"a","time":"2026-12-04T13:00:00Z","body": { "x" : [ 1 , 2 ] , "s":"a b" } } `,
	`{"id":"` + goodID + `","type":"reply","sender":"s","time":"2026-12-04T13:00:00Z","reply_to":"` + goodID + `","extra":{"a":[1,{"b":null}]}}`,
	`{"id":"` + goodID + `","type":"ping","sender":"a","time":"2026-12-04T13:00:00Z","body":null}`,
	`{}`,
	// What the fast path leaves to encoding/json.
	`{"id":"` + goodID + `","id":"` + goodID + `","type":"ping","sender":"a","time":"2026-12-04T13:00:00Z"}`,
	`{"ID":"` + goodID + `","type":"ping","sender":"a","time":"2026-12-04T13:00:00Z"}`,
	`{"id":"` + goodID + `","type":"ping","ſender":"a","time":"2026-12-04T13:00:00Z"}`,
	`{"id":"` + goodID + `","type":"ping","sender":"\u0061","time":"2026-12-04T13:00:00Z"}`,
	`{"id":"` + goodID + `","type":"ping","sender":"a\xff","time":"2026-12-04T13:00:00Z"}`,
	`{"id":null,"type":"ping","sender":"a","time":"2026-12-04T13:00:00Z"}`,
	`{"id":5,"type":"ping","sender":"a","time":"2026-12-04T13:00:00Z"}`,
	`{"id":"` + goodID + `","type":"ping","sender":"a","time":"2026-12-04T13:00:00Z"} x`,
	`{"id":"` + goodID + `","type":"ping","sender":"a","time":"2026-12-04T13:00:00Z"}{}`,
	`{"id":"` + goodID + `","type":"ping","sender":"a","time":"2026-12-04T13:00:00Z",}`,
	`{"id":"` + goodID + `"`,
}

// sameAsReflect fails t when decodeFast takes b and reads it otherwise
// than encoding/json does.
func sameAsReflect(t *testing.T, b []byte) bool {
	t.Helper()
	var fast fields
	if !decodeFast(b, &fast) {
		return false
	}
	ref, err := decodeReflect(b)
	if err != nil {
		t.Fatalf("%q: fast path took what encoding/json refuses (%v)", b, err)
	}
	if !bytes.Equal(fast.body, ref.body) {
		t.Fatalf("%q: body %q, encoding/json %q", b, fast.body, ref.body)
	}
	fast.body, ref.body = nil, nil
	if fmt.Sprintf("%#v", fast) != fmt.Sprintf("%#v", ref) {
		t.Fatalf("%q: fast path %+v, encoding/json %+v", b, fast, ref)
	}
	return true
}

func TestFastMatchesReflect(t *testing.T) {
	took := 0
	for _, in := range fastInputs {
		if sameAsReflect(t, []byte(in)) {
			took++
		}
	}
	if took != 6 {
		t.Errorf("fast path took %d of the inputs, want the first 6", took)
	}
	envs := []*Envelope{
		{ID: goodID, Type: Reply, Sender: "srv", Time: time.Date(2026, 12, 4, 13, 0, 0, 123456789, time.UTC), Body: json.RawMessage(`"pong"`), ReplyTo: goodID},
		{ID: goodID, Type: Broadcast, Sender: "a", Time: time.Date(2026, 12, 4, 13, 0, 0, 0, time.UTC)},
		{ID: goodID, Type: Echo, Sender: "a", Time: time.Date(2026, 12, 4, 13, 0, 0, 0, time.UTC), Body: json.RawMessage(" { \"a\" : [ 1, 2 ] }\n")},
		// Left to json.Marshal.
		{ID: goodID, Type: Echo, Sender: "a<b", Time: time.Date(2026, 12, 4, 13, 0, 0, 0, time.UTC)},
		{ID: goodID, Type: Echo, Sender: "é", Time: time.Date(2026, 12, 4, 13, 0, 0, 0, time.UTC)},
		{ID: goodID, Type: Echo, Sender: "a", Time: time.Date(2026, 12, 4, 13, 0, 0, 0, time.UTC), Body: json.RawMessage(`{"h":"<b>"}`)},
		{ID: goodID, Type: Echo, Sender: "a", Time: time.Date(2026, 12, 4, 13, 0, 0, 0, time.FixedZone("x", 3600))},
	}
	for i, e := range envs {
		got, err := Append([]byte("prefix"), e)
		want, werr := json.Marshal(e)
		if err != nil || werr != nil || !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Errorf("envelope %d: Append %q (%v), json.Marshal %q (%v)", i, got, err, want, werr)
		}
		_, ok := appendFast(nil, e)
		if ok != (i < 3) {
			t.Errorf("envelope %d: fast path taken = %v, want %v", i, ok, i < 3)
		}
	}
	for _, body := range []any{"pong", "a\"b", "<", json.RawMessage(`{ "a": 1 }`), json.RawMessage(`[1,`), map[string]int{"delivered": 3}} {
		got, err := marshalBody(body)
		want, werr := json.Marshal(body)
		if !bytes.Equal(got, want) || (err == nil) != (werr == nil) {
			t.Errorf("marshalBody(%#v) = %q, %v; json.Marshal %q, %v", body, got, err, want, werr)
		}
	}
}

func FuzzFastMatchesReflect(f *testing.F) {
	for _, in := range fastInputs {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sameAsReflect(t, b)
		var raw json.RawMessage = b
		got, err := marshalBody(raw)
		want, werr := json.Marshal(raw)
		if !bytes.Equal(got, want) || (err == nil) != (werr == nil) {
			t.Fatalf("marshalBody(%q) = %q, %v; json.Marshal %q, %v", b, got, err, want, werr)
		}
	})
}
