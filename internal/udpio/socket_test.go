package udpio

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// hidden hides a *net.UDPConn behind the net.PacketConn interface, as a
// wrapper (a rate limiter, a test double) would.
type hidden struct{ net.PacketConn }

// oddAddr is a peer address that is not a UDP one.
type oddAddr struct{}

func (oddAddr) Network() string { return "odd" }
func (oddAddr) String() string  { return "somewhere" }

// oddConn reads one datagram from a peer that has no IP address.
type oddConn struct {
	net.PacketConn
	sent bool
}

func (c *oddConn) ReadFrom(b []byte) (int, net.Addr, error) {
	if c.sent {
		return 0, nil, net.ErrClosed
	}
	c.sent = true
	return copy(b, "odd one"), oddAddr{}, nil
}

func TestSocketPaths(t *testing.T) {
	tests := []struct {
		name      string
		wrap      func(*net.UDPConn) net.PacketConn
		opt       *Options
		wantBatch bool
	}{
		{"batched", func(c *net.UDPConn) net.PacketConn { return c }, &Options{}, true},
		{"UDPConn, one per call", func(c *net.UDPConn) net.PacketConn { return c }, nil, false},
		{"any PacketConn", func(c *net.UDPConn) net.PacketConn { return hidden{c} }, &Options{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			cli, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				t.Fatal(err)
			}
			defer cli.Close()
			const bufLen = 9
			s, _, err := NewSocket(tt.wrap(srv), bufLen, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Batch() != nil; got != tt.wantBatch {
				t.Fatalf("batched %v, want %v", got, tt.wantBatch)
			}
			srv.SetReadDeadline(time.Now().Add(5 * time.Second))
			cli.SetReadDeadline(time.Now().Add(5 * time.Second))
			from := cli.LocalAddr().(*net.UDPAddr).AddrPort()
			to := srv.LocalAddr().(*net.UDPAddr)
			for _, msg := range []string{"hello", "0123456789abcdef"} {
				if _, err := cli.WriteToUDP([]byte(msg), to); err != nil {
					t.Fatal(err)
				}
				ds := make([]Datagram, 4)
				n, err := s.Read(ds)
				if err != nil || n != 1 {
					t.Fatalf("Read = %d, %v; want 1 datagram", n, err)
				}
				want := msg
				if len(want) > bufLen && !tt.wantBatch {
					// Cut to the buffer, so the caller sees it is too
					// long; a batch reads up to Options.MaxDatagram.
					want = want[:bufLen]
				}
				if string(ds[0].B) != want {
					t.Fatalf("read %q, want %q", ds[0].B, want)
				}
				got := netip.AddrPortFrom(ds[0].Addr.Addr().Unmap(), ds[0].Addr.Port())
				if got != from {
					t.Fatalf("from %v, want %v", got, from)
				}
				if err := s.WriteTo([]byte("re:"+msg), got); err != nil {
					t.Fatal(err)
				}
				b := make([]byte, 64)
				k, _, err := cli.ReadFromUDP(b)
				if err != nil || string(b[:k]) != "re:"+msg {
					t.Fatalf("reply %q, %v; want %q", b[:k], err, "re:"+msg)
				}
			}
			srv.SetReadDeadline(time.Now().Add(-time.Second))
			if n, err := s.Read(make([]Datagram, 1)); n != 0 || err == nil {
				t.Fatalf("Read past the deadline = %d, %v; want 0 and an error", n, err)
			}
		})
	}
}

func TestSocketNonUDPPeer(t *testing.T) {
	s, _, err := NewSocket(&oddConn{}, 16, &Options{})
	if err != nil {
		t.Fatal(err)
	}
	ds := []Datagram{{Addr: netip.MustParseAddrPort("10.0.0.1:9")}}
	n, err := s.Read(ds)
	if err != nil || n != 1 || string(ds[0].B) != "odd one" {
		t.Fatalf("Read = %d %q, %v; want 1 %q", n, ds[0].B, err, "odd one")
	}
	if ds[0].Addr.IsValid() {
		t.Fatalf("peer %v, want none: it is not a UDP address", ds[0].Addr)
	}
	if n, err := s.Read(ds); n != 0 || err == nil {
		t.Fatalf("Read after close = %d, %v; want 0 and an error", n, err)
	}
}
