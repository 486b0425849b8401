package msg

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// Bounds on a WebSocket client.
const (
	wsWriteTimeout = 10 * time.Second
	wsPingEvery    = 30 * time.Second
	// WSIdleTimeout closes a WebSocket whose pings go unanswered this
	// long.
	WSIdleTimeout = 10 * time.Second
)

// serveWS serves one WebSocket: each text frame is a token, answered by
// a text frame with the token of the answer; a token refused gets a
// text frame "error: REASON" (not a token) and the connection stays up.
// Broadcasts are pushed as they come. The server pings every 30 s and
// drops a peer that does not answer within 10 s.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	// The web server's request timeouts are for requests; a WebSocket
	// lives on, watched by its pings instead.
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{})
	rc.SetWriteDeadline(time.Time{})
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has answered
	}
	defer c.CloseNow()
	c.SetReadLimit(MaxToken)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	from := remoteAddrPort(r)

	cl := &wsClient{queue: make(chan []byte, wsQueue), drop: func() {
		s.logger.Debug("websocket client too slow, dropped", "peer", from)
		cancel()
	}}
	s.subs.addWS(cl)
	defer s.subs.removeWS(cl)

	go s.wsPing(ctx, c, cancel)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		// One timer for the connection's life, armed for each write, in
		// place of a context and timer per frame: a write that takes
		// longer than wsWriteTimeout ends the connection.
		stuck := time.AfterFunc(wsWriteTimeout, cancel)
		stuck.Stop()
		defer stuck.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case tok := <-cl.queue:
				stuck.Reset(wsWriteTimeout)
				err := c.Write(ctx, websocket.MessageText, tok)
				stuck.Stop()
				if err != nil {
					cancel()
					return
				}
			}
		}
	}()
	defer func() { <-writerDone }()

	for {
		typ, data, err := c.Read(ctx)
		if err != nil {
			cancel()
			var ce websocket.CloseError
			if errors.As(err, &ce) && ce.Code == websocket.StatusMessageTooBig {
				s.count("ws", "", ErrTooLarge)
			}
			if websocket.CloseStatus(err) == -1 && ctx.Err() == nil {
				s.logger.Debug("websocket read", "peer", from, "err", err)
			}
			return
		}
		if typ != websocket.MessageText {
			cl.push([]byte("error: send tokens as text frames"))
			continue
		}
		reply, typ2, err := s.handle(ctx, nil, trimToken(data), "ws", from, cl.setSealer)
		s.count("ws", typ2, err)
		switch {
		case reply != nil:
			cl.push(reply)
		case err != nil:
			cl.push(fmt.Appendf(nil, "error: %s", oneLine(err)))
		}
	}
}

func (s *Server) wsPing(ctx context.Context, c *websocket.Conn, cancel context.CancelFunc) {
	t := time.NewTicker(wsPingEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			pctx, pcancel := context.WithTimeout(ctx, WSIdleTimeout)
			err := c.Ping(pctx)
			pcancel()
			if err != nil {
				cancel()
				return
			}
		}
	}
}
