package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// headerTimeout is how long the web service gives a client to send its
// request headers (web.DefaultReadHeaderTimeout).
const headerTimeout = 5 * time.Second

// curlGet fetches url with curl and returns the status, the Content-Type and
// the body. extra goes before the URL (--cacert, say).
func curlGet(t *testing.T, curl, url string, extra ...string) (status int, contentType, body string) {
	t.Helper()
	dir := t.TempDir()
	headers, bodyFile := filepath.Join(dir, "headers"), filepath.Join(dir, "body")
	args := append([]string{"-sS", "--max-time", "20", "-D", headers, "-o", bodyFile}, extra...)
	r := run(t, command{path: curl, args: append(args, url)})
	r.wantCode(t, 0)
	h, err := os.ReadFile(headers)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(bodyFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(h), "\r\n")
	if f := strings.Fields(lines[0]); len(f) >= 2 {
		status, _ = strconv.Atoi(f[1])
	}
	for _, l := range lines[1:] {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, "Content-Type") {
			contentType = strings.TrimSpace(v)
		}
	}
	return status, contentType, string(b)
}

// endpoint is one row of /status.json.
type endpoint struct {
	Service string `json:"service"`
	Proto   string `json:"proto"`
	Addr    string `json:"addr"`
	Open    int    `json:"open"`
}

// status is /status.json.
type status struct {
	Version   string     `json:"version"`
	Started   time.Time  `json:"started"`
	Uptime    string     `json:"uptime"`
	Endpoints []endpoint `json:"endpoints"`
}

// checkListsTable fails the test unless st lists every endpoint of srv's
// address table at its address.
func checkListsTable(t *testing.T, st status, srv *server) {
	t.Helper()
	listed := map[string]string{}
	for _, ep := range st.Endpoints {
		listed[ep.Service+"/"+ep.Proto] = ep.Addr
	}
	for key, addr := range srv.addrs {
		if listed[key] != addr {
			t.Errorf("status lists %s at %q, want %q (the address table's)", key, listed[key], addr)
		}
	}
}

// TestCurl fetches the web service's pages with curl.
func TestCurl(t *testing.T) {
	t.Parallel()
	curl := peer(t, "curl")
	srv := startServer(t, "", plainEndpoints, "serve", "--random-ports", "--json")
	base := "http://" + srv.addr(t, "web/http")

	t.Run("healthz", func(t *testing.T) {
		code, _, body := curlGet(t, curl, base+"/healthz")
		if code != 200 || strings.TrimSpace(body) != "ok" {
			t.Errorf("GET /healthz = %d %q, want 200 \"ok\"", code, body)
		}
	})

	t.Run("status.json", func(t *testing.T) {
		code, ctype, body := curlGet(t, curl, base+"/status.json")
		if code != 200 {
			t.Fatalf("GET /status.json = %d, want 200", code)
		}
		if !strings.HasPrefix(ctype, "application/json") {
			t.Errorf("Content-Type = %q, want application/json", ctype)
		}
		var st status
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatalf("/status.json is not valid JSON: %v\n%s", err, body)
		}
		if st.Version == "" || st.Started.IsZero() {
			t.Errorf("status has no version or start time: %+v", st)
		}
		checkListsTable(t, st, srv)
	})

	t.Run("status page", func(t *testing.T) {
		code, ctype, body := curlGet(t, curl, base+"/")
		if code != 200 || !strings.HasPrefix(ctype, "text/html") {
			t.Fatalf("GET / = %d %q, want 200 text/html", code, ctype)
		}
		for key, addr := range srv.addrs {
			if !strings.Contains(body, addr) {
				t.Errorf("status page does not show %s at %s", key, addr)
			}
		}
	})

	t.Run("metrics", func(t *testing.T) {
		// One echo connection, so that the counter has something to count.
		conn, err := new(net.Dialer).DialContext(t.Context(), "tcp", srv.addr(t, "echo/tcp"))
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(lineTimeout))
		if _, err := bufio.NewReader(conn).ReadString('\n'); err != nil {
			t.Fatalf("reading the echo welcome: %v", err)
		}
		conn.Close()

		code, _, body := curlGet(t, curl, base+"/metrics")
		if code != 200 {
			t.Fatalf("GET /metrics = %d, want 200", code)
		}
		m := regexp.MustCompile(`(?m)^netkit_connections_accepted_total\{service="echo"\} (\d+)`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("/metrics has no netkit_connections_accepted_total for echo:\n%s", clip(body))
		}
		if n, _ := strconv.Atoi(m[1]); n < 1 {
			t.Errorf("netkit_connections_accepted_total{service=\"echo\"} = %d after a connection, want at least 1", n)
		}
	})
}

// TestWebSlowHeaders is a slowloris: a client that trickles an endless
// request header must be cut off once the header timeout has passed, while
// curl is served as usual.
func TestWebSlowHeaders(t *testing.T) {
	t.Parallel()
	curl := peer(t, "curl")
	srv := startServer(t, "", []string{"web/http"}, "serve", "--random-ports", "--json", "--only", "web")
	addr := srv.addr(t, "web/http")

	conn, err := new(net.Dialer).DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	began := time.Now()
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: "+addr+"\r\n"); err != nil {
		t.Fatal(err)
	}
	// Trickle one more header line every 200 ms, never ending the request,
	// until the server hangs up.
	trickled := make(chan struct{})
	go func() {
		defer close(trickled)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for i := 0; time.Since(began) < 3*headerTimeout; i++ {
			select {
			case <-tick.C:
			case <-t.Context().Done():
				return
			}
			conn.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := io.WriteString(conn, "X-Slow-"+strconv.Itoa(i)+": x\r\n"); err != nil {
				return
			}
		}
	}()

	// Meanwhile, everyone else is served.
	if code, _, body := curlGet(t, curl, "http://"+addr+"/healthz"); code != 200 || strings.TrimSpace(body) != "ok" {
		t.Errorf("GET /healthz during the slow request = %d %q, want 200 \"ok\"", code, body)
	}

	// The server must hang up within the header timeout, give or take a
	// loaded machine: any response (a 408, say) and then EOF.
	const slack = 5 * time.Second
	conn.SetReadDeadline(began.Add(headerTimeout + slack))
	got, err := io.ReadAll(conn)
	elapsed := time.Since(began)
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		t.Fatalf("the server still held the slow connection after %v; want it closed after the %v header timeout", elapsed.Round(time.Millisecond), headerTimeout)
	case len(got) > 0 && !strings.HasPrefix(string(got), "HTTP/1.1 4"):
		t.Errorf("the server answered the unfinished request with %q, want nothing or a 4xx", clip(string(got)))
	case elapsed < headerTimeout-time.Second:
		t.Errorf("the server closed the slow connection after %v, before the %v header timeout", elapsed.Round(time.Millisecond), headerTimeout)
	}
	t.Logf("slow connection closed after %v (err %v)", elapsed.Round(time.Millisecond), err)
	conn.Close()
	<-trickled

	if code, _, _ := curlGet(t, curl, "http://"+addr+"/healthz"); code != 200 {
		t.Errorf("GET /healthz after the slow request = %d, want 200", code)
	}
}
