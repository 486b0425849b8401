package msg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/netkit/netkit/internal/fernet"
	"github.com/netkit/netkit/internal/msg/envelope"
	"github.com/netkit/netkit/internal/service"
)

// testServer is a Server with its HTTP API and UDP service on loopback.
type testServer struct {
	*Server
	keys    *fernet.Fernet
	httpURL string
	web     string // HOST:PORT of the HTTP API
	udp     string // HOST:PORT of the UDP service
	reg     *prometheus.Registry
}

func startServer(t *testing.T, configure func(*Server)) *testServer {
	t.Helper()
	k, _ := fernet.GenerateKey()
	keys, _ := fernet.New(k)
	reg := prometheus.NewRegistry()
	s := &Server{Keys: keys, Name: "testsrv", Version: "test", Metrics: NewMetrics(reg)}
	if configure != nil {
		configure(s)
	}
	mux := http.NewServeMux()
	s.Mount(mux.Handle)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ps := &service.PacketServer{Name: "msg", Handler: s.PacketHandler(pc), MaxPacket: MaxUDPPacket, Rate: -1, Batch: UDPBatch}
	go ps.Serve(pc)
	t.Cleanup(func() { ps.Close() })
	return &testServer{Server: s, keys: keys, httpURL: hs.URL, web: strings.TrimPrefix(hs.URL, "http://"), udp: pc.LocalAddr().String(), reg: reg}
}

func (ts *testServer) client(via string) *Client {
	addr := ts.web
	if via == "udp" {
		addr = ts.udp
	}
	return &Client{Via: via, Addr: addr, Keys: ts.keys, Sender: "alice", Timeout: 5 * time.Second}
}

var transports = []string{"http", "udp", "ws"}

func TestEveryTypeOverEveryTransport(t *testing.T) {
	ts := startServer(t, nil)
	for _, via := range transports {
		t.Run(via, func(t *testing.T) {
			c := ts.client(via)
			defer c.Close()
			ctx := context.Background()
			ans, err := c.Send(ctx, envelope.Handshake, nil)
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			var info Info
			if err := json.Unmarshal(ans.Body, &info); err != nil || info.Name != "testsrv" || info.Version != "test" {
				t.Errorf("handshake: %s, %v", ans.Body, err)
			}
			if ans.Type != envelope.Reply || ans.Sender != "testsrv" {
				t.Errorf("handshake answer %+v", ans)
			}
			ans, err = c.Send(ctx, envelope.Ping, nil)
			if err != nil || string(ans.Body) != `"pong"` {
				t.Errorf("ping: %v %s", err, ans.Body)
			}
			ans, err = c.Send(ctx, envelope.Time, nil)
			if err != nil {
				t.Fatalf("time: %v", err)
			}
			var st string
			json.Unmarshal(ans.Body, &st)
			if tm, err := time.Parse(time.RFC3339Nano, st); err != nil || time.Since(tm).Abs() > 5*time.Second {
				t.Errorf("time: %s %v", ans.Body, err)
			}
			body := json.RawMessage(`{"n":[1,2,3],"s":"héllo"}`)
			ans, err = c.Send(ctx, envelope.Echo, body)
			if err != nil || !bytes.Equal(ans.Body, body) {
				t.Errorf("echo: %v %s", err, ans.Body)
			}
			ans, err = c.Send(ctx, envelope.Broadcast, json.RawMessage(`"hi all"`))
			if err != nil || !strings.Contains(string(ans.Body), "delivered") {
				t.Errorf("broadcast: %v %s", err, ans.Body)
			}
		})
	}
}

func TestBroadcastReachesWSAndUDP(t *testing.T) {
	ts := startServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan string, 4)
	ready := make(chan struct{}, 2)
	for _, via := range []string{"ws", "udp"} {
		c := ts.client(via)
		defer c.Close()
		go c.Listen(ctx, time.Minute, func(*envelope.Envelope) { ready <- struct{}{} }, func(e *envelope.Envelope) {
			got <- via + ":" + e.Sender + ":" + string(e.Body)
		})
	}
	<-ready
	<-ready
	sender := ts.client("http")
	ans, err := sender.Send(ctx, envelope.Broadcast, json.RawMessage(`"hello everyone"`))
	if err != nil {
		t.Fatal(err)
	}
	if string(ans.Body) != `{"delivered":2}` {
		t.Errorf("delivered: %s", ans.Body)
	}
	seen := map[string]bool{}
	for range 2 {
		select {
		case s := <-got:
			seen[s] = true
		case <-ctx.Done():
			t.Fatalf("broadcasts received: %v", seen)
		}
	}
	for _, want := range []string{`ws:alice:"hello everyone"`, `udp:alice:"hello everyone"`} {
		if !seen[want] {
			t.Errorf("missing %s in %v", want, seen)
		}
	}
}

