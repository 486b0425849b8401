package udpio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"testing"
	"time"
)

// testTimeout bounds every blocking read of a test, so that a lost
// datagram fails the test instead of hanging it.
const testTimeout = 10 * time.Second

func listen(t testing.TB) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func dial(t testing.TB, to netip.AddrPort) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(to))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func addrOf(c *net.UDPConn) netip.AddrPort {
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// wrap makes a Conn with a receive buffer large enough for every test to
// send all its datagrams before reading any.
func wrap(t testing.TB, uc *net.UDPConn, o Options) *Conn {
	t.Helper()
	if o.ReadBuffer == 0 {
		o.ReadBuffer = 4 << 20
	}
	c, warnings, err := New(uc, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range warnings {
		t.Log(w)
	}
	return c
}

// payload is datagram seq of the given size: its sequence number, then
// bytes that depend on both.
func payload(seq, size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(seq*7 + i)
	}
	if size >= 4 {
		binary.BigEndian.PutUint32(b, uint32(seq))
	}
	return b
}

// receive reads until it has n datagrams, batch at most at a time, and
// returns copies.
func receive(t testing.TB, c *Conn, n, batch int) []Datagram {
	t.Helper()
	if err := c.uc.SetReadDeadline(time.Now().Add(testTimeout)); err != nil {
		t.Fatal(err)
	}
	ds := make([]Datagram, batch)
	var got []Datagram
	for len(got) < n {
		k, err := c.ReadBatch(ds[:min(batch, n-len(got))])
		if err != nil {
			t.Fatalf("after %d of %d datagrams: %v", len(got), n, err)
		}
		if k == 0 {
			t.Fatal("ReadBatch returned no datagram and no error")
		}
		for _, d := range ds[:k] {
			got = append(got, Datagram{B: bytes.Clone(d.B), Addr: d.Addr})
		}
	}
	return got
}

// checkSame fails t unless got holds the bytes of want, in order.
func checkSame(t testing.TB, got, want []Datagram) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d datagrams, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i].B, want[i].B) {
			t.Fatalf("datagram %d: got %d bytes %x..., want %d bytes %x...",
				i, len(got[i].B), head(got[i].B), len(want[i].B), head(want[i].B))
		}
	}
}

func head(b []byte) []byte {
	return b[:min(len(b), 8)]
}

// sizes is a sequence of datagram sizes that exercises the packing of
// runs: lone datagrams, runs split at 64 segments and at 65507 bytes, a
// shorter datagram ending a run, a longer one starting another, and an
// empty datagram.
func sizes() []int {
	s := []int{1, 2, 3, 100, MaxDatagram, MaxDatagram - 1, 500, 0, 7}
	for range 70 {
		s = append(s, 1000) // 64 segments, then 6
	}
	for range 50 {
		s = append(s, MaxDatagram) // 44 fill 65507 bytes, then 6
	}
	s = append(s, 1000, 1000, 1000, 1000, 1000, 999)  // the last shorter
	s = append(s, 1200, 1200, 1300, 1300, 1300, 1458) // a longer one ends a run
	for range 10 {
		s = append(s, 1)
	}
	return s
}

func offloadName(disable bool) string {
	if disable {
		return "plain"
	}
	return "offload"
}

func TestRoundTrip(t *testing.T) {
	for _, disable := range []bool{true, false} {
		for _, connected := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/connected=%v", offloadName(disable), connected), func(t *testing.T) {
				rc := wrap(t, listen(t), Options{DisableOffload: disable})
				to := addrOf(rc.uc)
				var out []Datagram
				for i, size := range sizes() {
					out = append(out, Datagram{B: payload(i, size), Addr: to})
				}
				var wc *Conn
				if connected {
					wc = wrap(t, dial(t, to), Options{DisableOffload: disable})
					for i := range out {
						out[i].Addr = netip.AddrPort{} // ignored anyway
					}
				} else {
					wc = wrap(t, listen(t), Options{DisableOffload: disable})
				}
				n, err := wc.WriteBatch(out)
				if err != nil || n != len(out) {
					t.Fatalf("WriteBatch = %d, %v; want %d, nil", n, err, len(out))
				}
				got := receive(t, rc, len(out), DefaultBatch)
				checkSame(t, got, out)
				from := addrOf(wc.uc)
				for i, d := range got {
					if d.Addr != from {
						t.Fatalf("datagram %d from %v, want %v", i, d.Addr, from)
					}
				}
			})
		}
	}
}

