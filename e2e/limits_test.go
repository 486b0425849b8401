package e2e

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// TestLimits checks that a client over a limit is told so in one line
// starting "error:" and is closed, with nc as the client.
func TestLimits(t *testing.T) {
	t.Parallel()
	nc := netcat(t)
	const maxLine = 16
	srv := startServer(t, "", []string{"echo/tcp", "hello/tcp", "time/tcp"},
		"serve", "--random-ports", "--json", "--only", "echo,hello,time",
		"--max-line", "16", "--max-conns-per-ip", "2")

	long := strings.Repeat("a", 3*maxLine) + "\n"
	padded := "     Hello      \n" // maxLine bytes before the newline
	if len(padded) != maxLine+1 {
		t.Fatalf("padded line is %d bytes, want %d", len(padded)-1, maxLine)
	}
	tests := []struct {
		name, endpoint, in string
		want               []string // prefixes of the lines wanted, in order
	}{
		{"hello line at the limit", "hello/tcp", padded, []string{"Hello from server"}},
		{"hello line over the limit", "hello/tcp", long, []string{"error:"}},
		{"time line over the limit", "time/tcp", "TIME\n" + long, []string{"20", "error:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, port := srv.hostPort(t, tt.endpoint)
			r := run(t, command{path: nc, args: []string{"-N", host, port}, stdin: tt.in})
			r.wantCode(t, 0)
			got := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %d lines starting %q", r.stdout, len(tt.want), tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("line %d = %q, want it to start %q", i+1, got[i], tt.want[i])
				}
			}
		})
	}

	t.Run("connections per address", func(t *testing.T) {
		addr := srv.addr(t, "echo/tcp")
		// Hold the two connections allowed, each greeted, so both are
		// counted.
		for range 2 {
			conn, err := new(net.Dialer).DialContext(t.Context(), "tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(lineTimeout))
			if line, err := bufio.NewReader(conn).ReadString('\n'); err != nil || line != welcome+"\n" {
				t.Fatalf("connection within the limit got %q, %v; want the welcome line", line, err)
			}
		}
		host, port := srv.hostPort(t, "echo/tcp")
		r := run(t, command{path: nc, args: []string{"-d", host, port}})
		r.wantCode(t, 0)
		if line := oneLine(t, "what the third connection got", r.stdout); !strings.HasPrefix(line, "error:") {
			t.Errorf("third connection got %q, want a line starting %q", line, "error:")
		}
	})
}

// TestIdleTimeout checks that a client that sends nothing is told so and
// closed once --idle-timeout passes.
func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	nc := netcat(t)
	const idle = time.Second
	srv := startServer(t, "", []string{"echo/tcp", "hello/tcp", "time/tcp"},
		"serve", "--random-ports", "--json", "--only", "echo,hello,time", "--idle-timeout", idle.String())
	tests := []struct {
		endpoint string
		before   []string // lines before the error
	}{
		{"echo/tcp", []string{welcome}},
		{"hello/tcp", nil},
		{"time/tcp", nil},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			t.Parallel()
			host, port := srv.hostPort(t, tt.endpoint)
			r := run(t, command{path: nc, args: []string{"-d", host, port}, timeout: idle + lineTimeout})
			r.wantCode(t, 0)
			got := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
			if len(got) != len(tt.before)+1 {
				t.Fatalf("got %q, want %q and then an error line", r.stdout, tt.before)
			}
			for i, want := range tt.before {
				if got[i] != want {
					t.Errorf("line %d = %q, want %q", i+1, got[i], want)
				}
			}
			if last := got[len(got)-1]; !strings.HasPrefix(last, "error:") {
				t.Errorf("last line = %q, want it to start %q", last, "error:")
			}
			if r.elapsed < idle {
				t.Errorf("closed after %v, before the %v idle timeout", r.elapsed, idle)
			}
		})
	}
}
