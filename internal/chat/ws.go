package chat

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// Bounds on a WebSocket client.
const (
	wsReadLimit    = 4 * MaxTextLen // one JSON message, with room for escapes
	wsWriteTimeout = 10 * time.Second
	// DefaultWSIdleTimeout closes a WebSocket silent for this long; the
	// page pings well within it.
	DefaultWSIdleTimeout = 5 * time.Minute
)

// WSMessage is what a WebSocket client sends: first {"nick": NAME}, then
// {"text": LINE} for each line, with the same commands as over TCP.
type WSMessage struct {
	Nick string `json:"nick,omitempty"`
	Text string `json:"text,omitempty"`
}

// ServeHTTP serves the chat over WebSocket: the same room, commands and
// limits as the TCP protocol, with JSON messages. Events arrive as the
// JSON form of Event, one per WebSocket message.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has answered the request
	}
	defer c.CloseNow()
	c.SetReadLimit(wsReadLimit)
	ctx := r.Context()
	peer := remoteAddr(r)

	m := h.Hub.NewMember(peer, func() { c.CloseNow() })
	// The member's writer runs only while there is something to send,
	// as for TCP: an idle WebSocket member holds no goroutine for it.
	written := m.Drain(func(batch []*Event) error {
		for _, e := range batch {
			if err := writeEvent(ctx, c, e); err != nil {
				return err
			}
		}
		return nil
	}, func(err error) {
		if err != nil {
			// A failed write cuts the connection; the reader then finds
			// it dead and the member leaves.
			c.CloseNow()
			return
		}
		// Out of the room, everything written: close, which also ends a
		// reader still waiting (after a kick or a shutdown).
		c.Close(websocket.StatusNormalClosure, "")
	})
	if !h.wsJoin(ctx, c, m) {
		return
	}
	reason := h.wsReadLoop(ctx, c, m)
	h.Hub.Leave(m, reason)
	<-written
}

// wsJoin reads {"nick": ...} messages until one is accepted.
func (h *Handler) wsJoin(ctx context.Context, c *websocket.Conn, m *Member) bool {
	for range maxNickTries {
		msg, err := readWS(ctx, c)
		if err != nil {
			return false
		}
		err = h.Hub.Join(m, msg.Nick)
		if err == nil {
			return true
		}
		if writeEvent(ctx, c, errorEvent(err)) != nil || errors.Is(err, ErrBanned) {
			return false
		}
	}
	c.Close(websocket.StatusPolicyViolation, "too many tries")
	return false
}

func (h *Handler) wsReadLoop(ctx context.Context, c *websocket.Conn, m *Member) string {
	s := h.newSession(m)
	for {
		msg, err := readWS(ctx, c)
		if err != nil {
			var ce websocket.CloseError
			switch {
			case errors.As(err, &ce) && (ce.Code == websocket.StatusNormalClosure || ce.Code == websocket.StatusGoingAway):
				return leaveQuit
			case errors.Is(err, context.DeadlineExceeded):
				return "timeout"
			case errors.Is(err, errBadJSON):
				writeEvent(ctx, c, errorEvent(err))
				return "error: " + err.Error()
			}
			// A browser tab closed without a close frame: the user left.
			return leaveQuit
		}
		if quit, reason, _ := s.handle(ctx, []byte(msg.Text)); quit {
			return reason
		}
	}
}

var errBadJSON = errors.New("chat: expected a JSON object like {\"text\": \"hello\"}")

func readWS(ctx context.Context, c *websocket.Conn) (WSMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, DefaultWSIdleTimeout)
	defer cancel()
	typ, data, err := c.Read(ctx)
	if err != nil {
		return WSMessage{}, err
	}
	var msg WSMessage
	if typ != websocket.MessageText || json.Unmarshal(data, &msg) != nil {
		return WSMessage{}, errBadJSON
	}
	return msg, nil
}

func writeEvent(ctx context.Context, c *websocket.Conn, e *Event) error {
	ctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
	defer cancel()
	return c.Write(ctx, websocket.MessageText, e.JSON())
}

func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, _ := netip.ParseAddr(strings.Trim(host, "[]"))
	return a.Unmap()
}