// post sends raw as the body of POST /api/v1/messages.
func post(t *testing.T, ts *testServer, raw []byte) (int, string, string) {
	t.Helper()
	resp, err := http.Post(ts.httpURL+PathMessages, "text/plain", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String(), resp.Header.Get("X-Netkit-Error")
}

func seal(t *testing.T, keys *fernet.Fernet, plain string, made time.Time) []byte {
	t.Helper()
	return keys.AppendEncrypt(nil, []byte(plain), made, bytes.Repeat([]byte{7}, 16))
}

func envJSON(typ string) string {
	return `{"id":"` + envelope.NewID() + `","type":"` + typ + `","sender":"t","time":"` + time.Now().UTC().Format(time.RFC3339) + `"}`
}

func TestHTTPErrors(t *testing.T) {
	ts := startServer(t, nil)
	other, _ := fernet.GenerateKey()
	otherKeys, _ := fernet.New(other)
	now := time.Now()
	replayed := seal(t, ts.keys, envJSON("ping"), now)
	if code, _, _ := post(t, ts, replayed); code != 200 {
		t.Fatalf("first send: %d", code)
	}
	tests := []struct {
		name  string
		body  []byte
		code  int
		want  string
		token bool // the answer is an error envelope
	}{
		{"wrong key", seal(t, otherKeys, envJSON("ping"), now), 401, "does not verify", false},
		{"expired", seal(t, ts.keys, envJSON("ping"), now.Add(-6*time.Minute)), 401, "expired", false},
		{"future", seal(t, ts.keys, envJSON("ping"), now.Add(2*time.Minute)), 401, "future", false},
		{"replay", replayed, 409, "replay", false},
		{"empty", nil, 400, "empty", false},
		{"truncated", replayed[:len(replayed)/2], 401, "does not verify", false},
		{"garbage", []byte("hello"), 401, "does not verify", false},
		{"too large", bytes.Repeat([]byte("A"), MaxToken+1), 413, "too large", false},
		{"invalid JSON", seal(t, ts.keys, `{"id": nope`, now), 400, "bad_json", true},
		{"unknown type", seal(t, ts.keys, envJSON("dance"), now), 400, "unknown_type", true},
		{"answer type", seal(t, ts.keys, envJSON("reply"), now), 400, "not a request", true},
		{"no sender", seal(t, ts.keys, `{"id":"`+envelope.NewID()+`","type":"ping","time":"2026-01-01T00:00:00Z"}`, now), 400, "sender", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, hdr := post(t, ts, tt.body)
			if code != tt.code {
				t.Errorf("status %d, want %d (%s)", code, tt.code, body)
			}
			if tt.token {
				c := ts.client("http")
				env, err := c.Open([]byte(strings.TrimSpace(body)))
				if err != nil || env.Type != envelope.Error || !strings.Contains(string(env.Body), tt.want) {
					t.Errorf("error envelope: %+v, %v", env, err)
				}
			} else if !strings.HasPrefix(body, "error: ") || !strings.Contains(body, tt.want) || strings.Count(body, "\n") != 1 {
				t.Errorf("body %q, want one line with %q", body, tt.want)
			}
			if !strings.Contains(hdr, tt.want) && !tt.token {
				t.Errorf("X-Netkit-Error %q", hdr)
			}
		})
	}
	// The server goes on serving.
	if _, err := ts.client("http").Send(context.Background(), envelope.Ping, nil); err != nil {
		t.Fatalf("after the errors: %v", err)
	}
	if n := testutil.ToFloat64(ts.Metrics.refusedC.WithLabelValues("http", "replay")); n != 1 {
		t.Errorf("replays counted %v", n)
	}
}

func TestUDPSilentToWhatDoesNotVerify(t *testing.T) {
	ts := startServer(t, nil)
	other, _ := fernet.GenerateKey()
	otherKeys, _ := fernet.New(other)
	conn, err := net.Dial("udp", ts.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	now := time.Now()
	replayed := seal(t, ts.keys, envJSON("ping"), now)
	silent := map[string][]byte{
		"wrong key": seal(t, otherKeys, envJSON("ping"), now),
		"expired":   seal(t, ts.keys, envJSON("ping"), now.Add(-6*time.Minute)),
		"truncated": replayed[:40],
		"empty":     {},
		"oversized": bytes.Repeat([]byte("g"), MaxDatagram+1),
	}
	send := func(b []byte) []byte {
		conn.Write(b)
		conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		buf := make([]byte, 65536)
		n, err := conn.Read(buf)
		if err != nil {
			return nil
		}
		return buf[:n]
	}
	if send(replayed) == nil {
		t.Fatal("no answer to a good token")
	}
	silent["replay"] = replayed
	for name, b := range silent {
		if got := send(b); got != nil {
			t.Errorf("%s: answered %q", name, got)
		}
	}
	// Invalid JSON in a valid token is answered with an error envelope.
	got := send(seal(t, ts.keys, "not json", now))
	c := ts.client("udp")
	env, err := c.Open(got)
	if err != nil || env.Type != envelope.Error || !strings.Contains(string(env.Body), "bad_json") {
		t.Errorf("invalid JSON: %+v %v", env, err)
	}
	if send(seal(t, ts.keys, envJSON("ping"), now)) == nil {
		t.Error("the server stopped answering")
	}
	for _, reason := range []string{"invalid_token", "expired", "replay", "empty", "too_large"} {
		if n := testutil.ToFloat64(ts.Metrics.refusedC.WithLabelValues("udp", reason)); n < 1 {
			t.Errorf("udp %s not counted", reason)
		}
	}
}

func TestWSErrors(t *testing.T) {
	ts := startServer(t, nil)
	c := ts.client("ws")
	defer c.Close()
	ctx := context.Background()
	if _, err := c.Send(ctx, envelope.Ping, nil); err != nil {
		t.Fatal(err)
	}
	other, _ := fernet.GenerateKey()
	bad, _ := fernet.New(other)
	c.Keys = bad
	if _, err := c.Send(ctx, envelope.Ping, nil); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("wrong key over ws: %v", err)
	}
	c.Keys = ts.keys
	if _, err := c.Send(ctx, envelope.Ping, nil); err != nil {
		t.Errorf("the connection died after an error: %v", err)
	}
}

