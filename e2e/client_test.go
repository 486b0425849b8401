package e2e

import (
	"encoding/json"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"
)

// timeResult is what `netkit time --json` prints.
type timeResult struct {
	Proto    string    `json:"proto"`
	Server   string    `json:"server"`
	Time     time.Time `json:"time"`
	OffsetMS *float64  `json:"offset_ms"`
	DelayMS  *float64  `json:"delay_ms"`
	Stratum  *uint8    `json:"stratum"`
}

// checkTimeJSON checks the output of `netkit time --json` against the
// protocol and server asked, and the local clock, which the server shares.
func checkTimeJSON(t *testing.T, out, proto, server string) timeResult {
	t.Helper()
	var res timeResult
	if err := json.Unmarshal([]byte(oneLine(t, "netkit time --json", out)), &res); err != nil {
		t.Fatalf("netkit time --json printed invalid JSON: %v\n%s", err, out)
	}
	if res.Proto != proto || res.Server != server {
		t.Errorf("proto, server = %q, %q; want %q, %q", res.Proto, res.Server, proto, server)
	}
	checkNear(t, "time", res.Time)
	switch {
	case res.OffsetMS == nil || res.DelayMS == nil:
		t.Errorf("offset_ms or delay_ms missing: %s", out)
	case *res.OffsetMS < -clockTolerance.Seconds()*1000 || *res.OffsetMS > clockTolerance.Seconds()*1000:
		t.Errorf("offset_ms = %v against a server on this machine's clock; want within %v", *res.OffsetMS, clockTolerance)
	case *res.DelayMS < 0:
		t.Errorf("delay_ms = %v, want >= 0", *res.DelayMS)
	}
	return res
}

// TestClients drives the servers with netkit's own clients.
func TestClients(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "", plainEndpoints, "serve", "--random-ports", "--json")

	t.Run("echo", func(t *testing.T) {
		random := make([]byte, 1<<20)
		rand.NewChaCha8([32]byte{'c', 'l', 'i'}).Read(random)
		tests := []struct {
			name, in string
		}{
			{"line", "hello\n"},
			{"binary", "\x00\x01\xfe\xff\r\n\x00"},
			{"1 MiB of random bytes", string(random)},
			{"nothing", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := netkit(t, tt.in, "echo", srv.addr(t, "echo/tcp"))
				r.wantCode(t, 0)
				if r.stdout != tt.in {
					t.Errorf("stdout is not the input: %s", firstDiff(r.stdout, tt.in))
				}
				if r.stderr != welcome+"\n" {
					t.Errorf("stderr = %q, want the welcome line", r.stderr)
				}
			})
		}
		t.Run("-q", func(t *testing.T) {
			r := netkit(t, "quiet\n", "echo", "-q", srv.addr(t, "echo/tcp"))
			r.wantCode(t, 0)
			if r.stdout != "quiet\n" || r.stderr != "" {
				t.Errorf("stdout, stderr = %q, %q; want %q, \"\"", r.stdout, r.stderr, "quiet\n")
			}
		})
	})

	t.Run("hello", func(t *testing.T) {
		tests := []struct {
			name string
			cmd  []string
			want string // "" for a time
		}{
			{"default command", nil, "Hello from server"},
			{"Hello", []string{"Hello"}, "Hello from server"},
			{"time", []string{"time"}, ""},
			{"Time", []string{"Time"}, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := netkit(t, "", append([]string{"hello", srv.addr(t, "hello/tcp")}, tt.cmd...)...)
				r.wantCode(t, 0)
				got := oneLine(t, "stdout", r.stdout)
				if tt.want != "" {
					if got != tt.want {
						t.Errorf("reply = %q, want %q", got, tt.want)
					}
					return
				}
				tm, err := time.Parse(time.RFC3339, got)
				if err != nil {
					t.Fatalf("reply %q is not an RFC 3339 time: %v", got, err)
				}
				checkNear(t, "reply", tm)
			})
		}
	})

	t.Run("time", func(t *testing.T) {
		tests := []struct {
			proto    string
			flags    []string
			endpoint string
		}{
			{"line", []string{"--proto", "line"}, "time/tcp"},
			{"rfc868", []string{"--proto", "rfc868"}, "rfc868/tcp"},
			{"rfc868", []string{"--proto", "rfc868", "--udp"}, "rfc868/udp"},
			{"sntp", []string{"--proto", "sntp"}, "sntp/udp"},
		}
		for _, tt := range tests {
			t.Run(strings.Join(tt.flags, " "), func(t *testing.T) {
				addr := srv.addr(t, tt.endpoint)
				r := netkit(t, "", append([]string{"time", addr, "--json"}, tt.flags...)...)
				r.wantCode(t, 0)
				res := checkTimeJSON(t, r.stdout, tt.proto, addr)
				if tt.proto == "sntp" && (res.Stratum == nil || *res.Stratum == 0) {
					t.Errorf("SNTP result has stratum %v, want 1 to 15", res.Stratum)
				}

				// Without --json: one line starting with the time.
				r = netkit(t, "", append([]string{"time", addr}, tt.flags...)...)
				r.wantCode(t, 0)
				f := strings.Fields(oneLine(t, "stdout", r.stdout))
				tm, err := time.Parse(time.RFC3339, f[0])
				if err != nil {
					t.Fatalf("netkit time printed %q, want an RFC 3339 time first: %v", r.stdout, err)
				}
				checkNear(t, "time", tm)
			})
		}
	})

	t.Run("web", func(t *testing.T) {
		r := netkit(t, "", "web", srv.addr(t, "web/http"), "--json")
		r.wantCode(t, 0)
		var st status
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
			t.Fatalf("netkit web --json printed invalid JSON: %v\n%s", err, r.stdout)
		}
		checkListsTable(t, st, srv)

		r = netkit(t, "", "web", srv.addr(t, "web/http"))
		r.wantCode(t, 0)
		for key, addr := range srv.addrs {
			if !strings.Contains(r.stdout, addr) {
				t.Errorf("netkit web does not show %s at %s:\n%s", key, addr, r.stdout)
			}
		}
	})

	t.Run("nothing listening", func(t *testing.T) {
		// A port that was free a moment ago.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		for _, cmd := range []string{"echo", "hello", "time", "web"} {
			t.Run(cmd, func(t *testing.T) {
				r := netkit(t, "", cmd, addr)
				r.wantCode(t, 1)
				if line := oneLine(t, "stderr", r.stderr); !strings.Contains(line, addr) {
					t.Errorf("error %q does not name %s", line, addr)
				}
			})
		}
	})

	t.Run("--tls against a plain port", func(t *testing.T) {
		r := netkit(t, "hi\n", "echo", srv.addr(t, "echo/tcp"), "--tls", "--insecure")
		r.wantCode(t, 1)
		if line := oneLine(t, "stderr", r.stderr); !strings.Contains(line, "TLS") {
			t.Errorf("error %q does not say the server does not speak TLS", line)
		}
	})
}

