package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// debianPython is Debian's /usr/bin/python3 with the modules named (the
// apt packages .ci/run installs); pyenv's python3 lacks websockets and
// zeroconf. Without it the test skips, or fails under CI.
func debianPython(t *testing.T, modules ...string) string {
	t.Helper()
	const py = "/usr/bin/python3"
	for _, m := range modules {
		if err := exec.Command(py, "-c", "import "+m).Run(); err != nil {
			peerMissing(t, fmt.Sprintf("%s cannot import %s (%v); .ci/run installs python3-%s", py, m, err, m))
		}
	}
	return py
}

// msgKey makes a key with netkit keygen and returns the file and the key.
func msgKey(t *testing.T) (file, key string) {
	t.Helper()
	file = filepath.Join(t.TempDir(), "msg.key")
	netkit(t, "", "keygen", file).wantCode(t, 0)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return file, strings.TrimSpace(string(b))
}

// msgServer starts netkit serve with a message key.
func msgServer(t *testing.T, extra ...string) (srv *server, keyFile, key string) {
	t.Helper()
	keyFile, key = msgKey(t)
	want := []string{"web/http", "msg/udp"}
	if len(extra) > 0 && extra[0] == "--tls" {
		want = []string{"web/https", "msg/udp"}
	}
	args := append([]string{"serve", "--random-ports", "--only", "web,msg", "--key-file", keyFile}, extra...)
	return startServer(t, "", want, args...), keyFile, key
}

// tokenSpec is a token for pyTokens to make: plain under key, made age
// seconds ago.
type tokenSpec struct {
	Key   string `json:"key"`
	Plain string `json:"plain"`
	Age   int    `json:"age"`
}

// pyTokens makes Fernet tokens with Python's cryptography, in one run.
func pyTokens(t *testing.T, py string, specs ...tokenSpec) []string {
	t.Helper()
	in, _ := json.Marshal(specs)
	r := run(t, command{path: py, stdin: string(in), args: []string{"-c", `
import json, sys, time
from cryptography.fernet import Fernet
for s in json.load(sys.stdin):
    print(Fernet(s["key"]).encrypt_at_time(s["plain"].encode(), int(time.time()) - s["age"]).decode())
`}})
	r.wantCode(t, 0)
	toks := strings.Fields(r.stdout)
	if len(toks) != len(specs) {
		t.Fatalf("python made %d tokens, want %d: %q", len(toks), len(specs), r.stderr)
	}
	return toks
}

func pyToken(t *testing.T, py, key, plain string, age int) string {
	t.Helper()
	return pyTokens(t, py, tokenSpec{key, plain, age})[0]
}

func envelopeJSON(typ string) string {
	id := make([]byte, 16)
	rand.Read(id)
	return fmt.Sprintf(`{"id":"%x","type":"%s","sender":"e2e","time":"%s"}`, id, typ, time.Now().UTC().Format(time.RFC3339))
}

// TestMsgPythonClient: a client written from docs/messages.md alone
// (testdata/msg_client.py: urllib, socket, websockets) exchanges every
// message type over all three transports and gets broadcasts pushed.
func TestMsgPythonClient(t *testing.T) {
	py := debianPython(t, "cryptography", "websockets")
	srv, _, key := msgServer(t)
	script, _ := filepath.Abs(filepath.Join("testdata", "msg_client.py"))
	r := run(t, command{path: py, args: []string{script, srv.addr(t, "web/http"), srv.addr(t, "msg/udp")}, env: []string{"NETKIT_KEY=" + key}})
	r.wantCode(t, 0)
	seen := map[string]bool{}
	for line := range strings.SplitSeq(strings.TrimSpace(r.stdout), "\n") {
		var ex struct{ Via, Type string }
		if err := json.Unmarshal([]byte(line), &ex); err != nil {
			t.Fatalf("python printed %q", line)
		}
		seen[ex.Via+"/"+ex.Type] = true
	}
	for _, via := range []string{"http", "udp", "ws"} {
		for _, typ := range []string{"handshake", "ping", "time", "echo", "broadcast"} {
			if !seen[via+"/"+typ] {
				t.Errorf("no %s over %s; python printed:\n%s", typ, via, r.stdout)
			}
		}
	}
	if !seen["push-ws/"] || !seen["push-udp/"] {
		t.Errorf("broadcast pushes missing:\n%s", r.stdout)
	}
	srv.checkRace()
}

