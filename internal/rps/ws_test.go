package rps

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// wsClient is one player over the WebSocket: a line a message out, one
// or more lines a message in.
type wsClient struct {
	t     *testing.T
	c     *websocket.Conn
	lines []string
}

func dialWS(t *testing.T, url string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return &wsClient{t: t, c: c}
}

func (w *wsClient) send(line string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, []byte(line)); err != nil {
		w.t.Fatalf("send %q: %v", line, err)
	}
}

// next returns the next server line, parsed.
func (w *wsClient) next() (Event, error) {
	for len(w.lines) == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		typ, data, err := w.c.Read(ctx)
		cancel()
		if err != nil {
			return Event{}, err
		}
		if typ != websocket.MessageText || !strings.HasSuffix(string(data), "\n") {
			w.t.Fatalf("message %v %q: want text lines, each ending in \\n", typ, data)
		}
		w.lines = strings.SplitAfter(strings.TrimSuffix(string(data), "\n"), "\n")
	}
	l := w.lines[0]
	w.lines = w.lines[1:]
	return ParseEvent([]byte(l))
}

func (w *wsClient) expect(kind string) Event {
	w.t.Helper()
	for {
		e, err := w.next()
		if err != nil {
			w.t.Fatalf("waiting for %s: %v", kind, err)
		}
		if e.Kind == kind {
			return e
		}
	}
}

// TestWebSocketGame plays a game between a WebSocket player and a TCP
// player in the same lobby: a binary message is refused with an error
// line and costs nothing, the game is played out, and the WebSocket is
// closed normally after the final result.
func TestWebSocketGame(t *testing.T) {
	l, addr := startServer(t, Config{Target: 2})
	hs := httptest.NewServer(&WSHandler{Lobby: l})
	t.Cleanup(hs.Close)
	w := dialWS(t, "ws"+strings.TrimPrefix(hs.URL, "http"))
	if e := w.expect(KindWelcome); e.Target != 2 {
		t.Fatalf("greeting %+v", e)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageBinary, []byte("webby")); err != nil {
		t.Fatal(err)
	}
	if e := w.expect(KindError); !strings.Contains(e.Text, "text messages") {
		t.Errorf("binary message: %+v", e)
	}
	w.send("webby")
	if e := w.expect(KindWelcome); e.Name != "webby" || e.Token == "" {
		t.Fatalf("welcome %+v", e)
	}
	w.expect(KindWaiting)

	c, _ := join(t, addr, "tcpy")
	if e := w.expect(KindMatched); e.Opponent != "tcpy" {
		t.Fatalf("matched %+v", e)
	}
	c.expect(KindMatched)
	for round := 1; round <= 2; round++ {
		w.expect(KindRound)
		c.expect(KindRound)
		w.send("papier")
		c.send("rock")
		if e := w.expect(KindResult); e.Round != round || e.Mine.String() != "paper" || e.Outcome != Win {
			t.Errorf("round %d: %+v", round, e)
		}
		if e := w.expect(KindScore); e.Score != [2]int{round, 0} {
			t.Errorf("round %d: score %v", round, e.Score)
		}
	}
	if e := w.expect(KindGame); e.State != GameOver || e.Outcome != Win || e.Opponent != "tcpy" {
		t.Errorf("game over: %+v", e)
	}
	if e := c.expect(KindGame); e.State != GameOver || e.Outcome != Lose {
		t.Errorf("tcp side: %+v", e)
	}
	_, err := w.next()
	if got := websocket.CloseStatus(err); got != websocket.StatusNormalClosure {
		t.Errorf("after the game: %v (status %v), want a normal closure", err, got)
	}
}

// TestWebSocketLineTooLong: a message past the line limit gets an error
// line saying so, and the connection closes, as on TCP.
func TestWebSocketLineTooLong(t *testing.T) {
	l, _ := startServer(t, Config{})
	hs := httptest.NewServer(&WSHandler{Lobby: l})
	t.Cleanup(hs.Close)
	w := dialWS(t, "ws"+strings.TrimPrefix(hs.URL, "http"))
	w.expect(KindWelcome)
	w.send(strings.Repeat("x", wsMaxLine+1))
	if e := w.expect(KindError); !strings.HasPrefix(e.Text, "line too long (limit 1024 bytes)") {
		t.Errorf("error %q", e.Text)
	}
	if _, err := w.next(); err == nil {
		t.Error("the connection stayed open")
	}
}
