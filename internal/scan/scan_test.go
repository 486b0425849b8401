package scan

import (
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

var loopback = netip.MustParseAddr("127.0.0.1")

// listeners opens n TCP listeners on 127.0.0.1 that accept and close, and
// returns their ports.
func listeners(t *testing.T, n int) []uint16 {
	t.Helper()
	var ports []uint16
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		ports = append(ports, uint16(l.Addr().(*net.TCPAddr).Port))
	}
	return ports
}

// closedPorts returns n ports of 127.0.0.1 with nothing listening: ports
// that were just listened on and closed.
func closedPorts(t *testing.T, n int) []uint16 {
	t.Helper()
	var ports []uint16
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, uint16(l.Addr().(*net.TCPAddr).Port))
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

func tcpPorts(nums ...[]uint16) []Port {
	var out []Port
	for _, ns := range nums {
		for _, n := range ns {
			out = append(out, Port{Number: n})
		}
	}
	return out
}

func collect(t *testing.T, s *Scanner, targets []Target, ports []Port) (map[Port]Result, Stats) {
	t.Helper()
	got := map[Port]Result{}
	st, err := s.Run(t.Context(), targets, ports, func(r Result) bool {
		k := Port{r.Port, r.Proto}
		if len(targets) > 1 {
			k.Number ^= uint16(r.Addr.As16()[15]) << 8 // tests with several hosts use ports < 256
		}
		if _, dup := got[k]; dup {
			t.Errorf("port %v reported twice", k)
		}
		got[k] = r
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, st
}

func TestScanLoopbackOpenClosed(t *testing.T) {
	open := listeners(t, 5)
	closed := closedPorts(t, 20)
	var s Scanner
	got, st := collect(t, &s, []Target{{Addr: loopback}}, tcpPorts(open, closed))
	if len(got) != 25 {
		t.Fatalf("%d results, want 25", len(got))
	}
	for _, p := range open {
		if r := got[Port{Number: p}]; r.State != Open || r.Reason != ReasonSynAck || r.RTT <= 0 {
			t.Errorf("port %d: %v %v rtt %v, want open syn-ack", p, r.State, r.Reason, r.RTT)
		}
	}
	for _, p := range closed {
		if r := got[Port{Number: p}]; r.State != Closed || r.Reason != ReasonConnRefused {
			t.Errorf("port %d: %v %v, want closed conn-refused", p, r.State, r.Reason)
		}
	}
	if st.Probes != 25 || st.Retries != 0 {
		t.Errorf("probes %d retries %d, want 25 and 0: a refusal is never retried", st.Probes, st.Retries)
	}
	if len(st.Hosts) != 1 || !st.Hosts[0].Up || st.Hosts[0].States[Open] != 5 {
		t.Errorf("host stats %+v", st.Hosts)
	}
}

func TestScanIterator(t *testing.T) {
	open := listeners(t, 2)
	var s Scanner
	n := 0
	for r := range s.Scan(t.Context(), []Target{{Addr: loopback}}, tcpPorts(open)) {
		if r.State != Open {
			t.Errorf("%d: %v", r.Port, r.State)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("%d results, want 2", n)
	}
	// Breaking out of the loop stops the scan.
	n = 0
	for range s.Scan(t.Context(), []Target{{Addr: loopback}}, tcpPorts(closedPorts(t, 50))) {
		n++
		break
	}
	if n != 1 {
		t.Fatalf("%d results after break", n)
	}
}

func TestScanLocalTroubleIsNotAnAnswer(t *testing.T) {
	// A budget of one descriptor in flight, and Loops 1: every probe waits
	// for the one before; nothing may be reported wrongly.
	open := listeners(t, 3)
	closed := closedPorts(t, 30)
	s := Scanner{Timing: Timing{MaxParallel: 1}, Loops: 1}
	got, _ := collect(t, &s, []Target{{Addr: loopback}}, tcpPorts(open, closed))
	for _, p := range open {
		if got[Port{Number: p}].State != Open {
			t.Errorf("port %d not open", p)
		}
	}
	for _, p := range closed {
		if got[Port{Number: p}].State != Closed {
			t.Errorf("port %d not closed", p)
		}
	}
}

func TestScanUDP(t *testing.T) {
	// An echo server answers: open. A socket that reads and never answers:
	// open|filtered. A port nobody holds: closed (ICMP port unreachable).
	echo, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		buf := make([]byte, 512)
		for {
			n, a, err := echo.ReadFrom(buf)
			if err != nil {
				return
			}
			echo.WriteTo(buf[:n], a)
		}
	}()
	mute, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	gone, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gonePort := uint16(gone.LocalAddr().(*net.UDPAddr).Port)
	gone.Close()
	ports := []Port{
		{Number: uint16(echo.LocalAddr().(*net.UDPAddr).Port), Proto: UDP},
		{Number: uint16(mute.LocalAddr().(*net.UDPAddr).Port), Proto: UDP},
		{Number: gonePort, Proto: UDP},
	}
	s := Scanner{Timing: Timing{InitialRTT: 100 * time.Millisecond, MinRTT: 100 * time.Millisecond, MaxRTT: 100 * time.Millisecond, Retries: 1}}
	got, _ := collect(t, &s, []Target{{Addr: loopback}}, ports)
	want := []struct {
		st  State
		why Reason
	}{{Open, ReasonUDPResponse}, {OpenFiltered, ReasonNoResponse}, {Closed, ReasonPortUnreach}}
	for i, p := range ports {
		if r := got[p]; r.State != want[i].st || r.Reason != want[i].why {
			t.Errorf("udp %d: %v %v, want %v %v", p.Number, r.State, r.Reason, want[i].st, want[i].why)
		}
	}
}

func TestScanBanner(t *testing.T) {
	talker, _ := net.Listen("tcp", "127.0.0.1:0")
	defer talker.Close()
	go func() {
		for {
			c, err := talker.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, "SSH-2.0-netkit\x1b[31m\r\n")
			c.Close()
		}
	}()
	waiter, _ := net.Listen("tcp", "127.0.0.1:0")
	defer waiter.Close()
	go func() {
		for {
			c, err := waiter.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 64)
				n, _ := c.Read(buf)
				if strings.TrimSpace(string(buf[:n])) == "" {
					io.WriteString(c, "hello after a blank line\n")
				}
			}()
		}
	}()
	s := Scanner{Banner: true, BannerTimeout: time.Second, BannerMax: 64}
	tp := uint16(talker.Addr().(*net.TCPAddr).Port)
	wp := uint16(waiter.Addr().(*net.TCPAddr).Port)
	got, _ := collect(t, &s, []Target{{Addr: loopback}}, tcpPorts([]uint16{tp, wp}))
	if b := got[Port{Number: tp}].Banner; b != `SSH-2.0-netkit\x1b[31m` {
		t.Errorf("talker banner %q", b)
	}
	if b := got[Port{Number: wp}].Banner; b != "hello after a blank line" {
		t.Errorf("waiter banner %q", b)
	}
}

