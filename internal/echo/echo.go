// Package echo is netkit's echo service: over TCP it greets the client with
// one line and then sends back every byte it receives; over UDP it is the
// RFC 862 echo service, answering each datagram with itself.
package echo

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"

	"github.com/netkit/netkit/internal/service"
)

// Welcome is the line a TCP client receives on connecting.
const Welcome = "netkit echo: everything you send comes back\n"

// bufferSize is what one connection reads at a time. Small, because an idle
// connection holds it while it waits: 10,000 idle clients cost 20 MB here.
const bufferSize = 2048

// Handler is the TCP echo service. The zero value is ready to use.
type Handler struct{}

// ServeConn greets c, then copies everything it reads back to it until the
// client closes its side.
func (Handler) ServeConn(ctx context.Context, c *service.Conn) error {
	if _, err := c.WriteString(Welcome); err != nil {
		return err
	}
	debug := c.Logger().Enabled(ctx, slog.LevelDebug)
	buf := make([]byte, bufferSize)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if debug {
				c.Logger().Debug("echo", "len", n)
			}
			if _, werr := c.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// PacketHandler is the RFC 862 UDP echo service: each datagram comes back
// unchanged to its sender. The zero value is ready to use.
type PacketHandler struct{}

// ServePacket returns req.
func (PacketHandler) ServePacket(_ context.Context, req []byte, _ netip.AddrPort, out []byte) []byte {
	return append(out, req...)
}
