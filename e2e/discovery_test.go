package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// netnsPair is two network namespaces joined by a veth pair, made by the
// test (names start with msg-) and deleted at its end.
type netnsPair struct {
	ip    string
	a, b  string // namespace names
	addrA string // the address in a
	addrB string
	devA  string // a's end of the veth pair
}

func newNetnsPair(t *testing.T) *netnsPair {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("discovery across network namespaces needs root, which CI has")
		}
		t.Skip("skipping: network namespaces need root")
	}
	ip := peer(t, "ip")
	id := os.Getpid() % 100000
	p := &netnsPair{ip: ip, a: fmt.Sprintf("msg-a%d", id), b: fmt.Sprintf("msg-b%d", id), addrA: "10.242.42.1", addrB: "10.242.42.2"}
	va, vb := fmt.Sprintf("msg-va%d", id), fmt.Sprintf("msg-vb%d", id)
	p.devA = va
	must := func(args ...string) {
		t.Helper()
		r := run(t, command{path: ip, args: args})
		if r.code != 0 {
			t.Fatalf("ip %s: %s", strings.Join(args, " "), r.stderr)
		}
	}
	// Left over from a killed run: remove first.
	run(t, command{path: ip, args: []string{"netns", "del", p.a}})
	run(t, command{path: ip, args: []string{"netns", "del", p.b}})
	must("netns", "add", p.a)
	t.Cleanup(func() { exec.Command(ip, "netns", "del", p.a).Run() })
	must("netns", "add", p.b)
	t.Cleanup(func() { exec.Command(ip, "netns", "del", p.b).Run() })
	must("link", "add", va, "type", "veth", "peer", "name", vb)
	must("link", "set", va, "netns", p.a)
	must("link", "set", vb, "netns", p.b)
	must("-n", p.a, "addr", "add", p.addrA+"/24", "dev", va)
	must("-n", p.b, "addr", "add", p.addrB+"/24", "dev", vb)
	for _, ns := range []string{p.a, p.b} {
		must("-n", ns, "link", "set", "lo", "up")
	}
	must("-n", p.a, "link", "set", va, "up")
	must("-n", p.b, "link", "set", vb, "up")
	return p
}

// in returns c run inside namespace ns.
func (p *netnsPair) in(ns string, c command) command {
	c.args = append([]string{"netns", "exec", ns, c.path}, c.args...)
	c.path = p.ip
	return c
}

// serve starts netkit serve on every interface of namespace ns.
func (p *netnsPair) serve(t *testing.T, ns, keyFile string) *server {
	t.Helper()
	return p.serveOn(t, ns, "0.0.0.0", keyFile)
}

// serveOn starts netkit serve on address host of namespace ns.
func (p *netnsPair) serveOn(t *testing.T, ns, host, keyFile string) *server {
	t.Helper()
	c := p.in(ns, netkitCmd(t, "serve", "--host", host, "--random-ports", "--only", "web,msg", "--key-file", keyFile, "--data", t.TempDir()))
	proc := start(t, c)
	s := &server{proc: proc, addrs: map[string]string{}}
	want := []string{"web/http", "msg/udp"}
	_, err := proc.stdout.wait(proc.exited, startTimeout, func(line string) bool {
		s.parseTableLine(line)
		return !slices.ContainsFunc(want, func(k string) bool { return !s.has(k) })
	})
	if err != nil {
		t.Fatalf("%s: %v\n%s", c, err, proc.stderr)
	}
	return s
}

type discovered struct {
	Name, Addr, Verification string
	MsgAddr                  string  `json:"msg_addr"`
	ElapsedMS                float64 `json:"elapsed_ms"`
}

