package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestWrongServerSameWords checks issue 13's item 5: every plain client on
// a TLS port, and every TLS client on a plain port, fails at once with the
// same words.
func TestWrongServerSameWords(t *testing.T) {
	t.Parallel()
	plain := startServer(t, "", append(plainEndpoints, "chat/tcp"), "serve", "--random-ports", "--json")
	tls := startServer(t, "", append(tlsEndpoints, "chat/tls"), "serve", "--random-ports", "--json", "--tls")
	clients := []struct {
		name      string
		args      []string
		plainKey  string
		tlsKey    string
		stdinLine string
	}{
		{"echo", []string{"echo"}, "echo/tcp", "echo/tls", "hi\n"},
		{"hello", []string{"hello"}, "hello/tcp", "hello/tls", ""},
		{"time", []string{"time"}, "time/tcp", "time/tls", ""},
		{"web", []string{"web"}, "web/http", "web/https", ""},
		{"chat", []string{"chat", "--nick", "newcomer"}, "chat/tcp", "chat/tls", "hi\n"},
	}
	for _, c := range clients {
		t.Run(c.name+" plain on TLS", func(t *testing.T) {
			t.Parallel()
			addr := tls.addr(t, c.tlsKey)
			r := quick(t, c.stdinLine, append(c.args, addr)...)
			r.wantCode(t, 1)
			want := addr + " speaks TLS: connect with --tls (and --fingerprint, --ca or --insecure)"
			if line := oneLine(t, "stderr", r.stderr); !strings.HasSuffix(line, want) {
				t.Errorf("error %q, want it to end %q", line, want)
			}
		})
		t.Run(c.name+" TLS on plain", func(t *testing.T) {
			t.Parallel()
			addr := plain.addr(t, c.plainKey)
			r := quick(t, c.stdinLine, append(c.args, addr, "--tls", "--insecure")...)
			r.wantCode(t, 1)
			want := addr + " speaks plain text, not TLS: connect without --tls"
			if line := oneLine(t, "stderr", r.stderr); !strings.HasSuffix(line, want) {
				t.Errorf("error %q, want it to end %q", line, want)
			}
		})
	}
}

// quick runs netkit with a --timeout the clients must not reach: an answer
// that comes only when it expires fails the test.
func quick(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	c := netkitCmd(t, append(args, "--timeout", "8s")...)
	c.stdin = stdin
	c.timeout = 20 * time.Second
	r := run(t, c)
	if r.elapsed > 4*time.Second && !r.timedOut {
		t.Errorf("%s took %v: it waited for its timeout instead of naming the server at once", r.c, r.elapsed.Round(time.Millisecond))
	}
	return r
}

// TestWrongProtocolNamedAtOnce checks item 8: a client pointed at another
// service's port says at once that the server is not the one it wants.
func TestWrongProtocolNamedAtOnce(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "", append(plainEndpoints, "chat/tcp"), "serve", "--random-ports", "--json")
	tests := []struct {
		name, stdin string
		args        []string
		key         string
		want        string
	}{
		{"echo to hello", "hi\n", []string{"echo"}, "hello/tcp", "is not a netkit echo server"},
		{"echo to hello, no input", "", []string{"echo"}, "hello/tcp", "is not a netkit echo server"},
		{"echo to chat", "hi\n", []string{"echo"}, "chat/tcp", "is not a netkit echo server"},
		{"hello to echo", "", []string{"hello"}, "echo/tcp", "is not a netkit hello server"},
		{"hello to daytime", "", []string{"hello"}, "daytime/tcp", "is not a netkit hello server"},
		{"chat to echo", "", []string{"chat", "--nick", "newcomer"}, "echo/tcp", "is not a netkit chat server"},
		{"web to echo", "", []string{"web"}, "echo/tcp", "is not a netkit web server"},
		{"web to hello", "", []string{"web"}, "hello/tcp", "is not a netkit web server"},
		{"time to echo", "", []string{"time"}, "echo/tcp", "is not"},
		{"daytime to echo", "", []string{"time", "--proto", "daytime"}, "echo/tcp", "not an RFC 867 daytime line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := quick(t, tt.stdin, append(tt.args, srv.addr(t, tt.key))...)
			r.wantCode(t, 1)
			if line := oneLine(t, "stderr", r.stderr); !strings.Contains(line, tt.want) {
				t.Errorf("error %q, want %q", line, tt.want)
			}
		})
	}
}
