// Package clock serves the time over netkit's service runtime: netkit's own
// line protocol (TIME, ISO, QUIT), RFC 867 daytime, RFC 868 time over TCP
// and UDP, and SNTP (RFC 4330) in server mode. The wire formats are in
// package timeproto; this package only answers connections and datagrams.
package clock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/netkit/netkit/internal/service"
	"github.com/netkit/netkit/internal/timeproto"
)

// now returns f, or time.Now when f is nil.
func now(f func() time.Time) time.Time {
	if f != nil {
		return f()
	}
	return time.Now()
}

// LineHandler serves netkit's line time protocol: each TIME line gets the
// time in UTC (RFC 3339, milliseconds), each ISO line the local time (ISO
// 8601 with its offset), QUIT closes. Unknown lines get an error line and
// the connection stays open. Now replaces time.Now when set.
type LineHandler struct {
	Now func() time.Time
}

// ServeConn answers lines until the client quits or goes away.
func (h LineHandler) ServeConn(_ context.Context, c *service.Conn) error {
	for {
		line, err := c.ReadLine()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var reply string
		cmd, err := timeproto.ParseCommand(line)
		switch {
		case err != nil:
			reply = fmt.Sprintf("error: %v; try TIME, ISO or QUIT", err)
		case cmd == timeproto.CommandTime:
			reply = timeproto.FormatTime(now(h.Now))
		case cmd == timeproto.CommandISO:
			reply = timeproto.FormatISO(now(h.Now))
		case cmd == timeproto.CommandQuit:
			_, err := c.WriteString("bye\n")
			return err
		}
		if _, err := c.WriteString(reply + "\n"); err != nil {
			return err
		}
	}
}

// DaytimeHandler is the RFC 867 daytime service over TCP: one line of UTC
// time on connect, then close.
type DaytimeHandler struct {
	Now func() time.Time
}

// ServeConn sends the time and returns.
func (h DaytimeHandler) ServeConn(_ context.Context, c *service.Conn) error {
	_, err := c.Write(timeproto.AppendDaytime(nil, now(h.Now)))
	return err
}

// RFC868Handler is the RFC 868 time service over TCP: four bytes of
// seconds since 1900 on connect, then close.
type RFC868Handler struct {
	Now func() time.Time
}

// ServeConn sends the time and returns.
func (h RFC868Handler) ServeConn(_ context.Context, c *service.Conn) error {
	_, err := c.Write(timeproto.AppendRFC868(nil, now(h.Now)))
	return err
}

// ServePacket answers any datagram with the four-byte time, as RFC 868
// asks of the UDP service.
func (h RFC868Handler) ServePacket(_ context.Context, _ []byte, _ netip.AddrPort, out []byte) []byte {
	return timeproto.AppendRFC868(out, now(h.Now))
}

// SNTPHandler is an SNTP server (RFC 4330 section 5) presenting the local
// clock honestly as an undisciplined local clock; see
// timeproto.LocalClock.
type SNTPHandler struct {
	Now  func() time.Time
	Info timeproto.ServerInfo
}

// ServePacket answers a client-mode request; anything else is dropped,
// since answering other modes would let the server be used to reflect
// traffic.
func (h SNTPHandler) ServePacket(_ context.Context, req []byte, _ netip.AddrPort, out []byte) []byte {
	recv := now(h.Now)
	p, err := timeproto.ParsePacket(req)
	if err != nil {
		return nil
	}
	resp, err := timeproto.Reply(p, recv, now(h.Now), h.Info)
	if err != nil {
		return nil
	}
	return resp.Append(out)
}
