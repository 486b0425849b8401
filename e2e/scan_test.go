package e2e

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/netns"
)

// scanTimeout bounds one scan by netkit or nmap in these tests: a few
// thousand ports of a host a veth away, some of them dropped.
const scanTimeout = 3 * time.Minute

// scanFiles runs a scan by netkit or nmap whose grepable and XML outputs
// go to dir/NAME.gnmap and dir/NAME.xml.
type scanFiles struct{ grep, xml string }

func outputs(dir, name string) scanFiles {
	return scanFiles{filepath.Join(dir, name+".gnmap"), filepath.Join(dir, name+".xml")}
}

// nmapScan runs nmap's connect scan with args. -d makes it list every
// port, whatever its state, in both formats, so that the two scans can be
// compared port for port.
func nmapScan(t *testing.T, out scanFiles, args ...string) result {
	t.Helper()
	path := peer(t, "nmap")
	r := run(t, command{path: path, timeout: scanTimeout,
		args: append([]string{"-sT", "-n", "--reason", "-d", "-oG", out.grep, "-oX", out.xml}, args...)})
	r.wantCode(t, 0)
	return r
}

func netkitScan(t *testing.T, out scanFiles, args ...string) result {
	t.Helper()
	c := netkitCmd(t, append([]string{"scan", "--no-progress", "-oG", out.grep, "-oX", out.xml}, args...)...)
	c.timeout = scanTimeout
	r := run(t, c)
	r.wantCode(t, 0)
	return r
}

func readGrepable(t *testing.T, path string) *grepScan {
	t.Helper()
	g, err := parseGrepable(readFile(t, path))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return g
}

func tcpRange(lo, hi int) []string {
	var out []string
	for p := lo; p <= hi; p++ {
		out = append(out, strconv.Itoa(p)+"/tcp")
	}
	return out
}

// diffStates lists the ports where two scans disagree, at most a few.
func diffStates(scanned []string, a, b portStates) []string {
	var out []string
	for _, p := range scanned {
		if a[p] != b[p] {
			out = append(out, fmt.Sprintf("%s: %q vs %q", p, a[p], b[p]))
		}
	}
	return out
}

