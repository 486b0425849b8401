//go:build linux

package udpio

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// needOffload skips t unless the kernel has both offloads.
func needOffload(t *testing.T, cs ...*Conn) {
	t.Helper()
	for _, c := range cs {
		if gso, gro := c.Offload(); !gso || !gro {
			t.Skipf("offloads in use: gso %v, gro %v", gso, gro)
		}
	}
}

// TestGROSplit sends GSO runs to a GRO socket, to which loopback hands
// each run as one super-buffer: ReadBatch must return the datagrams
// that went in.
func TestGROSplit(t *testing.T) {
	rc := wrap(t, listen(t), Options{})
	wc := wrap(t, dial(t, addrOf(rc.uc)), Options{})
	needOffload(t, rc, wc)
	var out []Datagram
	for i := range 64 {
		out = append(out, Datagram{B: payload(i, 1200)})
	}
	out = append(out, Datagram{B: payload(64, 700)})
	for i := range 20 {
		out = append(out, Datagram{B: payload(65+i, MaxDatagram)})
	}
	if n, err := wc.WriteBatch(out); err != nil || n != len(out) {
		t.Fatalf("WriteBatch = %d, %v; want %d, nil", n, err, len(out))
	}
	checkSame(t, receive(t, rc, len(out), DefaultBatch), out)
	// 1200 × 54 fills 64800 bytes; then 10 × 1200 and 700; then 20 × 1472.
	if got, want := rc.sys.coalesced, 3; got != want {
		t.Errorf("%d super-buffers read, want %d", got, want)
	}
}

// TestGSORefused makes the kernel refuse UDP_SEGMENT (it does on a socket
// with SO_NO_CHECK): the Conn turns GSO off and sends the run without it.
func TestGSORefused(t *testing.T) {
	rc := wrap(t, listen(t), Options{})
	uc := dial(t, addrOf(rc.uc))
	wc := wrap(t, uc, Options{})
	if gso, _ := wc.Offload(); !gso {
		t.Skip("no GSO")
	}
	setInt(t, uc, unix.SOL_SOCKET, unix.SO_NO_CHECK, 1)
	var out []Datagram
	for i := range 10 {
		out = append(out, Datagram{B: payload(i, 1000)})
	}
	if n, err := wc.WriteBatch(out); err != nil || n != len(out) {
		t.Fatalf("WriteBatch = %d, %v; want %d, nil", n, err, len(out))
	}
	if gso, _ := wc.Offload(); gso {
		t.Error("GSO still on after the kernel refused it")
	}
	checkSame(t, receive(t, rc, len(out), DefaultBatch), out)
}

func setInt(t *testing.T, uc *net.UDPConn, level, opt, v int) {
	t.Helper()
	raw, err := uc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := raw.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), level, opt, v) }); err != nil {
		t.Fatal(err)
	}
	if serr != nil {
		t.Fatal(serr)
	}
}

// TestRefused sends to a closed port from a connected socket: the ICMP
// port unreachable that comes back fails a later WriteBatch with
// ECONNREFUSED, which the caller takes for loss.
func TestRefused(t *testing.T) {
	for _, disable := range []bool{true, false} {
		t.Run(offloadName(disable), func(t *testing.T) {
			closed := listen(t)
			to := addrOf(closed)
			closed.Close()
			wc := wrap(t, dial(t, to), Options{DisableOffload: disable})
			ds := []Datagram{{B: []byte("a")}, {B: []byte("b")}}
			// The ICMP error is queued on the socket as the first
			// datagram reaches the closed port, before sendmmsg returns.
			var err error
			for range 100 {
				var n int
				if n, err = wc.WriteBatch(ds); err != nil {
					if n >= len(ds) {
						t.Errorf("WriteBatch = %d, %v: n must be below %d on error", n, err, len(ds))
					}
					break
				}
			}
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("WriteBatch: %v, want %v", err, syscall.ECONNREFUSED)
			}
			var oe *net.OpError
			if !errors.As(err, &oe) || oe.Op != "write" {
				t.Errorf("%v is not a *net.OpError of a write", err)
			}
		})
	}
}

// listen6 opens an IPv6 socket on 127.0.0.1, as ::ffff:127.0.0.1, which
// the net package will not make: it takes a v4-mapped address for IPv4.
func listen6(t *testing.T) *net.UDPConn {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Skip(err)
	}
	f := os.NewFile(uintptr(fd), "udp6")
	defer f.Close()
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0); err != nil {
		t.Skip(err)
	}
	sa := &unix.SockaddrInet6{Addr: netip.MustParseAddr("::ffff:127.0.0.1").As16()}
	if err := unix.Bind(fd, sa); err != nil {
		t.Skip(err)
	}
	pc, err := net.FilePacketConn(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.(*net.UDPConn)
}