// TestDiscovery: servers found across two network namespaces joined by a
// veth pair, within a second; a record whose HMAC does not match is shown
// but never chosen; python-zeroconf finds netkit, and netkit finds what
// python-zeroconf advertises.
func TestDiscovery(t *testing.T) {
	p := newNetnsPair(t)
	keyFile, key := msgKey(t)
	otherFile, _ := msgKey(t)
	srv := p.serve(t, p.a, keyFile)
	_, webPort, _ := strings.Cut(srv.addr(t, "web/http"), "]:")

	t.Run("found within a second", func(t *testing.T) {
		r := run(t, p.in(p.b, netkitCmd(t, "discover", "--first", "--json", "--timeout", "1s", "--key-file", keyFile)))
		r.wantCode(t, 0)
		var d discovered
		if err := json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &d); err != nil {
			t.Fatalf("discover printed %q", r.stdout)
		}
		if d.Addr != p.addrA+":"+webPort || d.Verification != "verified" || !strings.HasPrefix(d.MsgAddr, p.addrA+":") {
			t.Errorf("discovered %+v, want %s:%s verified", d, p.addrA, webPort)
		}
		t.Logf("found in %.1f ms", d.ElapsedMS)
		for _, via := range []string{"http", "udp", "ws"} {
			r := run(t, p.in(p.b, netkitCmd(t, "msg", "--discover", "--via", via, "--key-file", keyFile, "ping")))
			r.wantCode(t, 0)
			if r.stdout != "pong\n" {
				t.Errorf("msg --discover --via %s: %q", via, r.stdout)
			}
		}
	})

	t.Run("bad HMAC not chosen", func(t *testing.T) {
		// A server under another key: its record does not verify with ours.
		p.serve(t, p.a, otherFile)
		r := run(t, p.in(p.b, netkitCmd(t, "discover", "--timeout", "1500ms", "--key-file", keyFile)))
		r.wantCode(t, 0)
		if !strings.Contains(r.stdout, "\tverified") || !strings.Contains(r.stdout, "\tunverified") {
			t.Errorf("discover lists %q, want one verified and one unverified", r.stdout)
		}
		// --discover takes the verified one, without asking.
		r = run(t, p.in(p.b, netkitCmd(t, "msg", "--discover", "--key-file", keyFile, "ping")))
		r.wantCode(t, 0)
		// With the other key alone, ours is the unverified one: a client
		// holding a third key chooses none and says so.
		thirdFile, _ := msgKey(t)
		r = run(t, p.in(p.b, netkitCmd(t, "msg", "--discover", "--key-file", thirdFile, "ping")))
		r.wantCode(t, 1)
		if !strings.Contains(r.stderr, "not chosen") || !strings.Contains(r.stderr, "unverified") {
			t.Errorf("third key: %q", r.stderr)
		}
	})

	t.Run("several verified", func(t *testing.T) {
		// A second server under our key: --discover cannot ask which
		// without a terminal, and lists both.
		twin := p.serve(t, p.a, keyFile)
		_, twinPort, _ := strings.Cut(twin.addr(t, "web/http"), "]:")
		r := run(t, p.in(p.b, netkitCmd(t, "msg", "--discover", "--key-file", keyFile, "ping")))
		r.wantCode(t, 1)
		if !strings.Contains(r.stderr, "2 servers answered") || !strings.Contains(r.stderr, p.addrA+":"+webPort) || !strings.Contains(r.stderr, p.addrA+":"+twinPort) {
			t.Errorf("two verified servers, stdin not a terminal: %q", r.stderr)
		}
		// On a terminal it asks which, and talks to the one picked.
		c := p.in(p.b, netkitCmd(t, "msg", "--discover", "--key-file", keyFile, "--json", "handshake"))
		pane := newTmuxPane(t, c.path+" "+strings.Join(c.args, " ")+"; echo EXIT=$?; sleep 600", c.env)
		screen := pane.waitFor("the question", func(s string) bool { return strings.Contains(s, "which one?") })
		line := ""
		for l := range strings.SplitSeq(screen, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "2) ") {
				line = l
			}
		}
		pane.run("send-keys", "-t", "t", "2", "Enter")
		screen = pane.waitFor("the answer", func(s string) bool { return strings.Contains(s, "EXIT=") })
		screen = strings.ReplaceAll(screen, "\n", "") // the pane wraps the JSON line
		_, picked, _ := strings.Cut(line, p.addrA+":")
		picked, _, _ = strings.Cut(picked, " ")
		if !strings.Contains(screen, "EXIT=0") || !strings.Contains(screen, `"reply_to"`) || picked == "" || !strings.Contains(screen, `"web":`+picked) {
			t.Errorf("picking 2) (port %q) on a terminal:\n%s", picked, screen)
		}
		twin.stop()
	})

	t.Run("any client", func(t *testing.T) {
		// A server with no message key advertises unsigned records: a
		// client without a key takes it. The one under our key (srv) does
		// not run echo, so it is not a candidate for echo at all.
		c := p.in(p.a, netkitCmd(t, "serve", "--host", "0.0.0.0", "--random-ports", "--only", "web,echo,hello,time,udp", "--data", t.TempDir()))
		c.env = append(c.env, "NETKIT_KEY=")
		plain := start(t, c)
		plain.stdout.wait(plain.exited, startTimeout, func(l string) bool { return strings.HasPrefix(l, "hello ") })
		client := func(args ...string) command {
			c := p.in(p.b, netkitCmd(t, args...))
			c.env = append(c.env, "NETKIT_KEY=")
			return c
		}
		ec := client("echo", "--discover", "-q")
		ec.stdin = "across the veth\n"
		r := run(t, ec)
		r.wantCode(t, 0)
		if r.stdout != "across the veth\n" {
			t.Errorf("echo --discover: %q", r.stdout)
		}
		ec = client("echo", "--discover", "--udp")
		ec.stdin = "one datagram\n"
		r = run(t, ec)
		r.wantCode(t, 0)
		if !strings.Contains(r.stdout, "one datagram") {
			t.Errorf("echo --discover --udp: %q", r.stdout)
		}
		r = run(t, client("hello", "--discover", "Time"))
		r.wantCode(t, 0)
		if strings.TrimSpace(r.stdout) == "" {
			t.Errorf("hello --discover Time printed nothing")
		}
		// netkit time finds the port of the protocol it asks for.
		for _, proto := range []string{"line", "sntp", "daytime"} {
			r = run(t, client("time", "--discover", "--proto", proto, "--json"))
			r.wantCode(t, 0)
			var res struct{ Proto, Server string }
			if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.Proto != proto || !strings.HasPrefix(res.Server, p.addrA+":") {
				t.Errorf("time --discover --proto %s: %q (%v)", proto, r.stdout, err)
			}
		}
		r = run(t, client("udp", "send", "--discover", "--text", "found you", "--json"))
		r.wantCode(t, 0)
		if !strings.Contains(r.stdout, p.addrA+":") {
			t.Errorf("udp send --discover: %q", r.stdout)
		}
		// An address and --discover: a usage error.
		r = run(t, client("echo", p.addrA+":7", "--discover"))
		r.wantCode(t, 2)
		// With our key, the unsigned server is not chosen and the one
		// holding the key runs no echo.
		kc := p.in(p.b, netkitCmd(t, "echo", "--discover", "-q"))
		kc.env = append(kc.env, "NETKIT_KEY="+key)
		kc.stdin = "x\n"
		r = run(t, kc)
		r.wantCode(t, 1)
		if !strings.Contains(r.stderr, "not chosen") || !strings.Contains(r.stderr, "unsigned") {
			t.Errorf("echo --discover with a key, no echo server holding it: %q", r.stderr)
		}
		plain.stop()
	})

	t.Run("python-zeroconf finds netkit", func(t *testing.T) {
		py := debianPython(t, "zeroconf")
		script, _ := filepath.Abs(filepath.Join("testdata", "zc_browse.py"))
		r := run(t, p.in(p.b, command{path: py, args: []string{script, "10"}}))
		r.wantCode(t, 0)
		var got struct {
			Name       string
			Addresses  []string
			Port       int
			Properties map[string]string
		}
		if err := json.Unmarshal([]byte(strings.Split(r.stdout, "\n")[0]), &got); err != nil {
			t.Fatalf("zeroconf printed %q", r.stdout)
		}
		if !slices.Contains(got.Addresses, p.addrA) || got.Properties["hmac"] == "" || got.Properties["services"] != "msg,web" {
			t.Errorf("zeroconf found %+v", got)
		}
	})

	t.Run("netkit finds python-zeroconf", func(t *testing.T) {
		py := debianPython(t, "zeroconf")
		script, _ := filepath.Abs(filepath.Join("testdata", "zc_advertise.py"))
		c := p.in(p.a, command{path: py, args: []string{script, "pyzc", p.addrA, "7799"}, pipeStdin: true})
		adv := start(t, c)
		adv.waitLine(t, "zeroconf registered", func(l string) bool { return l == "registered" })
		deadline := time.Now().Add(10 * time.Second)
		var out string
		for time.Now().Before(deadline) {
			r := run(t, p.in(p.b, netkitCmd(t, "discover", "--timeout", "1s", "--json")))
			out = r.stdout
			if strings.Contains(out, `"name":"pyzc"`) {
				break
			}
		}
		if !strings.Contains(out, `"name":"pyzc"`) || !strings.Contains(out, p.addrA+":7799") || !strings.Contains(out, `"verification":"unsigned"`) {
			t.Errorf("netkit discover: %q", out)
		}
		adv.stdin.Close()
	})
	srv.checkRace()
}
