package scan

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/netns"
)

// fast is a timing for a veth a few microseconds long.
var fast = Timing{InitialRTT: 200 * time.Millisecond, MinRTT: 50 * time.Millisecond, MaxRTT: 200 * time.Millisecond}

// farHost is a namespace whose host has ports 22 and 80 open and a port
// of each kind of refusal: 30 dropped, 31 rejected with ICMP port
// unreachable, 32 with host unreachable, 33 with admin prohibited, 34
// with a TCP reset; 29 is closed.
func farHost(t *testing.T) *netns.Net {
	n := netns.New(t, "scan")
	for _, p := range []string{"22", "80"} {
		n.Listen(netip.AddrPortFrom(n.Far, mustPort(p)).String())
	}
	for _, rule := range [][]string{
		{"--dport", "30", "-j", "DROP"},
		{"--dport", "31", "-j", "REJECT", "--reject-with", "icmp-port-unreachable"},
		{"--dport", "32", "-j", "REJECT", "--reject-with", "icmp-host-unreachable"},
		{"--dport", "33", "-j", "REJECT", "--reject-with", "icmp-admin-prohibited"},
		{"--dport", "34", "-j", "REJECT", "--reject-with", "tcp-reset"},
	} {
		n.In(append([]string{"iptables", "-A", "INPUT", "-p", "tcp"}, rule...)...)
	}
	return n
}

func mustPort(s string) uint16 {
	p, _ := strconv.Atoi(s)
	return uint16(p)
}

func TestScanNamespaceStates(t *testing.T) {
	n := farHost(t)
	s := Scanner{Timing: fast}
	got, st := collect(t, &s, []Target{{Addr: n.Far}}, tcpPorts([]uint16{22, 80, 29, 30, 31, 32, 33, 34}))
	want := map[uint16]struct {
		st  State
		why Reason
	}{
		22: {Open, ReasonSynAck}, 80: {Open, ReasonSynAck}, 29: {Closed, ReasonConnRefused},
		30: {Filtered, ReasonNoResponse}, 31: {Closed, ReasonPortUnreach}, 32: {Filtered, ReasonHostUnreach},
		33: {Filtered, ReasonAdminProhib}, 34: {Closed, ReasonConnRefused},
	}
	for p, w := range want {
		r := got[Port{Number: p}]
		if r.State != w.st || r.Reason != w.why {
			t.Errorf("port %d: %v (%v), want %v (%v)", p, r.State, r.Reason, w.st, w.why)
		}
	}
	// Every answer came at the first try, so silence is retried once, as
	// nmap does, not --retries times.
	if r := got[Port{Number: 30}]; r.Tries != 2 {
		t.Errorf("dropped port: %d tries, want 2 (1 retry: no retry was ever answered)", r.Tries)
	}
	if st.Retries != 1 {
		t.Errorf("%d retries, want 1: only silence is retried", st.Retries)
	}
}

// TestScanRetriesWhenTheyHelp drops the first SYN to port 35 (closed) and
// every SYN to 30: once the retry to 35 has been answered, silence on
// that host is worth every retry --retries allows.
func TestScanRetriesWhenTheyHelp(t *testing.T) {
	n := farHost(t)
	n.In("iptables", "-I", "INPUT", "-p", "tcp", "--dport", "35", "-m", "statistic", "--mode", "nth", "--every", "2", "--packet", "0", "-j", "DROP")
	// Four loops, one port each: what one loop learns of the host, the
	// others use.
	s := Scanner{Timing: fast, Loops: 4}
	got, st := collect(t, &s, []Target{{Addr: n.Far}}, tcpPorts([]uint16{22, 29, 30, 35}))
	if r := got[Port{Number: 35}]; r.State != Closed || r.Tries != 2 {
		t.Errorf("port 35: %v after %d tries, want closed at the second", r.State, r.Tries)
	}
	if r := got[Port{Number: 30}]; r.State != Filtered || r.Tries != 3 {
		t.Errorf("port 30: %v after %d tries, want filtered after 3 (a retry proved useful)", r.State, r.Tries)
	}
	if st.Retries != 3 {
		t.Errorf("%d retries, want 3 (one to 35, two to 30)", st.Retries)
	}
}

func TestScanNamespaceDiscovery(t *testing.T) {
	n := farHost(t)
	n.AddFar(10)
	n.Listen(netip.AddrPortFrom(n.Addr(10), 8080).String())
	s := Scanner{Timing: fast}
	targets, err := ParseTargets(t.Context(), []string{netip.PrefixFrom(n.Prefix.Addr(), 28).String()}, TargetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, st := collect(t, &s, targets, tcpPorts([]uint16{22, 8080}))
	up := map[netip.Addr]bool{}
	for _, h := range st.Hosts {
		if h.Up {
			up[h.Addr] = true
		}
	}
	// .1 is this side (it answers from lo), .2 and .10 the far host.
	if len(up) != 3 || !up[n.Near] || !up[n.Far] || !up[n.Addr(10)] {
		t.Errorf("hosts up: %v, want %v %v %v", up, n.Near, n.Far, n.Addr(10))
	}
	opens := 0
	for _, r := range got {
		if r.State == Open {
			opens++
			if !(r.Addr == n.Far && r.Port == 22 || r.Addr == n.Addr(10) && r.Port == 8080) {
				t.Errorf("unexpected open %v:%d", r.Addr, r.Port)
			}
		}
		if !up[r.Addr] {
			t.Errorf("a port of %v, which is down, was scanned", r.Addr)
		}
	}
	if opens != 2 {
		t.Errorf("%d open, want 2", opens)
	}
}

func TestScanNamespaceCancel(t *testing.T) {
	n := farHost(t)
	s := Scanner{Timing: Timing{InitialRTT: 10 * time.Second, MinRTT: 10 * time.Second, MaxRTT: 10 * time.Second}}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	var got []Result
	_, err := s.Run(ctx, []Target{{Addr: n.Far}}, tcpPorts([]uint16{22, 30}), func(r Result) bool { got = append(got, r); return true })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to stop", d)
	}
	if len(got) != 1 || got[0].Port != 22 || got[0].State != Open {
		t.Errorf("found before the cancel: %+v, want 22 open", got)
	}
}
