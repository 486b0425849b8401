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
	"sync/atomic"
	"time"
	"unicode/utf8"

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
// {"text": LINE} for each line, with the same commands as over TCP. Each
// is one text message; other fields are ignored.
type WSMessage struct {
	Nick string `json:"nick,omitempty"`
	Text string `json:"text,omitempty"`
}

// What a WebSocket client is told about a message it sent that is not a
// WSMessage. Each goes to the sender alone, who stays connected, but for
// errWSUTF8: RFC 6455 (section 8.1) has an endpoint fail the connection on
// a text message that is not UTF-8, so the sender is told and closed with
// status 1007.
var (
	errBadJSON    = errors.New(`chat: expected a JSON object like {"text": "hello"}`)
	errWSNoText   = errors.New(`chat: expected a JSON object with "text", like {"text": "hello"}`)
	errWSNoNick   = errors.New(`chat: choose a nickname first: {"nick": "NAME"}`)
	errWSJoined   = errors.New(`chat: already joined; to change your nickname send {"text": "/nick NEWNAME"}`)
	errWSBinary   = errors.New(`chat: expected a text message holding JSON, like {"text": "hello"}, not a binary one`)
	errWSUTF8     = errors.New("chat: message is not valid UTF-8; closing")
	leaveBadInput = "invalid message"
)

// ParseWSMessage decodes one WebSocket message from a client, of type typ,
// and checks that it has what the client is expected to send: a nick
// before joining, a text after (joined). The error says what was wrong,
// to tell the client; a message with both fields is taken as the one that
// is expected.
func ParseWSMessage(typ websocket.MessageType, data []byte, joined bool) (WSMessage, error) {
	if typ != websocket.MessageText {
		return WSMessage{}, errWSBinary
	}
	if !utf8.Valid(data) {
		// encoding/json would take it, turning the bad bytes into U+FFFD.
		return WSMessage{}, errWSUTF8
	}
	var msg WSMessage
	if err := json.Unmarshal(data, &msg); err != nil {
		return WSMessage{}, errBadJSON
	}
	switch {
	case !joined && msg.Nick == "":
		return WSMessage{}, errWSNoNick
	case joined && msg.Text == "" && msg.Nick != "":
		return WSMessage{}, errWSJoined
	case joined && msg.Text == "":
		return WSMessage{}, errWSNoText
	}
	return msg, nil
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
	// How the connection is closed once the member is out of the room:
	// normally, or as the reader found the client at fault.
	var closeStatus atomic.Int32
	closeStatus.Store(int32(websocket.StatusNormalClosure))
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
		c.Close(websocket.StatusCode(closeStatus.Load()), "")
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
	reason, status := h.wsReadLoop(ctx, c, m)
	closeStatus.Store(int32(status))
	h.Hub.Leave(m, reason)
	<-written
}

// wsJoin reads {"nick": ...} messages until one is accepted.
func (h *Handler) wsJoin(ctx context.Context, c *websocket.Conn, m *Member) bool {
	for range maxNickTries {
		typ, data, err := c.Read(ctx)
		if err != nil {
			return false
		}
		msg, err := ParseWSMessage(typ, data, false)
		if err == nil {
			err = h.Hub.Join(ctx, m, msg.Nick)
			if err == nil {
				return true
			}
		}
		if writeEvent(ctx, c, errorEvent(err)) != nil || errors.Is(err, ErrBanned) {
			return false
		}
		if errors.Is(err, errWSUTF8) {
			c.Close(websocket.StatusInvalidFramePayloadData, "invalid UTF-8")
			return false
		}
	}
	c.Close(websocket.StatusPolicyViolation, "too many tries")
	return false
}

// wsReadLoop handles the member's messages until it leaves, and returns
// the reason to announce and the status to close the connection with.
func (h *Handler) wsReadLoop(ctx context.Context, c *websocket.Conn, m *Member) (string, websocket.StatusCode) {
	s := h.newSession(m)
	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			switch {
			case errors.As(err, &ce) && (ce.Code == websocket.StatusNormalClosure || ce.Code == websocket.StatusGoingAway):
				return leaveQuit, websocket.StatusNormalClosure
			case errors.Is(err, context.DeadlineExceeded):
				return "timeout", websocket.StatusNormalClosure
			}
			// A browser tab closed without a close frame: the user left.
			return leaveQuit, websocket.StatusNormalClosure
		}
		msg, err := ParseWSMessage(typ, data, true)
		if err != nil {
			// The sender alone hears of it, paced like its lines, so that
			// bad messages cannot flood it with errors.
			if quit, reason, _ := s.reject(ctx, err); quit {
				return reason, websocket.StatusPolicyViolation
			}
			if errors.Is(err, errWSUTF8) {
				return leaveBadInput, websocket.StatusInvalidFramePayloadData
			}
			continue
		}
		if quit, reason, _ := s.handle(ctx, []byte(msg.Text)); quit {
			return reason, websocket.StatusNormalClosure
		}
	}
}

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
