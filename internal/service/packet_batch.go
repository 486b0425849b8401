package service

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/netkit/netkit/internal/udpio"
)

// maxKeptReply is the largest answer buffer a batch slot keeps between
// batches; a longer answer's buffer is left to the collector.
const maxKeptReply = 64 << 10

// serveBatch is Serve's loop through udpio: a batch of datagrams per
// read, their answers in one write. ok is false when udpio cannot take
// the socket, and Serve falls back to one datagram per call.
func (s *PacketServer) serveBatch(uc *net.UDPConn, maxPacket int) (err error, ok bool) {
	// udpio reports a datagram longer than MaxDatagram cut to one byte
	// more, which is what tells an oversized one apart here.
	c, _, err := udpio.New(uc, udpio.Options{Batch: s.Batch, MaxDatagram: min(maxPacket, 65535)})
	if err != nil {
		s.logger.Debug("batched datagram I/O not available", "err", err)
		return nil, false
	}
	in := make([]udpio.Datagram, min(s.Batch, 1024))
	outs := make([][]byte, len(in))
	for i := range outs {
		outs[i] = make([]byte, 0, 2048)
	}
	replies := make([]udpio.Datagram, 0, len(in))
	for {
		n, err := c.ReadBatch(in)
		if err != nil {
			if s.closed.Load() {
				return ErrServerClosed, true
			}
			if isTemporary(err) {
				continue
			}
			return fmt.Errorf("service: read: %w", err), true
		}
		replies = replies[:0]
		for i, d := range in[:n] {
			from := netip.AddrPortFrom(d.Addr.Addr().Unmap(), d.Addr.Port())
			reply := s.answer(d.B, from, maxPacket, outs[i][:0])
			if reply == nil {
				continue
			}
			if cap(reply) <= maxKeptReply {
				outs[i] = reply[:0]
			}
			replies = append(replies, udpio.Datagram{B: reply, Addr: d.Addr})
		}
		s.writeReplies(c, replies)
	}
}

// writeReplies sends the answers of one batch; one that fails is logged
// and the rest still go.
func (s *PacketServer) writeReplies(c *udpio.Conn, ds []udpio.Datagram) {
	for len(ds) > 0 {
		n, err := c.WriteBatch(ds)
		if err == nil {
			return
		}
		if s.closed.Load() || errors.Is(err, net.ErrClosed) {
			return
		}
		if n < len(ds) {
			s.logger.Debug("reply failed", "peer", ds[n].Addr, "err", err)
			n++
		}
		ds = ds[n:]
	}
}
