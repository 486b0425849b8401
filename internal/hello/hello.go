// Package hello is netkit's command service: the client sends one line,
// "Hello" or "Time" (any case, with or without a trailing CR), the server
// answers one line and closes the connection.
package hello

import (
	"bytes"
	"context"
	"errors"
	"io"
	"time"

	"github.com/netkit/netkit/internal/service"
)

// Replies the server sends.
const (
	HelloReply   = "Hello from server"
	UnknownReply = "Unknown command"
)

// Reply returns the answer to one command line at time now.
func Reply(line []byte, now time.Time) string {
	cmd := bytes.TrimSpace(line)
	switch {
	case bytes.EqualFold(cmd, []byte("hello")):
		return HelloReply
	case bytes.EqualFold(cmd, []byte("time")):
		return now.Format(time.RFC3339)
	default:
		return UnknownReply
	}
}

// Handler is the TCP command service. Now, when set, replaces time.Now for
// tests. The zero value is ready to use.
type Handler struct {
	Now func() time.Time
}

// ServeConn reads one line, answers it and returns, closing the connection.
func (h Handler) ServeConn(ctx context.Context, c *service.Conn) error {
	line, err := c.ReadLine()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return err
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	_, err = c.WriteString(Reply(line, now()) + "\n")
	return err
}