func TestSealedBox(t *testing.T) {
	kp, _ := envelope.GenerateKeyPair()
	ts := startServer(t, func(s *Server) { s.Box = kp })
	for _, via := range transports {
		c := ts.client(via)
		c.Keys = nil
		c.ServerKey = &kp.Public
		ans, err := c.Send(context.Background(), envelope.Echo, json.RawMessage(`"sealed"`))
		if err != nil || string(ans.Body) != `"sealed"` {
			t.Errorf("%s: %v %+v", via, err, ans)
		}
		ans, err = c.Send(context.Background(), envelope.Handshake, nil)
		if err != nil || !strings.Contains(string(ans.Body), envelope.EncodeKey(kp.Public)) {
			t.Errorf("%s: handshake does not publish the key: %v %s", via, err, ans.Body)
		}
		c.Close()
	}
	// Sealed to another key: refused.
	other, _ := envelope.GenerateKeyPair()
	c := ts.client("http")
	c.Keys, c.ServerKey = nil, &other.Public
	if _, err := c.Send(context.Background(), envelope.Ping, nil); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("sealed to the wrong key: %v", err)
	}
}

func TestReplayWindowBound(t *testing.T) {
	ts := startServer(t, func(s *Server) { s.MaxReplay = 3 })
	c := ts.client("http")
	for i := range 3 {
		if _, err := c.Send(context.Background(), envelope.Ping, nil); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	_, err := c.Send(context.Background(), envelope.Ping, nil)
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "replay window full") {
		t.Fatalf("over the bound: %v", err)
	}
}

func TestReplayWindowExpiry(t *testing.T) {
	w := newReplayWindow(time.Minute, 2)
	now := time.Unix(1_800_000_000, 0)
	a, b, c := envelope.NewID(), envelope.NewID(), envelope.NewID()
	if ok, _ := w.check(a, now, now); !ok {
		t.Fatal("a refused")
	}
	if ok, _ := w.check(a, now, now); ok {
		t.Fatal("a replayed")
	}
	w.check(b, now, now)
	if _, full := w.check(c, now, now); !full {
		t.Fatal("not full at the bound")
	}
	later := now.Add(2 * time.Minute)
	if ok, _ := w.check(c, later, later); !ok || w.len() != 1 {
		t.Fatalf("old ids not dropped: %d held", w.len())
	}
}

func TestStatus(t *testing.T) {
	for err, want := range map[error]int{nil: 200, ErrToken: 401, ErrExpired: 401, ErrReplay: 409, ErrTooLarge: 413, ErrBusy: 503, ErrEnvelope: 400, ErrEmpty: 400} {
		if got := Status(err); got != want {
			t.Errorf("Status(%v) = %d, want %d", err, got, want)
		}
	}
	if !errors.Is(ErrNoAnswer, ErrNoAnswer) {
		t.Fatal()
	}
}

func TestAPIIndexAndRedirect(t *testing.T) {
	ts := startServer(t, nil)
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(ts.httpURL + "/api")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "/api/v1/" {
		t.Errorf("/api: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = http.Get(ts.httpURL + "/api/v1/")
	if err != nil {
		t.Fatal(err)
	}
	var idx struct{ Endpoints []Endpoint }
	json.NewDecoder(resp.Body).Decode(&idx)
	resp.Body.Close()
	if len(idx.Endpoints) != len(Endpoints) {
		t.Errorf("index: %+v", idx)
	}
	resp, err = http.Get(ts.httpURL + PathTime)
	if err != nil {
		t.Fatal(err)
	}
	var tm struct{ Time string }
	json.NewDecoder(resp.Body).Decode(&tm)
	resp.Body.Close()
	if _, err := time.Parse(time.RFC3339Nano, tm.Time); err != nil {
		t.Errorf("time: %q", tm.Time)
	}
}
