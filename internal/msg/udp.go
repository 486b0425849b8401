package msg

import (
	"context"
	"errors"
	"net"
	"net/netip"

	"github.com/netkit/netkit/internal/service"
)

// PacketHandler returns the msg UDP service's handler for datagrams read
// from pc, which broadcasts to UDP clients also leave from. One token per
// datagram; the answer goes to the sender's address. A datagram that does
// not verify, has expired, is a replay, is empty or too large gets no
// answer at all (it is counted in netkit_msg_refused_total and logged at
// debug), so the port cannot be used to reflect traffic at a spoofed
// address: only a holder of the key can make the server answer.
func (s *Server) PacketHandler(pc net.PacketConn) service.PacketHandler {
	s.init()
	s.subs.setPacketConn(pc)
	return service.PacketHandlerFunc(func(ctx context.Context, req []byte, from netip.AddrPort, out []byte) []byte {
		if len(req) > MaxDatagram {
			s.count("udp", "", ErrTooLarge)
			return nil
		}
		s.init()
		// The answer is sealed straight into out.
		reply, typ, err := s.handle(ctx, out, trimToken(req), "udp", from, nil)
		s.count("udp", typ, err)
		if reply == nil || (err != nil && !errors.Is(err, ErrEnvelope)) {
			return nil
		}
		return reply
	})
}

// trimToken drops a final newline, as `echo TOKEN | nc -u` sends one.
func trimToken(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
