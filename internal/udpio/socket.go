package udpio

import (
	"net"
	"net/netip"
)

// Socket reads and writes datagrams on any net.PacketConn by the fastest
// way it offers: in batches through a Conn on a *net.UDPConn when one
// could be made, one datagram per call through the *net.UDPConn's
// allocation-free methods otherwise, and ReadFrom and WriteTo on any
// other net.PacketConn. It is the one read loop netkit's UDP servers
// share (the rudp Receiver, the impair Relay and service.PacketServer).
//
// A Socket is for one reader: the datagrams one Read returns are valid
// until the next. Writes may come from another goroutine. Its zero value
// is not usable; make one with NewSocket. The net.PacketConn stays the
// caller's to close, and its deadlines apply.
type Socket struct {
	pc    net.PacketConn
	udp   *net.UDPConn // pc, when it is one
	batch *Conn        // batched I/O on udp, when asked for and available
	buf   []byte       // the one-datagram paths' read buffer
}

// NewSocket wraps pc. bufLen sizes the buffer of one-datagram reads: a
// longer datagram comes cut to bufLen bytes, so a caller that passes one
// more than its limit can tell an oversized one. With o set and pc a
// *net.UDPConn, the Socket reads and writes in batches through New(pc,
// *o); with o nil it never does.
//
// It returns New's warnings, and New's error when batches were asked for
// and could not be had: the Socket then works one datagram per call and
// the caller may say so or not.
func NewSocket(pc net.PacketConn, bufLen int, o *Options) (*Socket, []string, error) {
	s := &Socket{pc: pc, buf: make([]byte, bufLen)}
	s.udp, _ = pc.(*net.UDPConn)
	if s.udp == nil || o == nil {
		return s, nil, nil
	}
	c, warns, err := New(s.udp, *o)
	if err != nil {
		return s, warns, err
	}
	s.batch = c
	return s, warns, nil
}

// Batch returns the Conn the Socket reads through, or nil when it reads
// one datagram per call: a caller with many datagrams to send writes
// them with its WriteBatch.
func (s *Socket) Batch() *Conn { return s.batch }

// UDP returns the *net.UDPConn the Socket wraps, or nil.
func (s *Socket) UDP() *net.UDPConn { return s.udp }

// Read reads at least one datagram into ds, which must not be empty, and
// with batches as many more as are queued, up to len(ds). It returns how
// many it filled; on error none. ds[i].B points into buffers the Socket
// owns, valid until the next Read. A peer that is not a UDP address has
// the zero Addr.
func (s *Socket) Read(ds []Datagram) (int, error) {
	switch {
	case s.batch != nil:
		n, err := s.batch.ReadBatch(ds)
		if err != nil {
			return 0, err
		}
		return n, nil
	case s.udp != nil:
		k, addr, err := s.udp.ReadFromUDPAddrPort(s.buf)
		if err != nil {
			return 0, err
		}
		ds[0] = Datagram{B: s.buf[:k], Addr: addr}
		return 1, nil
	}
	k, a, err := s.pc.ReadFrom(s.buf)
	if err != nil {
		return 0, err
	}
	ds[0] = Datagram{B: s.buf[:k], Addr: addrPortOf(a)}
	return 1, nil
}

// WriteTo sends one datagram to to, without allocating on a
// *net.UDPConn.
func (s *Socket) WriteTo(b []byte, to netip.AddrPort) error {
	var err error
	if s.udp != nil {
		_, err = s.udp.WriteToUDPAddrPort(b, to)
	} else {
		_, err = s.pc.WriteTo(b, net.UDPAddrFromAddrPort(to))
	}
	return err
}

// addrPortOf is a's address and port, or the zero AddrPort when a is
// nil or not an IP address with a port.
func addrPortOf(a net.Addr) netip.AddrPort {
	if ua, ok := a.(*net.UDPAddr); ok {
		return ua.AddrPort()
	}
	if a == nil {
		return netip.AddrPort{}
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}
