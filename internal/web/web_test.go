package web_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/netkit/netkit/internal/web"
)

func startWeb(t *testing.T, srv *web.Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, web.ErrServerClosed) {
			t.Errorf("Serve = %v", err)
		}
	})
	return "http://" + l.Addr().String()
}

func get(t *testing.T, url string) (int, string, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func TestRoutes(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "netkit_test_gauge", Help: "test"}))
	srv := &web.Server{
		Version:  "9.9",
		Gatherer: reg,
		Endpoints: func() []web.Endpoint {
			return []web.Endpoint{{Service: "echo", Proto: "tcp", Addr: "127.0.0.1:7707", Open: 3}}
		},
	}
	srv.Handle("GET /extra", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "mounted") }))
	base := startWeb(t, srv)

	tests := []struct {
		path, wantType string
		wantCode       int
		wantBody       []string
	}{
		{"/", "text/html; charset=utf-8", 200, []string{"netkit 9.9", "<td>echo</td>", "127.0.0.1:7707", ">3<"}},
		{"/healthz", "text/plain; charset=utf-8", 200, []string{"ok"}},
		{"/metrics", "text/plain", 200, []string{"# TYPE netkit_test_gauge gauge"}},
		{"/extra", "", 200, []string{"mounted"}},
		{"/nope", "", 404, nil},
	}
	for _, tt := range tests {
		code, ctype, body := get(t, base+tt.path)
		if code != tt.wantCode {
			t.Errorf("GET %s: status %d, want %d", tt.path, code, tt.wantCode)
		}
		if tt.wantType != "" && !strings.HasPrefix(ctype, tt.wantType) {
			t.Errorf("GET %s: Content-Type %q, want %q", tt.path, ctype, tt.wantType)
		}
		for _, w := range tt.wantBody {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: body lacks %q", tt.path, w)
			}
		}
	}

	_, _, body := get(t, base+"/status.json")
	var st web.Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("status.json: %v", err)
	}
	if st.Version != "9.9" || len(st.Endpoints) != 1 || st.Endpoints[0].Open != 3 {
		t.Errorf("status.json = %+v", st)
	}
}

// A slowloris client dribbles its headers; it is cut off at the header
// timeout while an ordinary client is served meanwhile.
func TestSlowHeadersCutOff(t *testing.T) {
	base := startWeb(t, &web.Server{ReadHeaderTimeout: 200 * time.Millisecond})
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\n")
	if code, _, _ := get(t, base+"/healthz"); code != 200 {
		t.Errorf("other client got %d while a slow one was connected", code)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	resp, _ := io.ReadAll(bufio.NewReader(conn))
	if time.Since(start) > 4*time.Second {
		t.Fatal("slow client was not cut off")
	}
	// net/http answers a timed-out request with 408 or just closes.
	if len(resp) > 0 && !strings.Contains(string(resp), "408") {
		t.Errorf("slow client got %q", resp)
	}
}
