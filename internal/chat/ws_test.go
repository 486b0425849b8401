package chat

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/netkit/netkit/internal/service"
	"github.com/netkit/netkit/internal/testwait"
)

type wsClient struct {
	t *testing.T
	c *websocket.Conn
}

func wsJoin(t *testing.T, url, nick string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	w := &wsClient{t: t, c: c}
	w.send(WSMessage{Nick: nick})
	return w
}

func (w *wsClient) send(m WSMessage) {
	w.t.Helper()
	b, _ := json.Marshal(m)
	ctx, cancel := context.WithTimeout(w.t.Context(), 5*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, b); err != nil {
		w.t.Fatal(err)
	}
}

// expect reads events until one of type typ satisfies ok.
func (w *wsClient) expect(typ string, ok func(*Event) bool) *Event {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(w.t.Context(), 10*time.Second)
	defer cancel()
	for {
		_, data, err := w.c.Read(ctx)
		if err != nil {
			w.t.Fatalf("waiting for %s: %v", typ, err)
		}
		e := new(Event)
		if err := json.Unmarshal(data, e); err != nil {
			w.t.Fatalf("bad event %q: %v", data, err)
		}
		if e.Type == typ && (ok == nil || ok(e)) {
			return e
		}
	}
}

func TestWebSocketSharesRoomWithTCP(t *testing.T) {
	hub := NewHub(HubConfig{})
	h := &Handler{Hub: hub}
	addr, _ := startChat(t, h, service.Limits{})
	ts := httptest.NewServer(h)
	defer ts.Close()
	url := "ws" + strings.TrimPrefix(ts.URL, "http")

	tcp := join(t, addr, "tcpuser")
	web := wsJoin(t, url, "webuser")
	welcome := web.expect(TypeWelcome, nil)
	if welcome.Nick != "webuser" || strings.Join(welcome.Users, ",") != "tcpuser,webuser" {
		t.Errorf("welcome = %+v", welcome)
	}
	tcp.expect("*** webuser joined")

	web.send(WSMessage{Text: "hi from the browser"})
	tcp.expect("<webuser> hi from the browser")
	tcp.send("hi from nc")
	got := web.expect(TypeMsg, func(e *Event) bool { return e.From == "tcpuser" })
	if got.Text != "hi from nc" || got.Time.IsZero() {
		t.Errorf("event = %+v", got)
	}

	// Taken nick over WebSocket: an error, then a retry works.
	other := wsJoin(t, url, "TCPUSER")
	other.expect(TypeError, func(e *Event) bool { return strings.Contains(e.Text, "taken") })
	other.send(WSMessage{Nick: "second"})
	other.expect(TypeWelcome, nil)

	web.send(WSMessage{Text: "/msg second psst"})
	other.expect(TypePrivate, func(e *Event) bool { return e.From == "webuser" && e.Text == "psst" })

	// Kicked over TCP by an admin: the WebSocket closes.
	if err := hub.Kick("admin", "webuser", "bye"); err != nil {
		t.Fatal(err)
	}
	web.expect(TypeKick, func(e *Event) bool { return e.Nick == "webuser" })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, _, err := web.c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Errorf("after kick: %v, want a normal close", err)
	}
	tcp.expect("*** webuser was kicked by admin (bye)")

	// Leaving by closing the socket.
	other.c.Close(websocket.StatusNormalClosure, "")
	tcp.expect("*** second left (quit)")
}

func TestWebSocketBadInput(t *testing.T) {
	hub := NewHub(HubConfig{})
	ts := httptest.NewServer(&Handler{Hub: hub})
	defer ts.Close()
	url := "ws" + strings.TrimPrefix(ts.URL, "http")
	w := wsJoin(t, url, "x")
	w.expect(TypeWelcome, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	w.c.Write(ctx, websocket.MessageText, []byte("not json"))
	w.expect(TypeError, func(e *Event) bool { return strings.Contains(e.Text, "JSON") })
	// Not JSON is told and forgiven (see TestWebSocketBadMessageToSenderOnly);
	// an oversized message closes the connection.
	w2 := wsJoin(t, url, "y")
	w2.expect(TypeWelcome, nil)
	w2.c.Write(ctx, websocket.MessageText, []byte(`{"text":"`+strings.Repeat("a", wsReadLimit)+`"}`))
	if _, _, err := w2.c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Errorf("oversized: %v, want StatusMessageTooBig", err)
	}
	testwait.For(t, `hub.Len() == 1`, func() bool { return hub.Len() == 1 })
	if got := hub.Who(); len(got) != 1 || got[0] != "x" {
		t.Errorf("Who = %q, want x alone", got)
	}
}

// TestWebSocketBatch checks that a batch of joins and leaves reaches a
// WebSocket client as one event carrying the list.
func TestWebSocketBatch(t *testing.T) {
	hub := NewHub(HubConfig{BatchAbove: 2, BatchWindow: time.Hour, History: -1})
	ts := httptest.NewServer(&Handler{Hub: hub})
	defer ts.Close()
	url := "ws" + strings.TrimPrefix(ts.URL, "http")
	web := wsJoin(t, url, "webuser")
	web.expect(TypeWelcome, nil)
	var ms []*Member
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		m := hub.NewMember(netip.Addr{}, nil)
		if err := hub.Join(context.Background(), m, n); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	// a and b join a small room, c a big one (at once, opening a
	// window); d and e wait in the batch until c says something.
	hub.Leave(ms[1], "quit")
	hub.Leave(ms[2], "quit")
	hub.Announce("flush")
	for _, want := range []string{"a", "b", "c"} {
		if e := web.expect(TypeJoin, nil); e.Nick != want {
			t.Errorf("join event %+v, want %s alone", e, want)
		}
	}
	e := web.expect(TypeJoin, nil)
	if e.Nick != "" || strings.Join(e.Users, ",") != "d,e" {
		t.Errorf("batch event %+v, want users d,e", e)
	}
	e = web.expect(TypeLeave, nil)
	if e.Nick != "" || strings.Join(e.Users, ",") != "b,c" || e.Text != "quit" {
		t.Errorf("batch event %+v, want users b,c leaving (quit)", e)
	}
	web.expect(TypeSystem, func(e *Event) bool { return e.Text == "flush" })
}