// TestScanAgreesWithNmap scans a host in a namespace whose ports are
// open, closed, dropped and rejected in each way iptables can, with
// netkit and with nmap -sT, and wants the same state for every port, the
// state each port really is in, and nmap's own ndiff to find no
// difference between the two XML files.
func TestScanAgreesWithNmap(t *testing.T) {
	n := netns.New(t, "e2escan")
	// The far kernel sends an ICMP error per refused port, not one a
	// second: rate-limited, a refusal turns into silence, and which
	// ports fall silent differs from one scan to the next.
	n.In("sysctl", "-q", "-w", "net.ipv4.icmp_ratelimit=0")
	const top = 4000
	want := portStates{}
	for _, p := range tcpRange(1, top) {
		want[p] = "closed"
	}
	set := func(lo, hi int, state string) {
		for p := lo; p <= hi; p++ {
			want[strconv.Itoa(p)+"/tcp"] = state
		}
	}
	rules := []struct {
		lo, hi int
		state  string
		rule   []string
	}{
		{3000, 3299, "filtered", []string{"-j", "DROP"}},
		{3300, 3309, "closed", []string{"-j", "REJECT", "--reject-with", "icmp-port-unreachable"}},
		{3310, 3314, "filtered", []string{"-j", "REJECT", "--reject-with", "icmp-host-unreachable"}},
		{3315, 3319, "filtered", []string{"-j", "REJECT", "--reject-with", "icmp-admin-prohibited"}},
		{3320, 3329, "closed", []string{"-j", "REJECT", "--reject-with", "tcp-reset"}},
	}
	for _, r := range rules {
		n.In(append([]string{"iptables", "-A", "INPUT", "-p", "tcp", "--dport", fmt.Sprintf("%d:%d", r.lo, r.hi)}, r.rule...)...)
		set(r.lo, r.hi, r.state)
	}
	// 30 listeners at random ports outside the firewalled ones.
	for opened := 0; opened < 30; {
		p := 1 + rand.IntN(2999)
		if want[strconv.Itoa(p)+"/tcp"] == "open" {
			continue
		}
		n.Listen(netip.AddrPortFrom(n.Far, uint16(p)).String())
		set(p, p, "open")
		opened++
	}

	dir := t.TempDir()
	far := n.Far.String()
	nk, nm := outputs(dir, "netkit"), outputs(dir, "nmap")
	r := netkitScan(t, nk, "-p", fmt.Sprintf("1-%d", top), "-T4", far)
	t.Logf("netkit: %s", lastLine(r.stdout))
	nmapScan(t, nm, "-Pn", "-p", fmt.Sprintf("1-%d", top), "-T4", far)

	scanned := tcpRange(1, top)
	gk, gn := readGrepable(t, nk.grep), readGrepable(t, nm.grep)
	if !gk.up[far] || !gn.up[far] {
		t.Fatalf("host %s up: netkit %v, nmap %v", far, gk.up[far], gn.up[far])
	}
	kAll, nAll := gk.all(t, far, scanned), gn.all(t, far, scanned)
	if d := diffStates(scanned, nAll, want); len(d) > 0 {
		t.Errorf("nmap is wrong about %d ports (port: nmap vs truth), e.g. %v", len(d), d[:min(len(d), 10)])
	}
	if d := diffStates(scanned, kAll, nAll); len(d) > 0 {
		t.Errorf("netkit and nmap disagree on %d ports (port: netkit vs nmap), e.g. %v", len(d), d[:min(len(d), 10)])
	}
	if d := diffStates(scanned, kAll, want); len(d) > 0 {
		t.Errorf("netkit is wrong about %d ports (port: netkit vs truth), e.g. %v", len(d), d[:min(len(d), 10)])
	}

	// The XML files: the same hosts, states and counts, and reasons that
	// say the same thing (netkit tells an ICMP refusal apart where a
	// connect scan's errno cannot).
	xk, xn := readXML(t, nk.xml).summary(t), readXML(t, nm.xml).summary(t)
	if !slices.Equal(sortedKeys(xk.up), sortedKeys(xn.up)) || !xk.up[far] {
		t.Errorf("XML hosts: netkit %v, nmap %v", xk.up, xn.up)
	}
	for _, st := range []string{"open", "closed", "filtered"} {
		if xk.counts[far][st] != xn.counts[far][st] {
			t.Errorf("XML: %s ports: netkit %d, nmap %d", st, xk.counts[far][st], xn.counts[far][st])
		}
	}
	same := map[string][]string{
		"syn-ack": {"syn-ack"}, "conn-refused": {"conn-refused", "port-unreach"},
		"no-response": {"no-response"}, "host-unreach": {"host-unreach", "admin-prohibited"},
	}
	for p, st := range xk.listed[far] {
		nst, ok := xn.listed[far][p]
		if !ok {
			continue // in nmap's extraports: the counts above cover it
		}
		if nst != st {
			t.Errorf("XML: port %s: netkit %s, nmap %s", p, st, nst)
			continue
		}
		if nr, kr := xn.reason[far][p], xk.reason[far][p]; !slices.Contains(same[nr], kr) {
			t.Errorf("XML: port %s %s: netkit's reason %s, nmap's %s", p, st, kr, nr)
		}
	}
	// ndiff compares service names too, which come from nmap's own
	// database (nmap-services): the copies it reads have none.
	nmx, nkx := withoutServices(t, nm.xml), withoutServices(t, nk.xml)
	ndiff := run(t, command{path: peer(t, "ndiff"), args: []string{nmx, nkx}})
	if ndiff.code != 0 {
		t.Errorf("ndiff %s %s: exit status %d, want 0 (no difference)\n%s%s", nmx, nkx, ndiff.code, clip(ndiff.stdout), ndiff.stderr)
	}
}

