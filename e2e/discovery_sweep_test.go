package e2e

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestDiscoverySweep: where multicast is dropped, discover says so and
// points at --sweep; --sweep finds the netkit servers of a /28 by a TCP
// sweep of their web ports confirmed with a handshake, the one under our
// key verified and the one under another unverified, and reports none of
// the ports that accept TCP but are not netkit (an HTTP server, a port
// that accepts and says nothing, one that accepts and closes).
func TestDiscoverySweep(t *testing.T) {
	p := newNetnsPair(t)
	py := debianPython(t)
	iptables := peer(t, "iptables")
	keyFile, _ := msgKey(t)
	otherFile, _ := msgKey(t)
	const (
		other  = "10.242.42.4"
		http   = "10.242.42.3"
		silent = "10.242.42.5"
		closes = "10.242.42.6"
	)
	for _, a := range []string{http, other, silent, closes} {
		r := run(t, command{path: p.ip, args: []string{"-n", p.a, "addr", "add", a + "/24", "dev", p.devA}})
		r.wantCode(t, 0)
	}
	srv := p.serveOn(t, p.a, p.addrA, keyFile)
	srv2 := p.serveOn(t, p.a, other, otherFile)
	_, port := srv.hostPort(t, "web/http")
	_, port2 := srv2.hostPort(t, "web/http")
	script, _ := filepath.Abs(filepath.Join("testdata", "decoy.py"))
	decoy := start(t, p.in(p.a, command{path: py, pipeStdin: true, args: []string{script,
		"http", http, port, "http", http, port2,
		"silent", silent, port, "silent", silent, port2,
		"close", closes, port}}))
	decoy.waitLine(t, "decoys ready", func(l string) bool { return l == "ready" })
	defer decoy.stdin.Close()

	// While multicast passes, mDNS gives each server the address it is
	// bound to, not the interface's first one.
	r := run(t, p.in(p.b, netkitCmd(t, "discover", "--timeout", "1500ms", "--json", "--key-file", keyFile)))
	r.wantCode(t, 0)
	for _, want := range []string{`"addr":"` + p.addrA + ":" + port + `"`, `"addr":"` + other + ":" + port2 + `"`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("discover: %q, want %s", r.stdout, want)
		}
	}

	// Multicast dropped on the client's side, both ways: mDNS hears
	// nothing.
	ip6tables := peer(t, "ip6tables")
	for _, rule := range []struct{ tool, chain, dst string }{
		{iptables, "OUTPUT", "224.0.0.0/4"}, {iptables, "INPUT", "224.0.0.0/4"},
		{ip6tables, "OUTPUT", "ff00::/8"}, {ip6tables, "INPUT", "ff00::/8"},
	} {
		r := run(t, p.in(p.b, command{path: rule.tool, args: []string{"-A", rule.chain, "-d", rule.dst, "-j", "DROP"}}))
		r.wantCode(t, 0)
	}
	r = run(t, p.in(p.b, netkitCmd(t, "discover", "--timeout", "700ms", "--key-file", keyFile)))
	r.wantCode(t, 1)
	if !strings.Contains(r.stderr, "--sweep 10.242.42.0/24") {
		t.Errorf("discover with multicast dropped: %q, want a hint to sweep 10.242.42.0/24", r.stderr)
	}

	ports := port + "," + port2
	t.Run("finds netkit and only netkit", func(t *testing.T) {
		r := run(t, p.in(p.b, netkitCmd(t, "discover", "--sweep", "10.242.42.0/28", "--port", ports, "--key-file", keyFile, "--json")))
		r.wantCode(t, 0)
		var got []discovered
		for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			var d discovered
			if err := json.Unmarshal([]byte(line), &d); err != nil {
				t.Fatalf("sweep printed %q", r.stdout)
			}
			got = append(got, d)
		}
		slices.SortFunc(got, func(a, b discovered) int { return strings.Compare(a.Addr, b.Addr) })
		if len(got) != 2 {
			t.Fatalf("sweep found %+v, want %s:%s and %s:%s alone", got, p.addrA, port, other, port2)
		}
		if d := got[0]; d.Addr != p.addrA+":"+port || d.Verification != "verified" || !strings.HasPrefix(d.MsgAddr, p.addrA+":") {
			t.Errorf("got %+v, want %s:%s verified with its msg port", d, p.addrA, port)
		}
		if d := got[1]; d.Addr != other+":"+port2 || d.Verification != "unverified" {
			t.Errorf("got %+v, want %s:%s unverified", d, other, port2)
		}
		// The address found works: a message over UDP to the msg port
		// the handshake named.
		r = run(t, p.in(p.b, netkitCmd(t, "msg", "--via", "udp", "--to", got[0].MsgAddr, "--key-file", keyFile, "ping")))
		r.wantCode(t, 0)
		if r.stdout != "pong\n" {
			t.Errorf("ping %s: %q", got[0].MsgAddr, r.stdout)
		}
	})

	t.Run("first and text", func(t *testing.T) {
		r := run(t, p.in(p.b, netkitCmd(t, "discover", "--sweep", "10.242.42.0/28", "--port", ports, "--key-file", keyFile, "--first")))
		r.wantCode(t, 0)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		last := lines[len(lines)-1]
		if !strings.Contains(last, p.addrA+":"+port) || !strings.HasSuffix(last, "\tverified") {
			t.Errorf("--first printed %q, want %s:%s verified last", r.stdout, p.addrA, port)
		}
	})

	t.Run("nothing but decoys", func(t *testing.T) {
		r := run(t, p.in(p.b, netkitCmd(t, "discover", "--sweep", http+","+silent+","+closes, "--port", port, "--key-file", keyFile)))
		r.wantCode(t, 1)
		if r.stdout != "" || !strings.Contains(r.stderr, "no netkit server answered a handshake") {
			t.Errorf("decoys only: stdout %q, stderr %q", r.stdout, r.stderr)
		}
	})

	t.Run("usage", func(t *testing.T) {
		for _, args := range [][]string{
			{"--sweep", "10.242.42.0/33"},
			{"--sweep", "10.242.0.0/16"},
			{"--sweep", "10.242.42.0/24", "--max-hosts", "16"},
			{"--sweep", "10.242.42.0/28", "--port", "nope"},
		} {
			r := run(t, p.in(p.b, netkitCmd(t, append([]string{"discover", "--key-file", keyFile}, args...)...)))
			r.wantCode(t, 2)
		}
	})
	srv.checkRace()
	srv2.checkRace()
}
