package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/impair"
)

func TestImpairUsageErrors(t *testing.T) {
	tests := []struct {
		args    []string
		mention string // what the message must name
	}{
		{[]string{"impair"}, "--to"},
		{[]string{"impair", "--to", "nohostport"}, "--to"},
		{[]string{"impair", "--to", "127.0.0.1:0"}, "--to"},
		{[]string{"impair", "--to", ":7"}, "--to"},
		{[]string{"impair", "--to", "127.0.0.1:7", "--listen", "nope"}, "--listen"},
		{[]string{"impair", "--to", "127.0.0.1:7", "--loss", "abc"}, "--loss"},
		{[]string{"impair", "--to", "127.0.0.1:7", "--dup", "101%"}, "--dup"},
		{[]string{"impair", "--to", "127.0.0.1:7", "--up-delay", "-5ms"}, "--up-delay"},
		{[]string{"impair", "--to", "127.0.0.1:7", "--jitter", "20"}, "--jitter"},
		{[]string{"impair", "--to", "127.0.0.1:7", "--down-rate", "10Mbps"}, "--down-rate"},
		// A bare number is refused: 10 bytes a second was never meant
		// (issue 13 item 7).
		{[]string{"impair", "--to", "127.0.0.1:7", "--rate", "10"}, "want a rate with its unit"},
		{[]string{"impair", "--to", "127.0.0.1:7", "--up-rate", "1500"}, "--up-rate"},
		{[]string{"impair", "--to", "127.0.0.1:7", "--queue", "lots"}, "--queue"},
		{[]string{"impair", "--to", "127.0.0.1:7", "--seed", "x"}, "-seed"},
		{[]string{"impair", "--to", "127.0.0.1:7", "--max-sessions", "0"}, "--max-sessions"},
		{[]string{"impair", "--to", "127.0.0.1:7", "--idle-timeout", "-1s"}, "--idle-timeout"},
		{[]string{"impair", "--to", "127.0.0.1:7", "--log-level", "loud"}, "--log-level"},
		{[]string{"impair", "--to", "127.0.0.1:7", "extra"}, "extra"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[1:], " "), func(t *testing.T) {
			_, _, err := run(t, "", tt.args...)
			if ExitCode(err) != 2 {
				t.Fatalf("exit %d (%v), want 2", ExitCode(err), err)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.Contains(msg, "--help") || !strings.Contains(msg, tt.mention) {
				t.Errorf("error %q: want one line naming %s and pointing at --help", msg, tt.mention)
			}
		})
	}
}

func TestImpairFlags(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		args     []string
		up, down impair.Impairment
	}{
		{nil, impair.Impairment{}, impair.Impairment{}},
		{[]string{"--loss", "5%"}, impair.Impairment{Loss: 0.05}, impair.Impairment{Loss: 0.05}},
		{[]string{"--loss", "5", "--down-loss", "0"}, impair.Impairment{Loss: 0.05}, impair.Impairment{}},
		{[]string{"--up-dup", "1%", "--down-reorder", "2%", "--corrupt", "0.5%"},
			impair.Impairment{Duplicate: 0.01, Corrupt: 0.005}, impair.Impairment{Reorder: 0.02, Corrupt: 0.005}},
		{[]string{"--delay", "20ms", "--jitter", "5ms", "--up-delay", "1ms", "--down-reorder-delay", "9ms"},
			impair.Impairment{Delay: ms, Jitter: 5 * ms}, impair.Impairment{Delay: 20 * ms, Jitter: 5 * ms, ReorderDelay: 9 * ms}},
		{[]string{"--rate", "10mbit", "--up-rate", "1MB/s", "--queue", "64KiB"},
			impair.Impairment{Rate: 1e6, Queue: 64 << 10}, impair.Impairment{Rate: 1_250_000, Queue: 64 << 10}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			f := newImpairFlags(fs)
			if _, err := parseInterleaved(fs, tt.args); err != nil {
				t.Fatal(err)
			}
			up, down, err := f.impairments()
			if err != nil {
				t.Fatal(err)
			}
			if up != tt.up || down != tt.down {
				t.Errorf("up %+v down %+v, want %+v and %+v", up, down, tt.up, tt.down)
			}
		})
	}
}

