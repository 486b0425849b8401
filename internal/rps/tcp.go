package rps

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/netkit/netkit/internal/service"
)

// Handler serves the game's line protocol over TCP (TLS with the
// server's --tls): one player per connection. Set Lobby.
type Handler struct {
	Lobby *Lobby
}

// ServeConn runs one player until it quits, its game ends, or its
// connection drops.
func (h *Handler) ServeConn(ctx context.Context, c *service.Conn) error {
	s := h.Lobby.NewSession(tcpTransport{c})
	defer s.Close()
	for {
		line, err := c.ReadLine()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if s.Handle(line) {
			return nil
		}
	}
}

// tcpTransport writes a session's lines to its connection.
type tcpTransport struct{ c *service.Conn }

func (t tcpTransport) Write(b []byte) error {
	_, err := t.c.Write(b)
	return err
}

// Hangup sends FIN, so that nc and scripts see the end after the last
// line, and cuts the connection a moment later if the client keeps it
// open. Closing at once could turn unread input into a reset that
// destroys the last lines.
func (t tcpTransport) Hangup() {
	t.c.CloseWrite()
	time.AfterFunc(time.Second, func() { t.c.Close() })
}

func (t tcpTransport) Close() { t.c.Close() }
