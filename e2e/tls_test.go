package e2e

import (
	"cmp"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// TestTLS starts `netkit serve --tls`, which makes itself a certificate, and
// checks it from outside: openssl's handshake and its view of the
// certificate, curl over HTTPS, plain-text clients on TLS ports, and
// netkit's own clients with each way of trusting the server.
func TestTLS(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "", append([]string{fingerprintKey}, tlsEndpoints...), "serve", "--random-ports", "--tls")
	echoAddr := srv.addr(t, "echo/tls")

	t.Run("key file mode", func(t *testing.T) {
		fi, err := os.Stat(srv.keyFile())
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s has mode %#o, want 0600", srv.keyFile(), mode)
		}
	})

	t.Run("fingerprint matches openssl's", func(t *testing.T) {
		openssl := peer(t, "openssl")
		r := run(t, command{path: openssl, args: []string{"x509", "-in", srv.certFile(), "-noout", "-fingerprint", "-sha256"}})
		r.wantCode(t, 0)
		// "sha256 Fingerprint=AB:CD:..." (OpenSSL 3) or "SHA256 Fingerprint=..."
		_, fp, ok := strings.Cut(strings.TrimSpace(r.stdout), "=")
		if !ok {
			t.Fatalf("openssl printed %q, want a fingerprint", r.stdout)
		}
		if !strings.EqualFold(fp, srv.fingerprint) {
			t.Errorf("netkit printed fingerprint %s, openssl computes %s", srv.fingerprint, fp)
		}
	})

	t.Run("openssl s_client TLS 1.3 echo", func(t *testing.T) {
		openssl := peer(t, "openssl")
		p := start(t, command{path: openssl, pipeStdin: true, args: []string{
			"s_client", "-connect", echoAddr, "-brief",
			"-CAfile", srv.certFile(), "-verify_return_error", "-verify_ip", "127.0.0.1",
		}})
		p.waitLine(t, "the welcome line", func(l string) bool { return l == welcome })
		const ping = "ping through TLS \x01\x7f"
		if _, err := io.WriteString(p.stdin, ping+"\n"); err != nil {
			t.Fatal(err)
		}
		p.waitLine(t, "the echo", func(l string) bool { return l == ping })
		p.stdin.Close()
		if code, ok := p.wait(runTimeout); !ok || code != 0 {
			t.Errorf("openssl s_client: exit status %d (exited: %v), want 0\nstderr: %s", code, ok, p.stderr)
		}
		if e := p.stderr.String(); !strings.Contains(e, "Protocol version: TLSv1.3") {
			t.Errorf("openssl s_client did not report TLS 1.3:\n%s", e)
		}
	})

	t.Run("openssl s_client TLS 1.2 refused", func(t *testing.T) {
		openssl := peer(t, "openssl")
		r := run(t, command{path: openssl, args: []string{"s_client", "-connect", echoAddr, "-brief", "-tls1_2"}})
		if r.timedOut || r.code == 0 {
			t.Fatalf("openssl s_client -tls1_2: exit status %d (timed out: %v), want a failed handshake\nstdout: %q\nstderr: %q", r.code, r.timedOut, r.stdout, r.stderr)
		}
		if strings.Contains(r.stdout, welcome) {
			t.Errorf("a TLS 1.2 client got the welcome line: %q", r.stdout)
		}
		if !strings.Contains(strings.ToLower(r.stderr), "protocol version") {
			t.Errorf("openssl's error does not name the protocol version:\n%s", r.stderr)
		}
	})

	// A plain-text client on a TLS port is told, in plain text, what is
	// wrong, whatever it sends.
	t.Run("nc on a TLS port", func(t *testing.T) {
		nc := netcat(t)
		tests := []struct {
			name, endpoint, in string
		}{
			{"echo", "echo/tls", "hello\n"},
			{"hello", "hello/tls", "Hello\n"},
			{"time TIME", "time/tls", "TIME\n"},
			{"time ISO", "time/tls", "ISO\n"}, // a valid command shorter than a TLS record header
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				host, port := srv.hostPort(t, tt.endpoint)
				r := run(t, command{path: nc, args: []string{"-N", host, port}, stdin: tt.in, timeout: 8 * time.Second})
				r.wantCode(t, 0)
				if !strings.HasPrefix(r.stdout, "error: this port speaks TLS") {
					t.Errorf("nc sent %q to %s and got %q, want a line starting %q", tt.in, tt.endpoint, r.stdout, "error: this port speaks TLS")
				}
			})
		}
	})

	t.Run("curl over HTTPS", func(t *testing.T) {
		curl := peer(t, "curl")
		code, _, body := curlGet(t, curl, "https://"+srv.addr(t, "web/https")+"/healthz", "--cacert", srv.certFile())
		if code != 200 || strings.TrimSpace(body) != "ok" {
			t.Errorf("GET /healthz over HTTPS = %d %q, want 200 \"ok\"", code, body)
		}
	})

	t.Run("netkit clients", func(t *testing.T) {
		wrong := flipFirstDigit(srv.fingerprint)
		_, port := srv.hostPort(t, "echo/tls")
		const in = "over TLS\x00\n"
		tests := []struct {
			name string
			addr string // default: echo's address from the table
			args []string
			// code is the exit status wanted; with 0, stdout must be the
			// input, else stderr must be one line holding every one of
			// inErr.
			code  int
			inErr []string
		}{
			{"pinned fingerprint", "", []string{"--fingerprint", srv.fingerprint}, 0, nil},
			{"pinned fingerprint, lower case without colons", "", []string{"--fingerprint", strings.ToLower(strings.ReplaceAll(srv.fingerprint, ":", ""))}, 0, nil},
			{"wrong fingerprint", "", []string{"--fingerprint", wrong}, 1, []string{srv.fingerprint, wrong}},
			{"CA file", "", []string{"--ca", srv.certFile()}, 0, nil},
			{"CA file and localhost", "localhost:" + port, []string{"--ca", srv.certFile()}, 0, nil},
			{"insecure", "", []string{"--insecure"}, 0, nil},
			{"no way to trust", "", nil, 2, []string{"--ca", "--fingerprint", "--insecure"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				addr := cmp.Or(tt.addr, echoAddr)
				args := append([]string{"echo", addr, "--tls"}, tt.args...)
				r := netkit(t, in, args...)
				r.wantCode(t, tt.code)
				if tt.code == 0 {
					if r.stdout != in {
						t.Errorf("stdout: %s", firstDiff(r.stdout, in))
					}
					return
				}
				line := oneLine(t, "stderr", r.stderr)
				for _, s := range tt.inErr {
					if !strings.Contains(strings.ToUpper(line), strings.ToUpper(s)) {
						t.Errorf("error %q does not mention %q", line, s)
					}
				}
			})
		}

		t.Run("hello", func(t *testing.T) {
			r := netkit(t, "", "hello", srv.addr(t, "hello/tls"), "Hello", "--tls", "--ca", srv.certFile())
			r.wantCode(t, 0)
			if got := oneLine(t, "stdout", r.stdout); got != "Hello from server" {
				t.Errorf("reply = %q, want %q", got, "Hello from server")
			}
		})
		t.Run("time", func(t *testing.T) {
			r := netkit(t, "", "time", srv.addr(t, "time/tls"), "--tls", "--fingerprint", srv.fingerprint, "--json")
			r.wantCode(t, 0)
			checkTimeJSON(t, r.stdout, "line", srv.addr(t, "time/tls"))
		})
		t.Run("web", func(t *testing.T) {
			r := netkit(t, "", "web", srv.addr(t, "web/https"), "--tls", "--ca", srv.certFile(), "--json")
			r.wantCode(t, 0)
			var st status
			if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
				t.Fatalf("netkit web --json printed invalid JSON: %v\n%s", err, r.stdout)
			}
			checkListsTable(t, st, srv)
		})
	})

	// netkit's plain-text clients on TLS ports: each must fail promptly and
	// say that the port speaks TLS.
	t.Run("netkit clients without --tls", func(t *testing.T) {
		tests := []struct {
			name string
			args []string
		}{
			{"echo", []string{"echo", srv.addr(t, "echo/tls")}},
			{"hello", []string{"hello", srv.addr(t, "hello/tls"), "Hello"}},
			{"time", []string{"time", srv.addr(t, "time/tls")}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := netkitCmd(t, append(tt.args, "--timeout", "3s")...)
				c.stdin = "hi\n"
				c.timeout = 8 * time.Second
				r := run(t, c)
				switch {
				case r.timedOut:
					t.Fatalf("%s hung for %v", r.c, r.elapsed.Round(time.Millisecond))
				case r.code == 0:
					t.Fatalf("%s: exit status 0, want failure\nstdout: %q\nstderr: %q", r.c, r.stdout, r.stderr)
				case r.elapsed > 5*time.Second:
					t.Errorf("%s took %v to fail; want a prompt error", r.c, r.elapsed.Round(time.Millisecond))
				}
				if !strings.Contains(r.stderr, "TLS") {
					t.Errorf("%s: error %q does not say the port speaks TLS", r.c, r.stderr)
				}
			})
		}
	})

	t.Run("restart keeps the certificate", func(t *testing.T) {
		again := startServer(t, srv.dataDir, []string{fingerprintKey, "echo/tls"}, "serve", "--random-ports", "--tls", "--only", "echo")
		if again.fingerprint != srv.fingerprint {
			t.Errorf("second start printed fingerprint %s, first %s; want the certificate kept", again.fingerprint, srv.fingerprint)
		}
		if out := again.stdout.String(); !strings.Contains(out, "using self-signed certificate") {
			t.Errorf("second start did not say it reused the certificate:\n%s", out)
		}
	})
}

