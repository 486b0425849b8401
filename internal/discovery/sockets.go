package discovery

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// The mDNS groups and port (RFC 6762).
var (
	group4 = netip.MustParseAddrPort("224.0.0.251:5353")
	group6 = netip.MustParseAddrPort("[ff02::fb]:5353")
)

const mdnsPort = 5353

// Interfaces returns the interfaces that are up and multicast-capable
// (loopback is not). With only set, just those holding an address in it.
func Interfaces(only func(netip.Addr) bool) []net.Interface {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []net.Interface
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagMulticast == 0 || ifi.Flags&net.FlagLoopback != 0 {
			continue
		}
		if only != nil && !hasAddr(ifi, only) {
			continue
		}
		out = append(out, ifi)
	}
	return out
}

func hasAddr(ifi net.Interface, only func(netip.Addr) bool) bool {
	for _, a := range ifaceAddrs(ifi) {
		if only(a) {
			return true
		}
	}
	return false
}

// ifaceAddrs returns an interface's unicast addresses.
func ifaceAddrs(ifi net.Interface) []netip.Addr {
	as, err := ifi.Addrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range as {
		if pn, ok := a.(*net.IPNet); ok {
			if ad, ok := netip.AddrFromSlice(pn.IP); ok {
				out = append(out, ad.Unmap())
			}
		}
	}
	return out
}

// reuse lets several responders (netkit, avahi, python-zeroconf) share
// port 5353, as every mDNS stack does.
func reuse(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		if serr == nil {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// conn4 and conn6 wrap a UDP socket of each family with the per-packet
// interface information the responder and browser need.
type conn4 struct {
	pc *ipv4.PacketConn
	c  net.PacketConn
}

type conn6 struct {
	pc *ipv6.PacketConn
	c  net.PacketConn
}

func listen4(ctx context.Context, port int) (*conn4, error) {
	lc := net.ListenConfig{Control: reuse}
	c, err := lc.ListenPacket(ctx, "udp4", net.JoinHostPort("0.0.0.0", strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	pc := ipv4.NewPacketConn(c)
	pc.SetControlMessage(ipv4.FlagInterface, true)
	pc.SetMulticastTTL(255)
	pc.SetMulticastLoopback(true)
	return &conn4{pc: pc, c: c}, nil
}

func listen6(ctx context.Context, port int) (*conn6, error) {
	lc := net.ListenConfig{Control: reuse}
	c, err := lc.ListenPacket(ctx, "udp6", net.JoinHostPort("::", strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	pc := ipv6.NewPacketConn(c)
	pc.SetControlMessage(ipv6.FlagInterface, true)
	pc.SetMulticastHopLimit(255)
	pc.SetMulticastLoopback(true)
	return &conn6{pc: pc, c: c}, nil
}

// packet is one datagram read, with the interface it came in on.
type packet struct {
	b       []byte
	from    netip.AddrPort
	ifIndex int
	v6      bool
}

func (c *conn4) read(buf []byte) (packet, error) {
	n, cm, src, err := c.pc.ReadFrom(buf)
	if err != nil {
		return packet{}, err
	}
	p := packet{b: buf[:n]}
	if ua, ok := src.(*net.UDPAddr); ok {
		p.from = ua.AddrPort()
		p.from = netip.AddrPortFrom(p.from.Addr().Unmap(), p.from.Port())
	}
	if cm != nil {
		p.ifIndex = cm.IfIndex
	}
	return p, nil
}

func (c *conn6) read(buf []byte) (packet, error) {
	n, cm, src, err := c.pc.ReadFrom(buf)
	if err != nil {
		return packet{}, err
	}
	p := packet{b: buf[:n], v6: true}
	if ua, ok := src.(*net.UDPAddr); ok {
		p.from = ua.AddrPort()
	}
	if cm != nil {
		p.ifIndex = cm.IfIndex
	}
	return p, nil
}

func (c *conn4) send(b []byte, ifIndex int, to netip.AddrPort) error {
	_, err := c.pc.WriteTo(b, &ipv4.ControlMessage{IfIndex: ifIndex}, net.UDPAddrFromAddrPort(to))
	return err
}

func (c *conn6) send(b []byte, ifIndex int, to netip.AddrPort) error {
	_, err := c.pc.WriteTo(b, &ipv6.ControlMessage{IfIndex: ifIndex}, net.UDPAddrFromAddrPort(to))
	return err
}