// TestMixedDestinations sends runs and single datagrams to two receivers
// from one unconnected socket: a run ends where the address changes.
func TestMixedDestinations(t *testing.T) {
	for _, disable := range []bool{true, false} {
		t.Run(offloadName(disable), func(t *testing.T) {
			ra := wrap(t, listen(t), Options{DisableOffload: disable})
			rb := wrap(t, listen(t), Options{DisableOffload: disable})
			wc := wrap(t, listen(t), Options{DisableOffload: disable})
			a, b := addrOf(ra.uc), addrOf(rb.uc)
			plan := []struct {
				to    netip.AddrPort
				count int
				size  int
			}{
				{a, 3, 1000}, {b, 3, 1000}, {a, 1, 1000}, {b, 1, 1000},
				{a, 5, 1458}, {a, 5, 1458}, {b, 70, 200}, {a, 2, 10},
			}
			var out, wantA, wantB []Datagram
			for _, p := range plan {
				for range p.count {
					d := Datagram{B: payload(len(out), p.size), Addr: p.to}
					out = append(out, d)
					if p.to == a {
						wantA = append(wantA, d)
					} else {
						wantB = append(wantB, d)
					}
				}
			}
			if n, err := wc.WriteBatch(out); err != nil || n != len(out) {
				t.Fatalf("WriteBatch = %d, %v; want %d, nil", n, err, len(out))
			}
			checkSame(t, receive(t, ra, len(wantA), DefaultBatch), wantA)
			checkSame(t, receive(t, rb, len(wantB), DefaultBatch), wantB)
		})
	}
}

// TestSmallReads reads a few datagrams at a time: what a super-buffer
// holds beyond len(ds) comes with the next call.
func TestSmallReads(t *testing.T) {
	for _, disable := range []bool{true, false} {
		t.Run(offloadName(disable), func(t *testing.T) {
			rc := wrap(t, listen(t), Options{DisableOffload: disable})
			wc := wrap(t, dial(t, addrOf(rc.uc)), Options{DisableOffload: disable})
			var out []Datagram
			for i := range 100 {
				out = append(out, Datagram{B: payload(i, 1200)})
			}
			out[len(out)-1].B = payload(99, 300)
			if n, err := wc.WriteBatch(out); err != nil || n != len(out) {
				t.Fatalf("WriteBatch = %d, %v; want %d, nil", n, err, len(out))
			}
			checkSame(t, receive(t, rc, len(out), 7), out)
		})
	}
}

func TestReadDeadline(t *testing.T) {
	for _, disable := range []bool{true, false} {
		t.Run(offloadName(disable), func(t *testing.T) {
			rc := wrap(t, listen(t), Options{DisableOffload: disable})
			ds := make([]Datagram, 8)
			for _, d := range []time.Duration{-time.Second, 20 * time.Millisecond} {
				if err := rc.uc.SetReadDeadline(time.Now().Add(d)); err != nil {
					t.Fatal(err)
				}
				n, err := rc.ReadBatch(ds)
				if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("deadline in %v: ReadBatch = %d, %v; want 0, %v", d, n, err, os.ErrDeadlineExceeded)
				}
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					t.Errorf("deadline in %v: %v is not a net.Error with Timeout", d, err)
				}
			}
		})
	}
}

