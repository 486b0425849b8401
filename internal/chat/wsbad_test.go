package chat

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/netkit/netkit/internal/service"
)

// TestWebSocketBadMessageToSenderOnly is defect 7 of issue 11: a
// WebSocket message that is not JSON, or not the JSON the chat expects,
// gets an error to its sender alone, who stays in the room; nothing about
// it reaches anyone else.
func TestWebSocketBadMessageToSenderOnly(t *testing.T) {
	hub := NewHub(HubConfig{History: -1})
	h := &Handler{Hub: hub}
	addr, _ := startChat(t, h, service.Limits{})
	ts := httptest.NewServer(h)
	defer ts.Close()
	url := "ws" + strings.TrimPrefix(ts.URL, "http")

	watcher := join(t, addr, "watcher")
	web := wsJoin(t, url, "webuser")
	web.expect(TypeWelcome, nil)
	watcher.expect("*** webuser joined")

	tests := []struct {
		name string
		typ  websocket.MessageType
		data string
		want string // in the error's text
	}{
		{"not JSON", websocket.MessageText, "not json", "JSON"},
		{"truncated", websocket.MessageText, `{"text":"hel`, "JSON"},
		{"array", websocket.MessageText, `["hello"]`, "JSON"},
		{"text a number", websocket.MessageText, `{"text":5}`, "JSON"},
		{"null", websocket.MessageText, `null`, "text"},
		{"empty object", websocket.MessageText, `{}`, "text"},
		{"unknown field", websocket.MessageText, `{"txt":"hello"}`, "text"},
		{"nick after joining", websocket.MessageText, `{"nick":"other"}`, "/nick"},
		{"binary", websocket.MessageBinary, `{"text":"hello"}`, "text message"},
	}
	// One after another on one connection (the helpers fail the whole
	// test, so no subtests).
	for i, tt := range tests {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		err := web.c.Write(ctx, tt.typ, []byte(tt.data))
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		e := web.expect(TypeError, nil)
		if !strings.Contains(e.Text, tt.want) {
			t.Errorf("%s: error %q, want it to mention %q", tt.name, e.Text, tt.want)
		}
		// The sender is still here and heard: its next line is the next
		// thing the room sees.
		marker := "still here " + string(rune('a'+i))
		web.send(WSMessage{Text: marker})
		if got := watcher.line(); got != "<webuser> "+marker {
			t.Errorf("%s: the room got %q after a bad message, want only the sender's next line", tt.name, got)
		}
		web.expect(TypeMsg, func(e *Event) bool { return e.Text == marker })
	}
	if n := hub.Len(); n != 2 {
		t.Errorf("%d members after bad messages, want 2", n)
	}
}

// TestWebSocketInvalidUTF8Closes checks the one bad message that ends the
// connection: a text frame that is not UTF-8, which RFC 6455 (8.1) says
// must fail the connection. The sender is told why and closed with 1007;
// the room hears that it left, not the parser's words.
func TestWebSocketInvalidUTF8Closes(t *testing.T) {
	hub := NewHub(HubConfig{History: -1})
	h := &Handler{Hub: hub}
	addr, _ := startChat(t, h, service.Limits{})
	ts := httptest.NewServer(h)
	defer ts.Close()
	url := "ws" + strings.TrimPrefix(ts.URL, "http")

	watcher := join(t, addr, "watcher")
	web := wsJoin(t, url, "webuser")
	web.expect(TypeWelcome, nil)
	watcher.expect("*** webuser joined")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := web.c.Write(ctx, websocket.MessageText, []byte("{\"text\":\"a\xff\"}")); err != nil {
		t.Fatal(err)
	}
	e := web.expect(TypeError, nil)
	if !strings.Contains(e.Text, "UTF-8") {
		t.Errorf("error %q, want it to say UTF-8", e.Text)
	}
	if _, _, err := web.c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusInvalidFramePayloadData {
		t.Errorf("after invalid UTF-8: %v, want close status 1007", err)
	}
	if got, want := watcher.line(), "*** webuser left (invalid message)"; got != want {
		t.Errorf("the room got %q, want %q", got, want)
	}
}