// TestTLSMin12 checks that --tls-min 1.2 lets a TLS 1.2 client in.
func TestTLSMin12(t *testing.T) {
	t.Parallel()
	openssl := peer(t, "openssl")
	srv := startServer(t, "", []string{"echo/tls"}, "serve", "--random-ports", "--json", "--tls", "--tls-min", "1.2", "--only", "echo")
	p := start(t, command{path: openssl, pipeStdin: true, args: []string{
		"s_client", "-connect", srv.addr(t, "echo/tls"), "-brief", "-tls1_2", "-CAfile", srv.certFile(), "-verify_return_error",
	}})
	p.waitLine(t, "the welcome line", func(l string) bool { return l == welcome })
	p.stdin.Close()
	if code, ok := p.wait(runTimeout); !ok || code != 0 {
		t.Errorf("openssl s_client -tls1_2: exit status %d (exited: %v), want 0\nstderr: %s", code, ok, p.stderr)
	}
	if e := p.stderr.String(); !strings.Contains(e, "Protocol version: TLSv1.2") {
		t.Errorf("openssl s_client did not report TLS 1.2:\n%s", e)
	}
}

// flipFirstDigit returns the fingerprint fp with its first hex digit changed.
func flipFirstDigit(fp string) string {
	if fp == "" {
		return fp
	}
	c := "1"
	if fp[0] == '1' {
		c = "2"
	}
	return c + fp[1:]
}
