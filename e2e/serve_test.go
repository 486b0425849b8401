package e2e

import (
	"encoding/json"
	"maps"
	"net"
	"slices"
	"strings"
	"testing"
)

// TestServeJSONTable checks what `netkit serve --json` prints: one JSON
// object per line, with the service, protocol and a loopback address of
// every endpoint, TCP and UDP sharing a port where the service says so.
func TestServeJSONTable(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "", plainEndpoints, "serve", "--random-ports", "--json")
	for _, line := range srv.stdout.linesFrom(0) {
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			t.Errorf("stdout line %q is not a JSON object: %v", line, err)
			continue
		}
		if keys := slices.Sorted(maps.Keys(obj)); !slices.Equal(keys, []string{"addr", "proto", "service"}) {
			t.Errorf("stdout line %q has keys %v, want addr, proto, service", line, keys)
		}
	}
	for key, addr := range srv.addrs {
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host != "127.0.0.1" || port == "0" {
			t.Errorf("%s listens on %q, want 127.0.0.1 and a port picked for it", key, addr)
		}
	}
	for _, service := range []string{"echo", "rfc868"} {
		if tcp, udp := srv.addr(t, service+"/tcp"), srv.addr(t, service+"/udp"); tcp != udp {
			t.Errorf("%s: tcp on %s but udp on %s; want one port number for both", service, tcp, udp)
		}
	}
}

// TestServeSelection checks --only and --except, against the endpoints the
// status page lists.
func TestServeSelection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		flags []string
		want  []string // all the endpoints, with exact set
		has   []string // some of them, with absent
		// absent lists services that must not run.
		absent []string
	}{
		{flags: []string{"--only", "web,echo"}, want: []string{"echo/tcp", "echo/udp", "web/http"}},
		{flags: []string{"--only", " echo , web "}, want: []string{"echo/tcp", "echo/udp", "web/http"}},
		{flags: []string{"--except", "hello,time"}, has: []string{"echo/tcp", "echo/udp", "web/http"}, absent: []string{"hello", "time", "daytime", "rfc868", "sntp"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.flags, " "), func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, "", append(tt.want, tt.has...), append([]string{"serve", "--random-ports", "--json"}, tt.flags...)...)
			r := netkit(t, "", "web", srv.addr(t, "web/http"), "--json")
			r.wantCode(t, 0)
			var st status
			if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
				t.Fatalf("netkit web --json: %v\n%s", err, r.stdout)
			}
			var got []string
			for _, ep := range st.Endpoints {
				got = append(got, ep.Service+"/"+ep.Proto)
				if slices.Contains(tt.absent, ep.Service) {
					t.Errorf("serve %s runs %s", strings.Join(tt.flags, " "), ep.Service)
				}
			}
			slices.Sort(got)
			if tt.want != nil && !slices.Equal(got, tt.want) {
				t.Errorf("serve %s runs %v, want %v", strings.Join(tt.flags, " "), got, tt.want)
			}
			for _, key := range tt.has {
				if !slices.Contains(got, key) {
					t.Errorf("serve %s runs %v, want %s among them", strings.Join(tt.flags, " "), got, key)
				}
			}
		})
	}
}

// TestServiceServe starts each service on its own with `netkit SERVICE
// serve` and talks to it with netkit's client.
func TestServiceServe(t *testing.T) {
	t.Parallel()
	const free = "127.0.0.1:0"
	tests := []struct {
		name  string
		args  []string
		want  []string
		check func(t *testing.T, srv *server)
	}{
		{"echo", []string{"echo", "serve", "--listen", free}, []string{"echo/tcp", "echo/udp"}, func(t *testing.T, srv *server) {
			r := netkit(t, "alone\n", "echo", srv.addr(t, "echo/tcp"), "-q")
			r.wantCode(t, 0)
			if r.stdout != "alone\n" {
				t.Errorf("echoed %q, want %q", r.stdout, "alone\n")
			}
		}},
		{"hello", []string{"hello", "serve", "--listen", free}, []string{"hello/tcp"}, func(t *testing.T, srv *server) {
			r := netkit(t, "", "hello", srv.addr(t, "hello/tcp"))
			r.wantCode(t, 0)
			if got := oneLine(t, "stdout", r.stdout); got != "Hello from server" {
				t.Errorf("reply = %q, want %q", got, "Hello from server")
			}
		}},
		{"web", []string{"web", "serve", "--listen", free}, []string{"web/http"}, func(t *testing.T, srv *server) {
			r := netkit(t, "", "web", srv.addr(t, "web/http"), "--json")
			r.wantCode(t, 0)
			var st status
			if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
				t.Fatalf("netkit web --json: %v\n%s", err, r.stdout)
			}
			checkListsTable(t, st, srv)
		}},
		{"time", []string{"time", "serve", "--listen", free, "--daytime", free, "--rfc868", free, "--sntp", free},
			[]string{"time/tcp", "daytime/tcp", "rfc868/tcp", "rfc868/udp", "sntp/udp"}, func(t *testing.T, srv *server) {
				for _, q := range []struct {
					proto, endpoint string
					flags           []string
				}{
					{"line", "time/tcp", nil},
					{"rfc868", "rfc868/tcp", []string{"--proto", "rfc868"}},
					{"rfc868", "rfc868/udp", []string{"--proto", "rfc868", "--udp"}},
					{"sntp", "sntp/udp", []string{"--proto", "sntp"}},
				} {
					addr := srv.addr(t, q.endpoint)
					r := netkit(t, "", append([]string{"time", addr, "--json"}, q.flags...)...)
					r.wantCode(t, 0)
					checkTimeJSON(t, r.stdout, q.proto, addr)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, "", tt.want, append(tt.args, "--json")...)
			tt.check(t, srv)
		})
	}
}