// TestMsgCommands: netkit msg, every type over every transport.
func TestMsgCommands(t *testing.T) {
	srv, keyFile, _ := msgServer(t)
	web, udp := srv.addr(t, "web/http"), srv.addr(t, "msg/udp")
	for _, via := range []string{"http", "udp", "ws"} {
		to := web
		if via == "udp" {
			to = udp
		}
		base := []string{"msg", "--via", via, "--to", to, "--key-file", keyFile}
		r := netkit(t, "", append(base, "ping")...)
		r.wantCode(t, 0)
		if r.stdout != "pong\n" {
			t.Errorf("%s ping: %q", via, r.stdout)
		}
		r = netkit(t, "", append(base, "echo", `{"a": [1, "b"]}`)...)
		r.wantCode(t, 0)
		if strings.TrimSpace(r.stdout) != `{"a":[1,"b"]}` {
			t.Errorf("%s echo: %q", via, r.stdout)
		}
		r = netkit(t, "", append(base, "echo", "plain words")...)
		if r.stdout != "plain words\n" {
			t.Errorf("%s echo string: %q", via, r.stdout)
		}
		r = netkit(t, "", append(base, "time")...)
		r.wantCode(t, 0)
		if tm, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(r.stdout)); err != nil || time.Since(tm).Abs() > clockTolerance {
			t.Errorf("%s time: %q", via, r.stdout)
		}
		r = netkit(t, "", append(base, "handshake", "--json", "--name", "carol")...)
		r.wantCode(t, 0)
		var env struct {
			Type, Sender string
			ReplyTo      string `json:"reply_to"`
			Body         struct {
				Transports []string
				Ports      map[string]int
			}
		}
		if err := json.Unmarshal([]byte(r.stdout), &env); err != nil || len(env.Body.Transports) != 3 || env.Body.Ports["msg"] == 0 {
			t.Errorf("%s handshake --json: %q %v", via, r.stdout, err)
		}
		r = netkit(t, "", append(base, "broadcast", "hi")...)
		r.wantCode(t, 0)
		if !strings.Contains(r.stdout, "delivered") {
			t.Errorf("%s broadcast: %q", via, r.stdout)
		}
	}
	// Usage errors: one line, exit 2.
	for _, args := range [][]string{{"msg"}, {"msg", "dance"}, {"msg", "--via", "smoke", "ping"}, {"msg", "--via", "udp", "-v", "ping"}} {
		r := netkit(t, "", append(args, "--key-file", keyFile)...)
		r.wantCode(t, 2)
		if strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, "--help") {
			t.Errorf("%q: stderr %q", args, r.stderr)
		}
	}
	srv.checkRace()
}