// TestFlagsAfterPositionals checks that flags may follow the positional
// arguments.
func TestFlagsAfterPositionals(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "", plainEndpoints, "serve", "--random-ports", "--json")
	tests := []struct {
		name  string
		stdin string
		args  []string
		check func(t *testing.T, stdout, stderr string)
	}{
		{"hello ADDR Time --timeout 5s", "", []string{"hello", srv.addr(t, "hello/tcp"), "Time", "--timeout", "5s"}, func(t *testing.T, stdout, _ string) {
			if _, err := time.Parse(time.RFC3339, oneLine(t, "stdout", stdout)); err != nil {
				t.Errorf("reply %q is not a time: %v", stdout, err)
			}
		}},
		{"hello ADDR --timeout 5s Time", "", []string{"hello", srv.addr(t, "hello/tcp"), "--timeout", "5s", "Time"}, func(t *testing.T, stdout, _ string) {
			if _, err := time.Parse(time.RFC3339, oneLine(t, "stdout", stdout)); err != nil {
				t.Errorf("reply %q is not a time: %v", stdout, err)
			}
		}},
		{"time ADDR --proto sntp --json", "", []string{"time", srv.addr(t, "sntp/udp"), "--proto", "sntp", "--json"}, func(t *testing.T, stdout, _ string) {
			checkTimeJSON(t, stdout, "sntp", srv.addr(t, "sntp/udp"))
		}},
		{"time --json ADDR --udp --proto rfc868", "", []string{"time", "--json", srv.addr(t, "rfc868/udp"), "--udp", "--proto", "rfc868"}, func(t *testing.T, stdout, _ string) {
			checkTimeJSON(t, stdout, "rfc868", srv.addr(t, "rfc868/udp"))
		}},
		{"echo ADDR -q", "x\n", []string{"echo", srv.addr(t, "echo/tcp"), "-q"}, func(t *testing.T, stdout, stderr string) {
			if stdout != "x\n" || stderr != "" {
				t.Errorf("stdout, stderr = %q, %q; want %q, \"\" (-q honoured)", stdout, stderr, "x\n")
			}
		}},
		{"web ADDR --json", "", []string{"web", srv.addr(t, "web/http"), "--json"}, func(t *testing.T, stdout, _ string) {
			if !json.Valid([]byte(stdout)) {
				t.Errorf("stdout is not JSON: %q", stdout)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := netkit(t, tt.stdin, tt.args...)
			r.wantCode(t, 0)
			tt.check(t, r.stdout, r.stderr)
		})
	}
}

// TestEchoClientExitStatus runs netkit echo many times over: each run that
// got everything back must exit 0, every time, with TLS or without.
func TestEchoClientExitStatus(t *testing.T) {
	t.Parallel()
	const runs = 30
	tests := []struct {
		name  string
		serve []string
		key   string
		flags []string
	}{
		{"plain", nil, "echo/tcp", nil},
		{"TLS", []string{"--tls"}, "echo/tls", []string{"--tls", "--insecure"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, "", []string{tt.key}, append([]string{"serve", "--random-ports", "--json", "--only", "echo"}, tt.serve...)...)
			failed := 0
			for i := range runs {
				r := netkit(t, "hi\n", append([]string{"echo", srv.addr(t, tt.key), "-q"}, tt.flags...)...)
				if r.timedOut || r.code != 0 || r.stdout != "hi\n" {
					failed++
					if failed == 1 {
						t.Errorf("run %d of %d: exit status %d, stdout %q, stderr %q; want 0, %q", i+1, runs, r.code, r.stdout, r.stderr, "hi\n")
					}
				}
			}
			if failed > 0 {
				t.Errorf("%d of %d runs failed", failed, runs)
			}
		})
	}
}