func TestClosed(t *testing.T) {
	uc := listen(t)
	c := wrap(t, uc, Options{})
	uc.Close()
	if _, err := c.ReadBatch(make([]Datagram, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("ReadBatch after Close: %v, want %v", err, net.ErrClosed)
	}
	ds := []Datagram{{B: []byte("x"), Addr: addrOf(uc)}}
	if _, err := c.WriteBatch(ds); !errors.Is(err, net.ErrClosed) {
		t.Errorf("WriteBatch after Close: %v, want %v", err, net.ErrClosed)
	}
}

// TestOversize sends datagrams over MaxDatagram with plain writes: each
// comes out alone and cut to MaxDatagram+1 bytes, never merged with the
// next.
func TestOversize(t *testing.T) {
	for _, disable := range []bool{true, false} {
		t.Run(offloadName(disable), func(t *testing.T) {
			rc := wrap(t, listen(t), Options{DisableOffload: disable})
			to := addrOf(rc.uc)
			wc := listen(t)
			var out []Datagram
			for i, size := range []int{2000, 100, 65000, MaxDatagram, MaxDatagram + 1, 1} {
				b := payload(i, size)
				if _, err := wc.WriteToUDPAddrPort(b, to); err != nil {
					t.Fatal(err)
				}
				out = append(out, Datagram{B: b[:min(size, MaxDatagram+1)]})
			}
			checkSame(t, receive(t, rc, len(out), DefaultBatch), out)
		})
	}
}

// TestMaxDatagram checks Options.MaxDatagram from both sides: datagrams
// up to it come whole, a longer one cut to one byte more.
func TestMaxDatagram(t *testing.T) {
	for _, disable := range []bool{true, false} {
		t.Run(offloadName(disable), func(t *testing.T) {
			const max = 9000
			rc := wrap(t, listen(t), Options{DisableOffload: disable, MaxDatagram: max})
			to := addrOf(rc.uc)
			wc := listen(t)
			var out []Datagram
			for i, size := range []int{2000, max, max + 1, 65000, 1} {
				b := payload(i, size)
				if _, err := wc.WriteToUDPAddrPort(b, to); err != nil {
					t.Fatal(err)
				}
				out = append(out, Datagram{B: b[:min(size, max+1)]})
			}
			checkSame(t, receive(t, rc, len(out), DefaultBatch), out)
		})
	}
}

func TestWriteAddress(t *testing.T) {
	rc := wrap(t, listen(t), Options{})
	wc := wrap(t, listen(t), Options{})
	to := addrOf(rc.uc)
	for _, tt := range []struct {
		name  string
		ds    []Datagram
		wantN int
	}{
		{"zero", []Datagram{{B: []byte("a")}}, 0},
		{"ipv6 on ipv4", []Datagram{{B: []byte("a"), Addr: netip.MustParseAddrPort("[::1]:9")}}, 0},
		{"after good ones", []Datagram{{B: []byte("a"), Addr: to}, {B: []byte("b"), Addr: to}, {B: []byte("c")}}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n, err := wc.WriteBatch(tt.ds)
			if n != tt.wantN || !errors.Is(err, ErrAddress) {
				t.Errorf("WriteBatch = %d, %v; want %d, %v", n, err, tt.wantN, ErrAddress)
			}
		})
	}
	// What was sent before the bad address.
	checkSame(t, receive(t, rc, 2, DefaultBatch), []Datagram{{B: []byte("a")}, {B: []byte("b")}})

	// A v4-mapped address goes out on an IPv4 socket.
	mapped := netip.AddrPortFrom(netip.AddrFrom16(to.Addr().As16()), to.Port())
	if n, err := wc.WriteBatch([]Datagram{{B: []byte("m"), Addr: mapped}}); n != 1 || err != nil {
		t.Fatalf("WriteBatch to %v = %d, %v; want 1, nil", mapped, n, err)
	}
	checkSame(t, receive(t, rc, 1, 1), []Datagram{{B: []byte("m")}})
}

func TestBufferWarning(t *testing.T) {
	for _, tt := range []struct {
		dir            string
		asked, granted int
		want           string
	}{
		{"receive", 8 << 20, 416 << 10, "the kernel granted a 416 KiB receive buffer of the 8 MiB asked; raise net.core.rmem_max"},
		{"send", 8 << 20, 4 << 20, "the kernel granted a 4 MiB send buffer of the 8 MiB asked; raise net.core.wmem_max"},
		{"receive", 1 << 30, 212992, "the kernel granted a 208 KiB receive buffer of the 1024 MiB asked; raise net.core.rmem_max"},
		{"receive", 3 << 19, 1000, "the kernel granted a 1000 bytes receive buffer of the 1.5 MiB asked; raise net.core.rmem_max"},
		{"send", 1 << 20, 1500, "the kernel granted a 1.5 KiB send buffer of the 1 MiB asked; raise net.core.wmem_max"},
		{"receive", 8 << 20, 8 << 20, ""},
		{"send", 1 << 20, 2 << 20, ""},
	} {
		if got := bufferWarning(tt.dir, tt.asked, tt.granted); got != tt.want {
			t.Errorf("bufferWarning(%q, %d, %d) = %q, want %q", tt.dir, tt.asked, tt.granted, got, tt.want)
		}
	}
}