// startImpair runs `netkit impair ARGS` in-process against a UDP echo
// server and returns the first line it prints, and a function that stops
// it (as Ctrl-C does) and returns the rest of its output and its error.
func startImpair(t *testing.T, args ...string) (string, func() (string, error)) {
	t.Helper()
	target, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { target.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := target.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			target.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, append([]string{"impair", "--to", target.LocalAddr().String()}, args...), IO{Stdout: pw, Stderr: io.Discard})
		pw.Close()
	}()
	r := bufio.NewReader(pr)
	first, err := r.ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("impair printed nothing: %v", <-done)
	}
	rest := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(r)
		rest <- string(b)
	}()
	stop := func() (string, error) {
		cancel()
		select {
		case err := <-done:
			return <-rest, err
		case <-time.After(10 * time.Second):
			t.Fatal("impair did not stop within 10s of cancel")
			return "", nil
		}
	}
	t.Cleanup(func() { cancel() })
	return strings.TrimSuffix(first, "\n"), stop
}

func TestImpairJSON(t *testing.T) {
	line, stop := startImpair(t, "--json", "--seed", "7", "--up-dup", "100%")
	var start impairStart
	if err := json.Unmarshal([]byte(line), &start); err != nil {
		t.Fatalf("start line %q: %v", line, err)
	}
	if start.Seed != 7 || start.Up != "dup 100%" || start.Down != "none" || strings.HasSuffix(start.Listen, ":0") {
		t.Errorf("start line %+v", start)
	}
	addr, err := net.ResolveUDPAddr("udp", start.Listen)
	if err != nil {
		t.Fatal(err)
	}
	client, err := net.DialUDP("udp", nil, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	buf := make([]byte, 100)
	for i := range 3 {
		client.Write([]byte{byte(i)})
		// Each datagram reaches the echo server twice, so comes back twice.
		for range 2 {
			client.SetReadDeadline(time.Now().Add(5 * time.Second))
			if n, err := client.Read(buf); err != nil || n != 1 || buf[0] != byte(i) {
				t.Fatalf("datagram %d: got %q, %v", i, buf[:n], err)
			}
		}
	}
	rest, err := stop()
	if err != nil {
		t.Fatalf("impair returned %v after Ctrl-C, want nil", err)
	}
	var st impair.Stats
	if err := json.Unmarshal([]byte(rest), &st); err != nil {
		t.Fatalf("final line %q: %v", rest, err)
	}
	if st.Seed != 7 || st.Up.Received != 3 || st.Up.Forwarded != 6 || st.Up.Duplicated != 3 ||
		st.Down.Received != 6 || st.Down.Forwarded != 6 || st.SessionsOpened != 1 {
		t.Errorf("final counts %+v", st)
	}
}

func TestImpairText(t *testing.T) {
	line, stop := startImpair(t, "--loss", "100%", "--down-loss", "0")
	re := regexp.MustCompile(`^relaying 127\.0\.0\.1:[1-9]\d* -> 127\.0\.0\.1:\d+ \(seed -?\d+; up: loss 100%; down: none\)$`)
	if !re.MatchString(line) {
		t.Fatalf("start line %q does not match %s", line, re)
	}
	rest, err := stop()
	if err != nil {
		t.Fatalf("impair returned %v after Ctrl-C, want nil", err)
	}
	for _, want := range []string{"up", "down", "received", "lost", "rate-dropped", "sessions: 0 opened"} {
		if !strings.Contains(rest, want) {
			t.Errorf("final counts lack %q:\n%s", want, rest)
		}
	}
}
