package cli

import (
	"net"
	"regexp"
	"strings"
	"testing"
)

// udpResponder answers every datagram on 127.0.0.1:0 with answer(datagram).
func udpResponder(t *testing.T, answer func([]byte) []byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if a := answer(buf[:n]); a != nil {
				pc.WriteTo(a, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

// TestEchoUDP is issue 13's item 10: netkit echo --udp sends each line as
// an RFC 862 datagram, prints the echo, and the round trip of each.
func TestEchoUDP(t *testing.T) {
	echo := udpResponder(t, func(b []byte) []byte { return b })
	long := strings.Repeat("x", 3000) + "\n"
	in := "one\ntwo\n" + long + "no newline"
	out, stderr, err := run(t, in, "echo", "--udp", echo)
	if err != nil || out != in {
		t.Fatalf("echo --udp: %q, %v; want the input back", out, err)
	}
	rtt := regexp.MustCompile(`(?m)^\d+ bytes from ` + regexp.QuoteMeta(echo) + `: round trip \d+\.\d{3} ms$`)
	if got := len(rtt.FindAllString(stderr, -1)); got != 6 { // one, two, 3001 bytes in 3, the last
		t.Errorf("%d round-trip lines, want 6:\n%s", got, stderr)
	}
	if !strings.Contains(stderr, "6 datagrams echoed by "+echo+": round trip min ") {
		t.Errorf("no summary:\n%s", stderr)
	}
	if out, stderr, err := run(t, "hi\n", "echo", "--udp", "-q", echo); err != nil || out != "hi\n" || stderr != "" {
		t.Errorf("-q: %q, %q, %v", out, stderr, err)
	}

	silent := udpResponder(t, func([]byte) []byte { return nil })
	if _, _, err := run(t, "hi\n", "echo", "--udp", silent, "--timeout", "300ms"); err == nil || !strings.Contains(err.Error(), "no echo from "+silent+" within 300ms") {
		t.Errorf("silent server: %v", err)
	}
	other := udpResponder(t, func([]byte) []byte { return []byte("something else entirely") })
	if _, _, err := run(t, "hi\n", "echo", "--udp", other); err == nil || !strings.Contains(err.Error(), "is not an RFC 862 echo server") {
		t.Errorf("another server: %v", err)
	}
	if _, _, err := run(t, "hi\n", "echo", "--udp", "--tls", "--insecure", echo); ExitCode(err) != 2 {
		t.Errorf("--udp --tls: %v, want a usage error", err)
	}
}
