package e2e

import (
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMenuAfterFailedBind is issue 13's item 2, against a running netkit
// serve: the menu's server on the port the suite's udp service holds comes
// back to the menu at once with what to do, the next line typed is the
// menu's, and Ctrl-C exits 130.
func TestMenuAfterFailedBind(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "", []string{"udp/udp"}, "serve", "--random-ports", "--json", "--only", "udp")
	_, port := srv.hostPort(t, "udp/udp")

	c := netkitCmd(t, "menu")
	c.pipeStdin = true
	p := start(t, c)
	say := func(line string) {
		t.Helper()
		if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
			t.Fatalf("typing %q: %v", line, err)
		}
	}
	// (1) server, address [127.0.0.1], the suite's port, folder [.]
	say("1")
	say("")
	say(port)
	say("")
	began := time.Now()
	line := p.waitLine(t, "the bind error", func(l string) bool { return strings.Contains(l, "error:") })
	if want := fmt.Sprintf("UDP port %s is in use (is 'netkit serve' running? answer another port", port); !strings.Contains(line, want) {
		t.Errorf("error line %q, want it to say %q", line, want)
	}
	if strings.Contains(p.stdout.String(), "receiving; press Enter") {
		t.Errorf("the menu said it was receiving although the bind failed:\n%s", p.stdout)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("the error came after %v", d)
	}
	// The next line typed is the menu's: a wrong choice is asked again.
	say("9")
	p.waitLine(t, "the menu asking again", func(l string) bool { return strings.Contains(l, `"9" is not a whole number from 0 to 2; try again`) })
	// Ctrl-C: exit status 130, not 0.
	p.signal(t, syscall.SIGINT)
	code, ok := p.wait(stopTimeout)
	if !ok || code != 130 {
		t.Errorf("after Ctrl-C: exit status %d (exited: %v), want 130\nstdout: %q\nstderr: %q", code, ok, p.stdout, p.stderr)
	}
}