// TestBuffers asks for buffers on a real socket: a size within the
// kernel's limits is granted, and an absurd one is granted (to root, who
// may force it) or warned about.
func TestBuffers(t *testing.T) {
	for _, asked := range []int{256 << 10, 1 << 30} {
		t.Run(formatSize(asked), func(t *testing.T) {
			c, warnings, err := New(listen(t), Options{ReadBuffer: asked, WriteBuffer: asked})
			if err != nil {
				t.Fatal(err)
			}
			r, w := c.Buffers()
			t.Logf("granted %s to read, %s to write; warnings %q", formatSize(r), formatSize(w), warnings)
			short := 0
			for _, g := range []int{r, w} {
				if runtime.GOOS == "linux" {
					g = min(g+1, asked) // the kernel's ceiling is a byte under 1 GiB
				}
				if g < asked {
					short++
				}
			}
			if len(warnings) != short {
				t.Errorf("%d warnings for %d buffers short of %d bytes", len(warnings), short, asked)
			}
			if runtime.GOOS == "linux" && (r == 0 || w == 0) {
				t.Errorf("Buffers() = %d, %d; want the kernel's sizes", r, w)
			}
		})
	}
}

func TestNew(t *testing.T) {
	if _, _, err := New(nil, Options{}); err == nil {
		t.Error("New(nil) succeeded")
	}
	if _, _, err := New(listen(t), Options{ReadBuffer: -1}); err == nil {
		t.Error("New with a negative buffer succeeded")
	}
	c, _, err := New(listen(t), Options{DisableOffload: true})
	if err != nil {
		t.Fatal(err)
	}
	if gso, gro := c.Offload(); gso || gro {
		t.Errorf("Offload() = %v, %v with DisableOffload", gso, gro)
	}
}

// TestAllocs checks that writing and reading a batch of 64 datagrams
// allocates nothing.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the fallback is the net package's, one datagram at a time")
	}
	for _, disable := range []bool{true, false} {
		for _, connected := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/connected=%v", offloadName(disable), connected), func(t *testing.T) {
				rc := wrap(t, listen(t), Options{DisableOffload: disable})
				to := addrOf(rc.uc)
				var wc *Conn
				if connected {
					wc = wrap(t, dial(t, to), Options{DisableOffload: disable})
				} else {
					wc = wrap(t, listen(t), Options{DisableOffload: disable})
				}
				out := make([]Datagram, 64)
				for i := range out {
					out[i] = Datagram{B: payload(i, 1458), Addr: to}
				}
				out[63].B = out[63].B[:500]
				in := make([]Datagram, 64)
				if err := rc.uc.SetReadDeadline(time.Now().Add(testTimeout)); err != nil {
					t.Fatal(err)
				}
				var werr, rerr error
				write := func() {
					if _, err := wc.WriteBatch(out); err != nil {
						werr = err
					}
				}
				read := func() {
					for got := 0; got < len(out); {
						n, err := rc.ReadBatch(in[:len(out)-got])
						if err != nil {
							rerr = err
							return
						}
						got += n
					}
				}
				// AllocsPerRun calls f runs+1 times: the writes queue as
				// many batches as the reads then take.
				const runs = 5
				write()
				read() // warm up
				wa := testing.AllocsPerRun(runs, write)
				ra := testing.AllocsPerRun(runs, read)
				if werr != nil || rerr != nil {
					t.Fatalf("write: %v; read: %v", werr, rerr)
				}
				if wa != 0 || ra != 0 {
					t.Errorf("%v allocations per WriteBatch and %v per ReadBatch of 64, want 0", wa, ra)
				}
			})
		}
	}
}
