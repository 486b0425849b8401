package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"
)

// defaultGrace is how long `netkit serve` gives connections to finish on
// shutdown (--grace).
const defaultGrace = 5 * time.Second

// waitOpen waits until the server's /status.json counts an open connection
// on the endpoint key. It asks every 20 ms, for at most lineTimeout.
func waitOpen(t *testing.T, srv *server, key string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), lineTimeout)
	defer cancel()
	url := "http://" + srv.addr(t, "web/http") + "/status.json"
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if openConns(ctx, url, key) > 0 {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("%s never showed an open connection on %s", url, key)
		}
	}
}

// openConns returns the open connections /status.json at url counts for the
// endpoint key, or -1 if it cannot tell.
func openConns(ctx context.Context, url, key string) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return -1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var st status
	if json.NewDecoder(resp.Body).Decode(&st) != nil {
		return -1
	}
	for _, ep := range st.Endpoints {
		if ep.Service+"/"+ep.Proto == key {
			return ep.Open
		}
	}
	return -1
}

// TestShutdown signals `netkit serve` while an idle nc is connected: the
// server must close the connection and exit 0 promptly.
func TestShutdown(t *testing.T) {
	t.Parallel()
	nc := netcat(t)
	tests := []struct {
		name     string
		sig      os.Signal
		endpoint string
		within   time.Duration
	}{
		{"SIGTERM echo", syscall.SIGTERM, "echo/tcp", 5 * time.Second},
		{"SIGINT echo", syscall.SIGINT, "echo/tcp", 5 * time.Second},
		{"SIGTERM hello", syscall.SIGTERM, "hello/tcp", 5 * time.Second},
		{"SIGTERM time", syscall.SIGTERM, "time/tcp", 5 * time.Second},
		// net/http lets a connection that has not sent a request yet run
		// out the grace period.
		{"SIGTERM web", syscall.SIGTERM, "web/http", defaultGrace + 5*time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, "", plainEndpoints, "serve", "--random-ports", "--json")
			host, port := srv.hostPort(t, tt.endpoint)
			client := start(t, command{path: nc, args: []string{"-d", host, port}})
			switch tt.endpoint {
			case "echo/tcp":
				client.waitLine(t, "the welcome line", func(l string) bool { return l == welcome })
			case "web/http":
				// The status page counts no HTTP connections; nc may
				// not be accepted yet, which the test tolerates.
			default:
				waitOpen(t, srv, tt.endpoint)
			}

			began := time.Now()
			srv.signal(t, tt.sig)
			code, ok := srv.wait(tt.within)
			if !ok {
				t.Fatalf("netkit serve still running %v after %v with an idle client on %s\nstderr: %s", tt.within, tt.sig, tt.endpoint, srv.stderr)
			}
			t.Logf("exited %v after %v", time.Since(began).Round(time.Millisecond), tt.sig)
			if code != 0 {
				t.Errorf("netkit serve: exit status %d after %v, want 0\nstderr: %s", code, tt.sig, srv.stderr)
			}
			if _, ok := client.wait(stopTimeout); !ok {
				t.Errorf("nc is still connected after netkit serve exited")
			}
		})
	}
}
