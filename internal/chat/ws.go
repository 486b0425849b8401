package chat

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Bounds on a WebSocket client.
const (
	wsReadLimit    = 4 * MaxTextLen // one JSON message, with room for escapes
	wsWriteTimeout = 10 * time.Second
	// A joined WebSocket member is pinged after wsPingEvery without a
	// ping answered, and cut when a pong takes over wsPongTimeout: a dead
	// browser goes within a minute, a silent reader stays for ever.
	wsPingEvery   = 30 * time.Second
	wsPongTimeout = 20 * time.Second
	// DefaultWSJoinTimeout is how long at most an upgraded WebSocket may
	// take to join (less if Handler.JoinTimeout is shorter).
	DefaultWSJoinTimeout = 10 * time.Second
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
	// The HTTP server's read and write timeouts are for requests; a
	// WebSocket lives by the join deadline, pings and its own write
	// timeout instead, so it is not cut after the request timeout.
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
	// The page sends its nickname as soon as the socket opens: an
	// upgraded socket that has not joined gets a short deadline.
	jctx, cancel := context.WithTimeout(ctx, min(h.joinTimeout(), DefaultWSJoinTimeout))
	joined := h.wsJoin(jctx, c, m)
	cancel()
	if !joined {
		// Past the join deadline the library has closed the socket.
		return
	}
	stopPings := pingEvery(ctx, c, wsPingEvery, wsPongTimeout)
	defer stopPings()
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
		err = h.Hub.Join(ctx, m, msg.Nick)
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

// pingEvery pings c every period from a timer, with no goroutine between
// pings, and cuts it when a pong does not come within timeout. The
// function returned stops it.
func pingEvery(ctx context.Context, c *websocket.Conn, period, timeout time.Duration) (stop func()) {
	var t *time.Timer
	var mu sync.Mutex
	stopped := false
	t = time.AfterFunc(period, func() {
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err := c.Ping(pctx)
		cancel()
		if err != nil {
			c.CloseNow()
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			t.Reset(period)
		}
	})
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		t.Stop()
	}
}

// readWS reads one message, as long as ctx allows: a joined member may be
// silent for ever.
func readWS(ctx context.Context, c *websocket.Conn) (WSMessage, error) {
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