// TestMsgListen: netkit msg listen prints broadcasts over WebSocket and
// UDP as they come.
func TestMsgListen(t *testing.T) {
	srv, keyFile, _ := msgServer(t)
	web, udp := srv.addr(t, "web/http"), srv.addr(t, "msg/udp")
	ws := start(t, netkitCmd(t, "msg", "listen", "--to", web, "--key-file", keyFile))
	u := start(t, netkitCmd(t, "msg", "listen", "--via", "udp", "--to", udp, "--key-file", keyFile, "--json"))
	for _, p := range []*proc{ws, u} {
		if _, err := p.stderr.wait(p.exited, lineTimeout, func(l string) bool { return strings.Contains(l, "listening") }); err != nil && p == ws {
			t.Fatalf("listen did not start: %v %q", err, p.stderr)
		}
	}
	// The UDP listener prints nothing before its first broadcast with
	// --json: wait until the server counts both subscribers.
	deadline := time.Now().Add(lineTimeout)
	for time.Now().Before(deadline) {
		r := netkit(t, "", "msg", "--to", web, "--key-file", keyFile, "--name", "bob", "broadcast", "lunch is ready")
		if strings.Contains(r.stdout, `"delivered":2`) || strings.Contains(r.stdout, `"delivered": 2`) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	ws.waitLine(t, "the broadcast over ws", func(l string) bool { return l == "bob: lunch is ready" })
	u.waitLine(t, "the broadcast over udp", func(l string) bool {
		return strings.Contains(l, `"type":"broadcast"`) && strings.Contains(l, `"sender":"bob"`) && strings.Contains(l, "lunch is ready")
	})
	srv.checkRace()
}

// TestMsgRefusals: a wrong key, an expired token, a replay, truncated,
// empty and oversized datagrams, invalid JSON in a valid token: each
// refused with its clear error, over each transport, while the server
// goes on serving.
func TestMsgRefusals(t *testing.T) {
	py := debianPython(t, "cryptography")
	curl := peer(t, "curl")
	srv, keyFile, key := msgServer(t)
	web, udpAddr := srv.addr(t, "web/http"), srv.addr(t, "msg/udp")
	_, otherKey := msgKey(t)

	toks := pyTokens(t, py,
		tokenSpec{key, envelopeJSON("ping"), 0},
		tokenSpec{otherKey, envelopeJSON("ping"), 0},
		tokenSpec{key, envelopeJSON("ping"), 400},
		tokenSpec{key, `{"id": oops`, 0},
		tokenSpec{key, envelopeJSON("dance"), 0},
		tokenSpec{key, envelopeJSON("ping"), 0},
	)
	good, fresh := toks[0], toks[5]
	cases := []struct {
		name, token string
		status      int
		reason      string
	}{
		{"wrong key", toks[1], 401, "does not verify"},
		{"expired", toks[2], 401, "expired"},
		{"invalid JSON", toks[3], 400, ""},
		{"unknown type", toks[4], 400, ""},
		{"truncated", good[:len(good)/2], 401, "does not verify"},
	}
	post := func(tok string) (int, string) {
		r := run(t, command{path: curl, args: []string{"-sS", "--max-time", "20", "-o", "-", "-w", "\n%{http_code}", "-X", "POST", "-H", "Content-Type: text/plain", "--data-binary", tok, "http://" + web + "/api/v1/messages"}})
		r.wantCode(t, 0)
		body, code, _ := strings.Cut(strings.TrimSpace(r.stdout), "\n")
		if i := strings.LastIndex(r.stdout, "\n"); i >= 0 {
			body, code = strings.TrimSpace(r.stdout[:i]), r.stdout[i+1:]
		}
		var n int
		fmt.Sscan(code, &n)
		return n, body
	}
	// HTTP, with curl.
	if code, body := post(good); code != 200 || !strings.HasPrefix(body, "gAAAAA") {
		t.Fatalf("good token: %d %q", code, body)
	}
	if code, body := post(good); code != 409 || body != "error: replay: message id already seen within the TTL" {
		t.Errorf("replay: %d %q", code, body)
	}
	for _, c := range cases {
		code, body := post(c.token)
		if code != c.status {
			t.Errorf("http %s: %d %q, want %d", c.name, code, body, c.status)
		}
		if c.reason != "" && (!strings.HasPrefix(body, "error: ") || !strings.Contains(body, c.reason) || strings.Contains(body, "\n")) {
			t.Errorf("http %s: body %q, want one line with %q", c.name, body, c.reason)
		}
		if c.reason == "" && !strings.HasPrefix(body, "gAAAAA") {
			t.Errorf("http %s: want an error envelope's token, got %q", c.name, body)
		}
	}
	if code, body := post(strings.Repeat("A", 70000)); code != 413 || !strings.Contains(body, "too large") {
		t.Errorf("oversized: %d %q", code, body)
	}

	// UDP: silence for everything that does not verify; an error
	// envelope for what verifies but is wrong inside.
	conn, err := net.Dial("udp", udpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exchange := func(b []byte, wait time.Duration) []byte {
		conn.Write(b)
		conn.SetReadDeadline(time.Now().Add(wait))
		buf := make([]byte, 65536)
		n, err := conn.Read(buf)
		if err != nil {
			return nil
		}
		return buf[:n]
	}
	if exchange([]byte(fresh), 5*time.Second) == nil {
		t.Fatal("udp: no answer to a good token")
	}
	silent := map[string][]byte{
		"replay":    []byte(fresh),
		"wrong key": []byte(cases[0].token),
		"expired":   []byte(cases[1].token),
		"truncated": []byte(fresh[:len(fresh)-10]),
		"empty":     {},
		"oversized": bytes.Repeat([]byte("g"), 9000),
	}
	for name, b := range silent {
		if got := exchange(b, 300*time.Millisecond); got != nil {
			t.Errorf("udp %s: answered %q", name, got)
		}
	}
	if got := exchange([]byte(cases[2].token), 5*time.Second); got == nil || !bytes.HasPrefix(got, []byte("gAAAAA")) {
		t.Errorf("udp invalid JSON: %q, want an error envelope", got)
	}
	// The ws and cli sides: a wrong key said clearly.
	r := netkit(t, "", "msg", "--via", "ws", "--to", web, "ping", "--key-file", writeKey(t, otherKey))
	r.wantCode(t, 1)
	if !strings.Contains(r.stderr, "does not verify") {
		t.Errorf("ws wrong key: %q", r.stderr)
	}
	r = netkit(t, "", "msg", "--via", "udp", "--to", udpAddr, "--timeout", "1s", "ping", "--key-file", writeKey(t, otherKey))
	r.wantCode(t, 1)
	if !strings.Contains(r.stderr, "no answer") || !strings.Contains(r.stderr, "key") {
		t.Errorf("udp wrong key: %q", r.stderr)
	}
	// Everyone else is still served.
	for _, via := range []string{"http", "ws"} {
		netkit(t, "", "msg", "--via", via, "--to", web, "--key-file", keyFile, "ping").wantCode(t, 0)
	}
	netkit(t, "", "msg", "--via", "udp", "--to", udpAddr, "--key-file", keyFile, "ping").wantCode(t, 0)
	// Counted in /metrics.
	_, _, metrics := curlGet(t, curl, "http://"+web+"/metrics")
	for _, want := range []string{
		`netkit_msg_refused_total{reason="replay",transport="udp"} 1`,
		`netkit_msg_refused_total{reason="invalid_token",transport="udp"} 3`,
		`netkit_msg_refused_total{reason="expired",transport="udp"} 1`,
		`netkit_msg_refused_total{reason="empty",transport="udp"} 1`,
		`netkit_msg_refused_total{reason="too_large",transport="udp"} 1`,
		`netkit_msg_refused_total{reason="replay",transport="http"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s in\n%s", want, grepLines(metrics, "netkit_msg_refused"))
		}
	}
	srv.checkRace()
}

func writeKey(t *testing.T, key string) string {
	f := filepath.Join(t.TempDir(), "k")
	os.WriteFile(f, []byte(key+"\n"), 0o600)
	return f
}

// TestMsgCurlTLS: the HTTP API with curl: the 302, the index, the time,
// and a message over HTTP/2 with TLS; and netkit msg -v's trace.
func TestMsgCurlTLS(t *testing.T) {
	py := debianPython(t, "cryptography")
	curl := peer(t, "curl")
	srv, keyFile, key := msgServer(t, "--tls")
	web := srv.addr(t, "web/https")
	base := "https://" + web
	r := run(t, command{path: curl, args: []string{"-sSk", "--max-time", "20", "-i", "--http2", base + "/api"}})
	r.wantCode(t, 0)
	if !strings.HasPrefix(r.stdout, "HTTP/2 302") || !strings.Contains(strings.ToLower(r.stdout), "location: /api/v1/") {
		t.Errorf("/api: %q", r.stdout)
	}
	r = run(t, command{path: curl, args: []string{"-sSkL", "--max-time", "20", "--http2", base + "/api"}})
	r.wantCode(t, 0)
	if !strings.Contains(r.stdout, `"/api/v1/messages"`) {
		t.Errorf("/api -L: %q", r.stdout)
	}
	status, ctype, body := curlGet(t, curl, base+"/api/v1/time", "-k", "--http2")
	var tm struct{ Time string }
	if status != 200 || ctype != "application/json" || json.Unmarshal([]byte(body), &tm) != nil {
		t.Errorf("time: %d %s %q", status, ctype, body)
	}
	tok := pyToken(t, py, key, envelopeJSON("echo"), 0)
	r = run(t, command{path: curl, args: []string{"-sSk", "--max-time", "20", "-i", "--http2", "-H", "Content-Type: text/plain", "--data-binary", tok, base + "/api/v1/messages"}})
	r.wantCode(t, 0)
	if !strings.HasPrefix(r.stdout, "HTTP/2 200") {
		t.Fatalf("POST over HTTP/2: %q", r.stdout)
	}
	_, answer, _ := strings.Cut(r.stdout, "\r\n\r\n")
	dec := run(t, command{path: py, args: []string{"-c", "import sys; from cryptography.fernet import Fernet; print(Fernet(sys.argv[1]).decrypt(sys.argv[2].strip().encode(), ttl=60).decode())", key, answer}})
	dec.wantCode(t, 0)
	if !strings.Contains(dec.stdout, `"type":"reply"`) {
		t.Errorf("python decrypting the answer: %q", dec.stdout)
	}
	// netkit msg -v over TLS: HTTP/2, curl -v's shape.
	v := netkit(t, "", "msg", "--tls", "--fingerprint", srv.fingerprint, "--to", web, "--key-file", keyFile, "-v", "ping")
	v.wantCode(t, 0)
	for _, want := range []string{"* Connected to", "> POST /api/v1/messages HTTP/2", "> Content-Type: text/plain", "< HTTP/2 200 OK", "< Content-Type: text/plain; charset=utf-8"} {
		if !strings.Contains(strings.ToLower(v.stderr), strings.ToLower(want)) {
			t.Errorf("-v lacks %q:\n%s", want, v.stderr)
		}
	}
	if v.stdout != "pong\n" {
		t.Errorf("-v stdout %q", v.stdout)
	}
	srv.checkRace()
}

// TestMsgNoKey: without a key, clients and `msg serve` say how to make
// one; `netkit serve` leaves msg out with a warning and the API says so.
func TestMsgNoKey(t *testing.T) {
	c := netkitCmd(t, "msg", "ping")
	c.env = append(c.env, "NETKIT_KEY=")
	r := run(t, c)
	r.wantCode(t, 1)
	if !strings.Contains(r.stderr, "netkit keygen") {
		t.Errorf("msg without a key: %q", r.stderr)
	}
	r = netkit(t, "", "msg", "serve", "--listen", "127.0.0.1:0")
	r.wantCode(t, 1)
	if !strings.Contains(r.stderr, "netkit keygen") {
		t.Errorf("msg serve without a key: %q", r.stderr)
	}
	srv := startServer(t, "", []string{"web/http"}, "serve", "--random-ports", "--only", "web")
	curl := peer(t, "curl")
	rr := run(t, command{path: curl, args: []string{"-sS", "-o", "-", "-w", " %{http_code}", "-X", "POST", "--data-binary", "x", "http://" + srv.addr(t, "web/http") + "/api/v1/messages"}})
	if !strings.Contains(rr.stdout, "netkit keygen") || !strings.HasSuffix(rr.stdout, " 503") {
		t.Errorf("API without a key: %q", rr.stdout)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestMsgKeyNeverShown: with logging at debug, a server taking its keys
// from NETKIT_KEY and a client using them print neither key nor either
// half of it (raw or in base64), in any output or in --help; and a UDP
// datagram that does not verify is logged at debug, without an answer.
func TestMsgKeyNeverShown(t *testing.T) {
	_, key := msgKey(t)
	_, old := msgKey(t)
	keys := key + "," + old
	c := netkitCmd(t, "serve", "--random-ports", "--only", "web,msg", "--log-level", "debug", "--data", t.TempDir())
	c.env = append(c.env, "NETKIT_KEY="+keys)
	p := start(t, c)
	srv := &server{proc: p, addrs: map[string]string{}}
	if _, err := p.stdout.wait(p.exited, startTimeout, func(line string) bool {
		srv.parseTableLine(line)
		return srv.has("web/http") && srv.has("msg/udp")
	}); err != nil {
		t.Fatalf("%s: %v\n%s", c, err, p.stderr)
	}
	var outs []string
	for _, via := range []string{"http", "udp", "ws"} {
		to := srv.addr(t, "web/http")
		if via == "udp" {
			to = srv.addr(t, "msg/udp")
		}
		mc := netkitCmd(t, "msg", "--via", via, "--to", to, "handshake", "--json")
		mc.env = append(mc.env, "NETKIT_KEY="+keys)
		r := run(t, mc)
		r.wantCode(t, 0)
		outs = append(outs, r.stdout, r.stderr)
	}
	conn, err := net.Dial("udp", srv.addr(t, "msg/udp"))
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("gAAAAABnot-a-token"))
	conn.Close()
	p.stderr.wait(p.exited, startTimeout, func(l string) bool { return strings.Contains(l, "message refused") && strings.Contains(l, "udp") })
	for _, args := range [][]string{{"serve", "--help"}, {"msg", "--help"}, {"msg", "serve", "--help"}, {"discover", "--help"}} {
		hc := netkitCmd(t, args...)
		hc.env = append(hc.env, "NETKIT_KEY="+keys)
		r := run(t, hc)
		outs = append(outs, r.stdout, r.stderr)
	}
	p.stop()
	if !strings.Contains(p.stderr.String(), "message refused") {
		t.Errorf("the refused datagram was not logged at debug:\n%s", p.stderr)
	}
	outs = append(outs, p.stdout.String(), p.stderr.String())
	all := strings.Join(outs, "\n")
	for _, k := range []string{key, old} {
		raw, err := base64.URLEncoding.DecodeString(k)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{k, k[:22], k[22:40], base64.RawURLEncoding.EncodeToString(raw[:16]), base64.RawURLEncoding.EncodeToString(raw[16:]), base64.StdEncoding.EncodeToString(raw), hex.EncodeToString(raw[:16]), hex.EncodeToString(raw[16:])} {
			if strings.Contains(all, secret) {
				t.Errorf("%q (from a key) shown in the output", secret)
			}
		}
	}
	srv.checkRace()
}

// TestMsgServeAlone: netkit msg serve runs the UDP msg service by itself
// and answers every request type.
func TestMsgServeAlone(t *testing.T) {
	keyFile, _ := msgKey(t)
	srv := startServer(t, "", []string{"msg/udp"}, "msg", "serve", "--listen", "127.0.0.1:0", "--key-file", keyFile)
	if len(srv.addrs) != 1 {
		t.Errorf("msg serve runs %v, want the msg service alone", srv.addrs)
	}
	for _, typ := range []string{"handshake", "ping", "time", "echo", "broadcast"} {
		r := netkit(t, "", "msg", "--via", "udp", "--to", srv.addr(t, "msg/udp"), "--key-file", keyFile, "--json", typ, `"x"`)
		r.wantCode(t, 0)
		if !strings.Contains(r.stdout, `"type":"reply"`) {
			t.Errorf("%s: %q", typ, r.stdout)
		}
	}
	srv.checkRace()
}
