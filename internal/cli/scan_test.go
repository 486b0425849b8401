package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/scan"
)

// scanListeners opens n listeners on 127.0.0.1 and returns their ports.
func scanListeners(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// freePort returns a port of 127.0.0.1 nothing listens on (one that was
// just listened on).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func portList(ports ...int) string {
	var s []string
	for _, p := range ports {
		s = append(s, fmt.Sprint(p))
	}
	return strings.Join(s, ",")
}

// TestScanJSON checks the --json lines: one object a port with exactly
// the documented keys, one a host, one summary; --open keeps the open
// ports only.
func TestScanJSON(t *testing.T) {
	open := scanListeners(t, 2)
	closed := freePort(t)
	for _, onlyOpen := range []bool{false, true} {
		args := []string{"scan", "--json", "-p", portList(open[0], open[1], closed), "127.0.0.1"}
		if onlyOpen {
			args = append(args, "--open")
		}
		stdout, stderr, err := run(t, "", args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		wantPorts := 3
		if onlyOpen {
			wantPorts = 2
		}
		if len(lines) != wantPorts+2 {
			t.Fatalf("--open=%v: %d lines, want %d ports, a host and a summary:\n%s", onlyOpen, len(lines), wantPorts, stdout)
		}
		states := map[int]string{}
		for _, line := range lines[:wantPorts] {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			keys := slices.Sorted(func(yield func(string) bool) {
				for k := range m {
					if !yield(k) {
						return
					}
				}
			})
			if want := []string{"addr", "banner", "host", "port", "proto", "reason", "rtt_ms", "service", "state"}; !slices.Equal(keys, want) {
				t.Errorf("keys %v, want %v", keys, want)
			}
			states[int(m["port"].(float64))] = m["state"].(string) + "/" + m["reason"].(string)
		}
		want := map[int]string{open[0]: "open/syn-ack", open[1]: "open/syn-ack"}
		if !onlyOpen {
			want[closed] = "closed/conn-refused"
		}
		if fmt.Sprint(states) != fmt.Sprint(want) {
			t.Errorf("--open=%v: states %v, want %v", onlyOpen, states, want)
		}
		var host scan.JSONHost
		var sum scan.JSONSummary
		if err := json.Unmarshal([]byte(lines[wantPorts]), &host); err != nil || host.Type != "host" || !host.Up || host.Ports["open"] != 2 || host.Ports["closed"] != 1 {
			t.Errorf("host line %q (%v)", lines[wantPorts], err)
		}
		if err := json.Unmarshal([]byte(lines[wantPorts+1]), &sum); err != nil || sum.Type != "summary" || sum.HostsUp != 1 || sum.Ports["open"] != 2 || sum.Interrupted {
			t.Errorf("summary line %q (%v)", lines[wantPorts+1], err)
		}
	}
}

// TestScanOutputFiles writes -oG and -oX to files and to standard
// output: the files hold the ports, and with a machine format on
// standard output the summary goes to standard error.
func TestScanOutputFiles(t *testing.T) {
	open := scanListeners(t, 1)
	dir := t.TempDir()
	g, x := filepath.Join(dir, "out.gnmap"), filepath.Join(dir, "out.xml")
	ports := portList(open[0], freePort(t))
	stdout, stderr, err := run(t, "", "scan", "-p", ports, "-oG", g, "-oX", x, "127.0.0.1")
	if err != nil {
		t.Fatal(err, stderr)
	}
	if !strings.Contains(stdout, "netkit scan report for 127.0.0.1") {
		t.Errorf("no table on standard output:\n%s", stdout)
	}
	gb, _ := os.ReadFile(g)
	if want := fmt.Sprintf("%d/open/tcp//", open[0]); !bytes.Contains(gb, []byte(want)) ||
		!bytes.Contains(gb, []byte("as: netkit scan -p "+ports+" -oG "+g)) {
		t.Errorf("%s lacks %q or the command line:\n%s", g, want, gb)
	}
	var xr scan.XMLRun
	xb, _ := os.ReadFile(x)
	if err := xml.Unmarshal(xb, &xr); err != nil || len(xr.Hosts) != 1 || len(xr.Hosts[0].Ports.Ports) != 2 {
		t.Errorf("%s: %v\n%s", x, err, xb)
	}

	stdout, stderr, err = run(t, "", "scan", "-p", ports, "-oG", "-", "127.0.0.1")
	if err != nil {
		t.Fatal(err, stderr)
	}
	if !strings.HasPrefix(stdout, "# netkit") || strings.Contains(stdout, "Done:") || !strings.Contains(stderr, "Done: 1 of 1 hosts up") {
		t.Errorf("-oG -: stdout %q, stderr %q", stdout, stderr)
	}
}

// TestScanInterruptWritesWhatWasFound stops a slow scan (4 probes a
// second over 8 open ports) after a second: the error is ErrInterrupted
// (exit status 130), and the XML file holds the ports found so far,
// marked as an interrupted run.
func TestScanInterruptWritesWhatWasFound(t *testing.T) {
	open := scanListeners(t, 8)
	x := filepath.Join(t.TempDir(), "out.xml")
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	err := Run(ctx, []string{"scan", "--rate", "4", "-p", portList(open...), "-oX", x, "127.0.0.1"}, IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
	if !errors.Is(err, ErrInterrupted) || ExitCode(err) != 130 {
		t.Fatalf("interrupted scan: %v (exit %d), want ErrInterrupted (130)", err, ExitCode(err))
	}
	var xr scan.XMLRun
	xb, _ := os.ReadFile(x)
	if err := xml.Unmarshal(xb, &xr); err != nil || len(xr.Hosts) != 1 {
		t.Fatalf("%s after the interrupt: %v\n%s", x, err, xb)
	}
	found := xr.Hosts[0].Ports.Ports
	if len(found) == 0 || len(found) >= len(open) {
		t.Errorf("%d of %d ports written after a second at 4 a second", len(found), len(open))
	}
	for _, p := range found {
		if p.State.State != "open" {
			t.Errorf("port %d written %s, want open", p.PortID, p.State.State)
		}
	}
	if xr.RunStats.Finished.Exit != "error" {
		t.Errorf("runstats exit %q, want error (interrupted)", xr.RunStats.Finished.Exit)
	}
	if !strings.Contains(out.String(), "Interrupted:") {
		t.Errorf("the table does not say it was interrupted:\n%s", out.String())
	}
}
