package e2e

import (
	"encoding/binary"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestNetcatEcho sends bytes through the TCP echo service with nc and
// checks that exactly the same bytes come back after the welcome line.
func TestNetcatEcho(t *testing.T) {
	t.Parallel()
	nc := netcat(t)
	srv := startServer(t, "", []string{"echo/tcp"}, "serve", "--random-ports", "--json", "--only", "echo")
	host, port := srv.hostPort(t, "echo/tcp")

	every := make([]byte, 256)
	for i := range every {
		every[i] = byte(i)
	}
	random := make([]byte, 256<<10)
	rand.NewChaCha8([32]byte{'e', '2', 'e'}).Read(random)
	tests := []struct {
		name, in string
	}{
		{"line", "hello, echo\n"},
		{"no final newline", "no newline"},
		{"CRLF lines", "one\r\ntwo\r\n"},
		{"NUL and 0xFF", "\x00\xff\x00\xff\n\x00"},
		{"every byte value", string(every)},
		{"256 KiB of random bytes", string(random)},
		{"nothing", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, command{path: nc, args: []string{"-N", host, port}, stdin: tt.in})
			r.wantCode(t, 0)
			if want := welcome + "\n" + tt.in; r.stdout != want {
				t.Errorf("nc got back something else: %s", firstDiff(r.stdout, want))
			}
		})
	}
}

// TestNetcatEchoUDP sends one datagram to the RFC 862 echo service on the
// TCP port's number and checks that it comes back unchanged.
func TestNetcatEchoUDP(t *testing.T) {
	t.Parallel()
	nc := netcat(t)
	srv := startServer(t, "", []string{"echo/tcp", "echo/udp"}, "serve", "--random-ports", "--json", "--only", "echo")
	if tcp, udp := srv.addr(t, "echo/tcp"), srv.addr(t, "echo/udp"); tcp != udp {
		t.Errorf("echo: tcp on %s but udp on %s; want the same port", tcp, udp)
	}
	host, port := srv.hostPort(t, "echo/udp")
	const in = "one datagram \x00\xff\n"
	// UDP has no end: nc gives up 2 s after the last datagram.
	r := run(t, command{path: nc, args: []string{"-u", "-w", "2", host, port}, stdin: in})
	r.wantCode(t, 0)
	if r.stdout != in {
		t.Errorf("udp echo: %s", firstDiff(r.stdout, in))
	}
}

// TestNetcatHello sends one command line to the hello service with nc and
// checks the one line that comes back before the server closes.
func TestNetcatHello(t *testing.T) {
	t.Parallel()
	nc := netcat(t)
	srv := startServer(t, "", []string{"hello/tcp"}, "serve", "--random-ports", "--json", "--only", "hello")
	host, port := srv.hostPort(t, "hello/tcp")

	isTime := func(t *testing.T, reply string) {
		t.Helper()
		got, err := time.Parse(time.RFC3339, reply)
		if err != nil {
			t.Fatalf("reply %q is not an RFC 3339 time: %v", reply, err)
		}
		checkNear(t, "reply", got)
	}
	is := func(want string) func(*testing.T, string) {
		return func(t *testing.T, reply string) {
			t.Helper()
			if reply != want {
				t.Errorf("reply = %q, want %q", reply, want)
			}
		}
	}
	tests := []struct {
		name, in string
		check    func(*testing.T, string)
	}{
		{"Hello", "Hello\n", is("Hello from server")},
		{"hello with CR", "hello\r\n", is("Hello from server")},
		{"HELLO", "HELLO\n", is("Hello from server")},
		{"Hello without newline", "Hello", is("Hello from server")},
		{"Time", "Time\n", isTime},
		{"time with CR", "time\r\n", isTime},
		{"garbage", "garbage\n", is("Unknown command")},
		{"empty line", "\n", is("Unknown command")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, command{path: nc, args: []string{"-N", host, port}, stdin: tt.in})
			r.wantCode(t, 0)
			tt.check(t, oneLine(t, "reply", r.stdout))
		})
	}
}

var (
	utcMillis = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	isoMillis = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$`)
)

// TestNetcatTime talks to the time services with nc: the line protocol, RFC
// 867 daytime and RFC 868 over TCP.
func TestNetcatTime(t *testing.T) {
	t.Parallel()
	nc := netcat(t)
	srv := startServer(t, "", []string{"time/tcp", "daytime/tcp", "rfc868/tcp"}, "serve", "--random-ports", "--json", "--only", "time")

	t.Run("line protocol", func(t *testing.T) {
		host, port := srv.hostPort(t, "time/tcp")
		r := run(t, command{path: nc, args: []string{"-N", host, port}, stdin: "TIME\nISO\nnonsense\n time \r\nQUIT\n"})
		r.wantCode(t, 0)
		lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
		if len(lines) != 5 {
			t.Fatalf("got %d lines, want 5 (TIME, ISO, error, TIME, bye):\n%s", len(lines), r.stdout)
		}
		for _, i := range []int{0, 3} {
			if !utcMillis.MatchString(lines[i]) {
				t.Errorf("TIME reply %q is not UTC RFC 3339 with milliseconds", lines[i])
			} else if got, err := time.Parse(time.RFC3339Nano, lines[i]); err != nil {
				t.Errorf("TIME reply %q: %v", lines[i], err)
			} else {
				checkNear(t, "TIME reply", got)
			}
		}
		if !isoMillis.MatchString(lines[1]) {
			t.Errorf("ISO reply %q is not ISO 8601 with milliseconds and an offset", lines[1])
		} else if got, err := time.Parse(time.RFC3339Nano, lines[1]); err != nil {
			t.Errorf("ISO reply %q: %v", lines[1], err)
		} else {
			checkNear(t, "ISO reply", got)
		}
		if !strings.HasPrefix(lines[2], "error:") {
			t.Errorf("reply to an unknown command = %q, want a line starting %q", lines[2], "error:")
		}
		if lines[4] != "bye" {
			t.Errorf("reply to QUIT = %q, want %q", lines[4], "bye")
		}
	})

	t.Run("RFC 867 daytime", func(t *testing.T) {
		host, port := srv.hostPort(t, "daytime/tcp")
		r := run(t, command{path: nc, args: []string{"-d", host, port}})
		r.wantCode(t, 0)
		line, ok := strings.CutSuffix(r.stdout, "\r\n")
		if !ok || strings.Contains(line, "\n") {
			t.Fatalf("daytime sent %q, want one line ending in CRLF", r.stdout)
		}
		got, err := time.Parse("Monday, January 2, 2006 15:04:05-UTC", line)
		if err != nil {
			t.Fatalf("daytime line %q: %v", line, err)
		}
		checkNear(t, "daytime", got)
	})

	t.Run("RFC 868 over TCP", func(t *testing.T) {
		host, port := srv.hostPort(t, "rfc868/tcp")
		r := run(t, command{path: nc, args: []string{"-d", host, port}})
		r.wantCode(t, 0)
		if len(r.stdout) != 4 {
			t.Fatalf("RFC 868 server sent %q, want 4 bytes", r.stdout)
		}
		const from1900 = 2208988800 // seconds from 1900 to 1970
		secs := int64(binary.BigEndian.Uint32([]byte(r.stdout))) - from1900
		checkNear(t, "RFC 868 time", time.Unix(secs, 0))
	})
}
