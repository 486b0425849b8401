package rps

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// Bounds on a WebSocket player.
const (
	// wsMaxLine is the longest line a message may hold; wsReadLimit, the
	// longest message read at all, so that one a little too long gets an
	// error line (as on TCP) rather than only a close code.
	wsMaxLine      = 1024
	wsReadLimit    = 8 * wsMaxLine
	wsWriteTimeout = 10 * time.Second
	// wsIdleTimeout closes a WebSocket silent for this long.
	wsIdleTimeout = 5 * time.Minute
)

// WSHandler serves the game over WebSocket, in the same lobby as the TCP
// players: each message from the browser is one line of the line
// protocol, and each message to it one or more of the server's lines.
type WSHandler struct {
	Lobby *Lobby
}

func (h *WSHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The HTTP server's read and write timeouts are for requests; a
	// WebSocket lives by its own idle and write timeouts and the game's
	// move timeout, so it is not cut after the request timeout.
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has answered the request
	}
	defer c.CloseNow()
	c.SetReadLimit(wsReadLimit)
	ctx := r.Context()
	s := h.Lobby.NewSession(&wsTransport{ctx: ctx, c: c})
	defer s.Close()
	for {
		rctx, cancel := context.WithTimeout(ctx, wsIdleTimeout)
		typ, data, err := c.Read(rctx)
		cancel()
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			s.fail(errors.New("send text messages, one line each"))
			continue
		}
		if len(data) > wsMaxLine {
			// As the TCP service does; Close writes the line first.
			s.errorf("line too long (limit %d bytes); closing", wsMaxLine)
			return
		}
		if s.Handle(data) {
			return
		}
	}
}

type wsTransport struct {
	ctx context.Context
	c   *websocket.Conn
}

func (t *wsTransport) Write(b []byte) error {
	ctx, cancel := context.WithTimeout(t.ctx, wsWriteTimeout)
	defer cancel()
	return t.c.Write(ctx, websocket.MessageText, b)
}

func (t *wsTransport) Hangup() { t.c.Close(websocket.StatusNormalClosure, "game over") }

func (t *wsTransport) Close() { t.c.CloseNow() }