// TestWebSocketBadNickMessage checks the join: a message that is not a
// nickname is told, and the client may try again.
func TestWebSocketBadNickMessage(t *testing.T) {
	hub := NewHub(HubConfig{History: -1})
	ts := httptest.NewServer(&Handler{Hub: hub})
	defer ts.Close()
	url := "ws" + strings.TrimPrefix(ts.URL, "http")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	w := &wsClient{t: t, c: c}
	for _, bad := range []string{"hello", `{"text":"hi"}`, `[]`} {
		if err := c.Write(ctx, websocket.MessageText, []byte(bad)); err != nil {
			t.Fatal(err)
		}
		if e := w.expect(TypeError, nil); !strings.Contains(e.Text, "nick") && !strings.Contains(e.Text, "JSON") {
			t.Errorf("%s before joining: error %q", bad, e.Text)
		}
	}
	w.send(WSMessage{Nick: "late"})
	w.expect(TypeWelcome, nil)
}

func TestParseWSMessage(t *testing.T) {
	tests := []struct {
		typ    websocket.MessageType
		in     string
		joined bool
		want   WSMessage
		err    error
	}{
		{websocket.MessageText, `{"nick":"bob"}`, false, WSMessage{Nick: "bob"}, nil},
		{websocket.MessageText, `{"text":"hi"}`, true, WSMessage{Text: "hi"}, nil},
		{websocket.MessageText, `{"text":"hi","id":7}`, true, WSMessage{Text: "hi"}, nil},
		{websocket.MessageText, `{"text":"hi"}`, false, WSMessage{}, errWSNoNick},
		{websocket.MessageText, `{"nick":"bob"}`, true, WSMessage{}, errWSJoined},
		{websocket.MessageText, `{}`, true, WSMessage{}, errWSNoText},
		{websocket.MessageText, `null`, true, WSMessage{}, errWSNoText},
		{websocket.MessageText, `{"text":["a"]}`, true, WSMessage{}, errBadJSON},
		{websocket.MessageText, `{"text":"a"} {}`, true, WSMessage{}, errBadJSON},
		{websocket.MessageText, "{\"text\":\"\xc3\"}", true, WSMessage{}, errWSUTF8},
		{websocket.MessageBinary, `{"text":"hi"}`, true, WSMessage{}, errWSBinary},
	}
	for _, tt := range tests {
		got, err := ParseWSMessage(tt.typ, []byte(tt.in), tt.joined)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("ParseWSMessage(%v, %q, %v) = %+v, %v; want %+v, %v", tt.typ, tt.in, tt.joined, got, err, tt.want, tt.err)
		}
	}
	// Every prefix of a valid message is refused cleanly.
	full := `{"text":"hello"}`
	for i := range len(full) {
		if _, err := ParseWSMessage(websocket.MessageText, []byte(full[:i]), true); err == nil {
			t.Errorf("prefix %q accepted", full[:i])
		}
	}
}

func FuzzParseWSMessage(f *testing.F) {
	for _, s := range []string{`{"nick":"bob"}`, `{"text":"hi"}`, `{"text":"/msg a b"}`, `{}`, `null`, "not json", "{\"text\":\"\xff\"}"} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, in []byte, joined bool) {
		msg, err := ParseWSMessage(websocket.MessageText, in, joined)
		if err != nil {
			if msg != (WSMessage{}) {
				t.Fatalf("error %v with a message %+v", err, msg)
			}
			return
		}
		if joined && msg.Text == "" || !joined && msg.Nick == "" {
			t.Fatalf("accepted %q (joined %v) as %+v", in, joined, msg)
		}
		if !utf8.ValidString(msg.Text) || !utf8.ValidString(msg.Nick) {
			t.Fatalf("accepted invalid UTF-8 from %q", in)
		}
	})
}