// TestIPv6Socket round-trips through an IPv6 socket, which takes and
// gives sockaddr_in6, to and from an IPv4 one.
func TestIPv6Socket(t *testing.T) {
	for _, disable := range []bool{true, false} {
		t.Run(offloadName(disable), func(t *testing.T) {
			six := wrap(t, listen6(t), Options{DisableOffload: disable})
			four := wrap(t, listen(t), Options{DisableOffload: disable})
			if six.sys.family != unix.AF_INET6 {
				t.Fatalf("family %d, want AF_INET6", six.sys.family)
			}
			var out []Datagram
			for i, size := range sizes() {
				out = append(out, Datagram{B: payload(i, size), Addr: addrOf(four.uc)})
			}
			if n, err := six.WriteBatch(out); err != nil || n != len(out) {
				t.Fatalf("WriteBatch = %d, %v; want %d, nil", n, err, len(out))
			}
			got := receive(t, four, len(out), DefaultBatch)
			checkSame(t, got, out)
			from6 := addrOf(six.uc)
			if got[0].Addr != netip.AddrPortFrom(from6.Addr().Unmap(), from6.Port()) {
				t.Errorf("from %v, want %v", got[0].Addr, from6)
			}

			// And back, to the address it came from.
			for i := range out {
				out[i].Addr = got[0].Addr
			}
			out[0].Addr = netip.AddrPortFrom(netip.AddrFrom16(got[0].Addr.Addr().As16()), got[0].Addr.Port())
			if n, err := four.WriteBatch(out); err != nil || n != len(out) {
				t.Fatalf("WriteBatch = %d, %v; want %d, nil", n, err, len(out))
			}
			back := receive(t, six, len(out), DefaultBatch)
			checkSame(t, back, out)
			want := netip.AddrPortFrom(netip.AddrFrom16(addrOf(four.uc).Addr().As16()), addrOf(four.uc).Port())
			if back[0].Addr != want {
				t.Errorf("from %v, want %v", back[0].Addr, want)
			}
		})
	}
}

func TestSockaddr(t *testing.T) {
	lo, err := net.InterfaceByIndex(1)
	if err != nil {
		t.Skip(err)
	}
	for _, tt := range []struct {
		family int
		in     string
		want   string // "" for ErrAddress
	}{
		{unix.AF_INET, "192.0.2.1:53", "192.0.2.1:53"},
		{unix.AF_INET, "[::ffff:192.0.2.1]:53", "192.0.2.1:53"},
		{unix.AF_INET, "[2001:db8::1]:53", ""},
		{unix.AF_INET6, "192.0.2.1:53", "[::ffff:192.0.2.1]:53"},
		{unix.AF_INET6, "[2001:db8::1]:65535", "[2001:db8::1]:65535"},
		{unix.AF_INET6, "[fe80::1%1]:9", "[fe80::1%" + lo.Name + "]:9"},
		{unix.AF_INET6, "[fe80::1%" + lo.Name + "]:9", "[fe80::1%" + lo.Name + "]:9"},
		{unix.AF_INET6, "[fe80::1%no-such-interface]:9", ""},
	} {
		var s sysConn
		s.rname = make([]unix.RawSockaddrInet6, 1)
		n, err := putSockaddr(&s.rname[0], tt.family, netip.MustParseAddrPort(tt.in), false, &s.wzone)
		if tt.want == "" {
			if !errors.Is(err, ErrAddress) {
				t.Errorf("family %d, %s: %v, want %v", tt.family, tt.in, err, ErrAddress)
			}
			continue
		}
		if err != nil {
			t.Errorf("family %d, %s: %v", tt.family, tt.in, err)
			continue
		}
		if want := map[int]uint32{unix.AF_INET: unix.SizeofSockaddrInet4, unix.AF_INET6: unix.SizeofSockaddrInet6}[tt.family]; n != want {
			t.Errorf("family %d, %s: length %d, want %d", tt.family, tt.in, n, want)
		}
		if got := s.sockaddrAt(0).String(); got != tt.want {
			t.Errorf("family %d, %s: decoded %s, want %s", tt.family, tt.in, got, tt.want)
		}
	}
}

func TestGroSize(t *testing.T) {
	oob := alignedBytes(2 * unix.CmsgSpace(4))
	put := func(b []byte, level, typ int32, v uint32) {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
		h.Level, h.Type = level, typ
		h.SetLen(unix.CmsgLen(4))
		*(*uint32)(unsafe.Pointer(&b[unix.CmsgLen(0)])) = v
	}
	put(oob, unix.IPPROTO_IP, unix.IP_TOS, 7)
	put(oob[unix.CmsgSpace(4):], unix.SOL_UDP, unix.UDP_GRO, 1458)
	for _, tt := range []struct {
		name string
		oob  []byte
		want int
	}{
		{"after another", oob, 1458},
		{"other only", oob[:unix.CmsgSpace(4)], 0},
		{"cut", oob[:unix.CmsgSpace(4)+unix.CmsgLen(4)-1], 0},
		{"empty", nil, 0},
	} {
		if got := groSize(tt.oob); got != tt.want {
			t.Errorf("%s: groSize = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestGrantedBuffer(t *testing.T) {
	// A socket given 416 KiB reports 832 KiB.
	if got := grantedBuffer(851968); got != 425984 {
		t.Errorf("grantedBuffer(851968) = %d, want 425984", got)
	}
}

func TestOffloadHere(t *testing.T) {
	c := wrap(t, listen(t), Options{})
	gso, gro := c.Offload()
	r, w := c.Buffers()
	t.Logf("gso %v, gro %v, buffers %s / %s, %d read slots of %d bytes", gso, gro, formatSize(r), formatSize(w), len(c.sys.rh), c.sys.rslot)
	if gro && len(c.sys.rh) > groSlots {
		t.Errorf("%d GRO read slots, want at most %d", len(c.sys.rh), groSlots)
	}
}