func TestScanAcceptAll(t *testing.T) {
	open := listeners(t, 30)
	s := Scanner{AcceptAllMin: 20}
	_, st := collect(t, &s, []Target{{Addr: loopback}}, tcpPorts(open, closedPorts(t, 5)))
	if !st.Hosts[0].AcceptAll {
		t.Errorf("30 of 35 open not flagged")
	}
	_, st = collect(t, &s, []Target{{Addr: loopback}}, tcpPorts(open[:5], closedPorts(t, 30)))
	if st.Hosts[0].AcceptAll {
		t.Errorf("5 of 35 open flagged")
	}
}

func TestEscapeBanner(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SSH-2.0-OpenSSH_9.2\r\n", "SSH-2.0-OpenSSH_9.2"},
		{"a\nb\tc", `a\nb\tc`},
		{"\x00\x1b[2J\x7f", `\x00\x1b[2J\x7f`},
		{"caf\xc3\xa9", "café"},
		{"bad\xff", `bad\xff`},
		{"rtl\u202eoverride", `rtl\xe2\x80\xaeoverride`},
		{`back\slash`, `back\\slash`},
	}
	for _, tt := range tests {
		if got := EscapeBanner([]byte(tt.in)); got != tt.want {
			t.Errorf("EscapeBanner(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzEscapeBanner(f *testing.F) {
	f.Add([]byte("SSH-2.0-x\r\n"))
	f.Add([]byte("\x1b]0;title\x07"))
	f.Add([]byte("\u202e\u2066"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := EscapeBanner(b)
		for _, r := range s {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u202e' {
				t.Fatalf("EscapeBanner(%q) = %q keeps %U", b, s, r)
			}
		}
		if !slices.Equal([]byte(EscapeBanner([]byte(s))), []byte(strings.ReplaceAll(s, `\`, `\\`))) {
			t.Fatalf("escaping %q twice did not only double its backslashes", s)
		}
	})
}