// TestScanSubnetAgreesWithNmap scans a /24 in a namespace where some
// addresses exist, some of them listening, with discovery and the top
// 100 ports: netkit and nmap must find the same hosts up and the same
// open ports, and netkit's outputs must hold one report per host.
func TestScanSubnetAgreesWithNmap(t *testing.T) {
	n := netns.New(t, "e2esub")
	var hosts []byte
	for o := byte(10); o < 40; o += 3 {
		hosts = append(hosts, o)
	}
	n.AddFar(hosts...)
	listening := map[string][]string{} // address -> open ports
	for i, o := range hosts {
		if i%2 == 1 {
			continue // up, everything closed
		}
		a := n.Addr(o)
		for _, p := range [][]uint16{{22}, {80, 443}, {8080}, {3389, 21}, {25}}[i/2%5] {
			n.Listen(netip.AddrPortFrom(a, p).String())
			listening[a.String()] = append(listening[a.String()], fmt.Sprintf("%d/tcp", p))
		}
	}
	dir := t.TempDir()
	block := n.Prefix.String()
	// The test's own end of the veth is on the block too: what this
	// machine listens on is no business of the test's.
	self := n.Near.String()
	nk, nm := outputs(dir, "netkit"), outputs(dir, "nmap")
	r := netkitScan(t, nk, "--top", "100", "-T4", "--exclude", self, block)
	nmapScan(t, nm, "--top-ports", "100", "-T4", "--exclude", self, block)

	gk, gn := readGrepable(t, nk.grep), readGrepable(t, nm.grep)
	upK, upN := upHosts(gk), upHosts(gn)
	wantUp := []string{n.Far.String()}
	for _, o := range hosts {
		wantUp = append(wantUp, n.Addr(o).String())
	}
	slices.Sort(wantUp)
	if !slices.Equal(upK, wantUp) {
		t.Errorf("netkit found up %v, want %v", upK, wantUp)
	}
	if !slices.Equal(upK, upN) {
		t.Errorf("hosts up: netkit %v, nmap %v", upK, upN)
	}
	for _, h := range wantUp {
		ok, on := openPorts(gk.ports[h]), openPorts(gn.ports[h])
		want := slices.Sorted(slices.Values(listening[h]))
		if !slices.Equal(ok, want) || !slices.Equal(ok, on) {
			t.Errorf("%s open: netkit %v, nmap %v, listening %v", h, ok, on, want)
		}
		if !strings.Contains(r.stdout, "netkit scan report for "+h+"\n") {
			t.Errorf("netkit's table has no report for %s", h)
		}
	}
	xk, xn := readXML(t, nk.xml), readXML(t, nm.xml)
	if xk.Stats.Hosts != xn.Stats.Hosts || xk.Stats.Hosts.Up != len(wantUp) {
		t.Errorf("XML runstats: netkit %+v, nmap %+v; want %d up", xk.Stats.Hosts, xn.Stats.Hosts, len(wantUp))
	}
	t.Logf("netkit: %s", lastLine(r.stdout))
}

// withoutServices writes a copy of the XML file path with its service
// elements taken out, and returns the copy's path.
func withoutServices(t *testing.T, path string) string {
	t.Helper()
	out := strings.TrimSuffix(path, ".xml") + "-noservice.xml"
	s := serviceElement.ReplaceAllString(readFile(t, path), "")
	if err := os.WriteFile(out, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

var serviceElement = regexp.MustCompile(`<service [^>]*?(/>|>\s*</service>)`)

func upHosts(g *grepScan) []string {
	var out []string
	for h, up := range g.up {
		if up {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return out
}

func openPorts(ps portStates) []string {
	var out []string
	for p, s := range ps {
		if s == "open" {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestScanFewDescriptors scans every port of a namespace's own loopback,
// where nothing else listens, with the open-file limit at 256 and with
// no lowered limit: the same 40 open ports, every other port closed, no
// error.
func TestScanFewDescriptors(t *testing.T) {
	prlimit := peer(t, "prlimit")
	n := netns.New(t, "e2efd")
	var want []string
	for range 40 {
		var l net.Listener
		if err := n.Inside(func() (err error) {
			l, err = net.Listen("tcp", "127.0.0.1:0")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		want = append(want, fmt.Sprintf("%d/tcp", l.Addr().(*net.TCPAddr).Port))
	}
	slices.Sort(want)
	dir := t.TempDir()
	for _, limit := range []string{"256", ""} {
		args := []string{"netns", "exec", n.Name}
		if limit != "" {
			args = append(args, prlimit, "--nofile="+limit+":"+limit)
		}
		out := outputs(dir, "limit"+limit)
		c := netkitCmd(t)
		c.path, c.timeout = "ip", scanTimeout
		c.args = append(args, netkitPath, "scan", "--no-progress", "-T5", "-p-", "-oG", out.grep, "127.0.0.1")
		r := run(t, c)
		r.wantCode(t, 0)
		if strings.Contains(r.stderr, "error") || strings.Contains(r.stdout, "error") {
			t.Errorf("limit %q: netkit said error:\n%s%s", limit, r.stdout, r.stderr)
		}
		g := readGrepable(t, out.grep)
		all := g.all(t, "127.0.0.1", tcpRange(1, 65535))
		if got := openPorts(all); !slices.Equal(got, want) {
			t.Errorf("limit %q: open %v, want %v", limit, got, want)
		}
		closed := 0
		for _, s := range all {
			if s == "closed" {
				closed++
			}
		}
		if closed != 65535-len(want) {
			t.Errorf("limit %q: %d ports closed, want %d", limit, closed, 65535-len(want))
		}
		t.Logf("limit %q: %s", limit, lastLine(r.stdout))
	}
}
