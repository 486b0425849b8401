package chat

import (
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/netkit/netkit/internal/service"
)

const englandFlag = "\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F"

func TestCleanTextFormatCharacters(t *testing.T) {
	tests := []struct{ in, want string }{
		{"abc\u202edef", "abcdef"},
		{"a\u202ab\u202bc\u202cd\u202de", "abcde"},
		{"\u2066x\u2067y\u2068z\u2069", "xyz"},
		{"zero\u200bwidth\u200e\u200fmarks", "zerowidthmarks"},
		{"soft\u00adhyphen\ufeff", "softhyphen"},
		{"\u2060joiner\u2061", "joiner"},
		{"\U000E0041tag alone", "tag alone"},
		// Kept: what real text needs.
		{"👩\u200d💻 coder", "👩\u200d💻 coder"},
		{"क्\u200dष", "क्\u200dष"},
		{"می\u200cخواهم", "می\u200cخواهم"},
		{"flag " + englandFlag, "flag " + englandFlag},
		// ...but not where they hide something.
		{"\u200dstart", "start"},
		{"end\u200d", "end"},
		{"a \u200d b", "a  b"},
		{"1\u200c2", "12"},
	}
	for _, tt := range tests {
		got, err := CleanText([]byte(tt.in))
		if err != nil || got != tt.want {
			t.Errorf("CleanText(%+q) = %+q, %v; want %+q", tt.in, got, err, tt.want)
		}
	}
}

// FuzzCleanText checks that what CleanText lets through never holds a
// control character, a separator or a format character outside the kept
// ones, and stays within the bounds.
func FuzzCleanText(f *testing.F) {
	for _, s := range []string{"abc\u202edef", "👩\u200d💻", englandFlag, "می\u200cخواهم", "\x1b[2J", "\u2066x\u2069", "\t tab"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := CleanText(in)
		if err != nil {
			return
		}
		if !utf8.ValidString(out) || len(out) > MaxTextLen {
			t.Fatalf("CleanText(%+q) = %+q", in, out)
		}
		prev := rune(-1)
		for i, r := range out {
			next, size := utf8.DecodeRuneInString(out[i+utf8.RuneLen(r):])
			if size == 0 {
				next = -1
			}
			if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || (unicode.Is(unicode.Cf, r) && !keepFormat(prev, r, next)) {
				t.Fatalf("CleanText(%+q) = %+q, with %U", in, out, r)
			}
			prev = r
		}
	})
}

// TestDirectionOverridesStripped is defect 5 of issue 11 as written: a
// line with U+202E sent over TCP, and one over WebSocket, reach the
// others without it.
func TestDirectionOverridesStripped(t *testing.T) {
	hub := NewHub(HubConfig{History: -1})
	addr, _ := startChat(t, &Handler{Hub: hub}, service.Limits{})
	ts := httptest.NewServer(&Handler{Hub: hub})
	defer ts.Close()
	tcp := join(t, addr, "tcpuser")
	ws := wsJoin(t, "ws"+strings.TrimPrefix(ts.URL, "http"), "wsuser")
	ws.expect(TypeWelcome, nil)
	tcp.expect("*** wsuser joined")

	tcp.send("pay \u202egnp.exe\u2066 \u200bnow")
	e := ws.expect(TypeMsg, nil)
	if e.Text != "pay gnp.exe now" {
		t.Errorf("over WebSocket, from TCP: %+q", e.Text)
	}
	ws.send(WSMessage{Text: "\u2067evil\u2069 \u202etxet"})
	tcp.expect("<tcpuser> pay gnp.exe now")
	if got := tcp.line(); got != "<wsuser> evil txet" {
		t.Errorf("over TCP, from WebSocket: %+q", got)
	}
}
