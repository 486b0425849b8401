package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/netkit/netkit/bench/internal/benchproc"
)

// netkitGreeting is the first line netkit's chat sends (chat.Greeting).
const netkitGreeting = "Welcome to netkit chat. Choose a nickname:\n"

// server is the chat server under test, a separate process.
type server struct {
	*benchproc.Process
	target string
	addr   netip.AddrPort
	pprof  string // "http://HOST:PORT" when the binary is nkprof
}

// startNetkit runs `netkit chat serve` (or nkprof with the same
// arguments) and waits at most timeout for its chat TCP address, which
// must be a loopback address.
func startNetkit(ctx context.Context, bin string, extra, env []string, timeout time.Duration) (*server, error) {
	// --idle-timeout: netkit drops a client that has sent nothing for
	// the idle timeout (5 minutes by default), even one that is reading
	// the room; a slow run (a big room, a busy machine, a low -dial-rate)
	// would lose its first clients before the messages are sent.
	args := []string{"chat", "serve", "--console=false", "--chat-rate", "1000", "--chat-burst", "1000",
		"--max-conns", "-1", "--max-conns-per-ip", "-1", "--listen", "127.0.0.1:0", "--json", "--idle-timeout", "1h"}
	args = append(args, extra...)
	p, addr, pprof, err := benchproc.StartNetkit(ctx, bin, args, env, "chat", timeout)
	if err != nil {
		return nil, err
	}
	return &server{Process: p, target: targetNetkit, addr: addr, pprof: pprof}, nil
}

// startNcat runs `ncat -l --chat --max-conns N` on a free loopback port
// and waits at most timeout for it to listen. ncat prints nothing when
// ready, so the port is picked here and /proc/net/tcp is polled.
func startNcat(ctx context.Context, bin string, maxConns int, timeout time.Duration) (*server, error) {
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("%s not found (apt-get install -y ncat): %w", bin, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	args := []string{"-l", "--chat", "--max-conns", strconv.Itoa(maxConns), "127.0.0.1", strconv.Itoa(port)}
	p, err := benchproc.Start(path, args, nil, nil)
	if err != nil {
		return nil, err
	}
	s := &server{Process: p, target: targetNcat, addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(port))}
	deadline := time.Now().Add(timeout)
	for !listening(port) {
		select {
		case <-s.Done():
			return nil, fmt.Errorf("ncat exited before listening (%v); its last words:\n%s", s.Err(), s.Tail)
		case <-ctx.Done():
			s.Stop(5 * time.Second)
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop(5 * time.Second)
			return nil, fmt.Errorf("ncat not listening on port %d within %v; its last words:\n%s", port, timeout, s.Tail)
		}
	}
	return s, nil
}

// listening reports whether a TCP socket on 127.0.0.1:port is listening.
func listening(port int) bool {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return false
	}
	want := fmt.Sprintf("0100007F:%04X", port)
	for line := range bytes.Lines(b) {
		f := strings.Fields(string(line))
		// sl local_address rem_address st ...; st 0A is LISTEN.
		if len(f) > 3 && f[1] == want && f[3] == "0A" {
			return true
		}
	}
	return false
}

// probe checks that the server still takes a new client: it connects and,
// for netkit, reads the greeting. It does not join, so nobody is told.
func (s *server) probe(timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", s.addr.String(), timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	if s.target != targetNetkit {
		return nil
	}
	c.SetReadDeadline(time.Now().Add(timeout))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading the greeting: %w", err)
	}
	if line != netkitGreeting {
		return fmt.Errorf("greeting %q", line)
	}
	return nil
}
