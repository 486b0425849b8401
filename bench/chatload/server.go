package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// netkitGreeting is the first line netkit's chat sends (chat.Greeting).
const netkitGreeting = "Welcome to netkit chat. Choose a nickname:\n"

// pprofPrefix starts the line nkprof writes to standard error with the
// address of its pprof handlers.
const pprofPrefix = "nkprof: pprof on "

// server is the chat server under test, a separate process.
type server struct {
	target string
	bin    string
	args   []string
	env    []string
	cmd    *exec.Cmd
	pid    int
	addr   netip.AddrPort
	pprof  string // "http://HOST:PORT" when the binary is nkprof
	tail   *tail
	done   chan struct{} // closed once the process has exited
	err    error         // from Wait, valid after done
}

// moduleRoot returns the directory of the go.mod that go(1) sees from the
// working directory.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the netkit module: run from the repository or pass -bin")
	}
	return filepath.Dir(gomod), nil
}

// buildNetkit builds pkg (relative to the module root) into dir.
func buildNetkit(ctx context.Context, pkg, dir string) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return bin, nil
}

// startProcess starts bin with args in its own process group, which keeps
// a terminal's Ctrl-C away from it so that it stops when chatload says;
// Pdeathsig stops it if chatload dies without cleaning up. Each line of
// standard output goes to onStdout; standard error is kept in s.tail.
func startProcess(target, bin string, args, env []string, onStdout func(string)) (*server, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &server{target: target, bin: bin, args: args, env: env, cmd: cmd, pid: cmd.Process.Pid, tail: newTail(20), done: make(chan struct{})}
	var readers sync.WaitGroup
	readers.Add(2)
	go func() {
		defer readers.Done()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			onStdout(sc.Text())
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		defer readers.Done()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			s.tail.add(sc.Text())
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() {
		readers.Wait()
		s.err = cmd.Wait()
		close(s.done)
	}()
	return s, nil
}

// startNetkit runs `netkit chat serve` (or nkprof with the same
// arguments) and waits at most timeout for its chat TCP address, which
// must be a loopback address.
func startNetkit(ctx context.Context, bin string, extra, env []string, timeout time.Duration) (*server, error) {
	// --idle-timeout: netkit drops a client that has sent nothing for
	// the idle timeout (5 minutes by default), even one that is reading
	// the room, and filling a room of 10,000 takes about that long; the
	// first clients would be dropped before the messages are sent.
	args := []string{"chat", "serve", "--console=false", "--chat-rate", "1000", "--chat-burst", "1000",
		"--max-conns", "-1", "--max-conns-per-ip", "-1", "--listen", "127.0.0.1:0", "--json", "--idle-timeout", "1h"}
	args = append(args, extra...)
	addrc := make(chan netip.AddrPort, 1)
	found := false
	s, err := startProcess(targetNetkit, bin, args, env, func(line string) {
		var ep struct{ Service, Proto, Addr string }
		if found || json.Unmarshal([]byte(line), &ep) != nil || ep.Service != "chat" || ep.Proto != "tcp" {
			return
		}
		if ap, err := netip.ParseAddrPort(ep.Addr); err == nil {
			found = true
			addrc <- ap
		}
	})
	if err != nil {
		return nil, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case s.addr = <-addrc:
	case <-s.done:
		return nil, fmt.Errorf("server exited before listening (%v); its last words:\n%s", s.err, s.tail)
	case <-t.C:
		s.stop(5 * time.Second)
		return nil, fmt.Errorf("server printed no chat tcp address within %v; its last words:\n%s", timeout, s.tail)
	case <-ctx.Done():
		s.stop(5 * time.Second)
		return nil, ctx.Err()
	}
	if !s.addr.Addr().Unmap().IsLoopback() {
		s.stop(5 * time.Second)
		return nil, fmt.Errorf("server listens on %s, not a loopback address", s.addr)
	}
	// nkprof prints its pprof address before netkit starts listening.
	for _, line := range s.tail.all() {
		if u, ok := strings.CutPrefix(line, pprofPrefix); ok {
			s.pprof = strings.TrimSpace(u)
		}
	}
	return s, nil
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
	s, err := startProcess(targetNcat, path, args, nil, func(string) {})
	if err != nil {
		return nil, err
	}
	s.addr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(port))
	deadline := time.Now().Add(timeout)
	for !listening(port) {
		select {
		case <-s.done:
			return nil, fmt.Errorf("ncat exited before listening (%v); its last words:\n%s", s.err, s.tail)
		case <-ctx.Done():
			s.stop(5 * time.Second)
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop(5 * time.Second)
			return nil, fmt.Errorf("ncat not listening on port %d within %v; its last words:\n%s", port, timeout, s.tail)
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

// alive reports whether the process is still running.
func (s *server) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
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

// stop sends SIGTERM, waits up to grace for the process to exit, then
// kills it. It returns how the process ended.
func (s *server) stop(grace time.Duration) string {
	select {
	case <-s.done:
		if s.err != nil {
			return fmt.Sprintf("had exited by itself: %v", s.err)
		}
		return "had exited by itself"
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-s.done:
	case <-t.C:
		s.cmd.Process.Kill()
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			return fmt.Sprintf("did not exit within %v of SIGTERM, nor after SIGKILL", grace)
		}
		return fmt.Sprintf("killed: no exit within %v of SIGTERM", grace)
	}
	if s.err != nil {
		return fmt.Sprintf("exited after SIGTERM: %v", s.err)
	}
	return "exited cleanly after SIGTERM"
}

// tail keeps the last lines a process wrote, for error messages.
type tail struct {
	mu    sync.Mutex
	lines []string
	max   int
}

func newTail(max int) *tail { return &tail{max: max} }

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(line) > 300 {
		line = line[:300] + "…"
	}
	if len(t.lines) == t.max {
		copy(t.lines, t.lines[1:])
		t.lines = t.lines[:t.max-1]
	}
	t.lines = append(t.lines, line)
}

func (t *tail) all() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.lines...)
}

func (t *tail) String() string { return "  " + strings.Join(t.all(), "\n  ") }

// memInfo is a process's memory as /proc/PID/status reports it, in KiB.
type memInfo struct {
	RSS     int64 `json:"vm_rss_kib"`
	HWM     int64 `json:"vm_hwm_kib"` // peak RSS so far
	Anon    int64 `json:"rss_anon_kib"`
	Threads int64 `json:"threads"`
}

func readMem(pid int) (memInfo, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memInfo{}, err
	}
	var m memInfo
	fields := map[string]*int64{"VmRSS:": &m.RSS, "VmHWM:": &m.HWM, "RssAnon:": &m.Anon, "Threads:": &m.Threads}
	for line := range bytes.Lines(b) {
		f := strings.Fields(string(line))
		if len(f) < 2 {
			continue
		}
		if p, ok := fields[f[0]]; ok {
			*p, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	if m.RSS == 0 {
		return m, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return m, nil
}

// clockTick is USER_HZ, the unit of /proc/PID/stat times.
const clockTick = 10 * time.Millisecond

// cpuTime returns the user+system CPU time pid has used.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields start after the last ')'; utime and stime are fields 14 and
	// 15, so 12 and 13 here.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * clockTick
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAvg returns the machine's 1-minute load average.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// machineBusy returns the machine-wide busy CPU time from /proc/stat.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy time.Duration
	// user nice system idle iowait irq softirq steal guest guest_nice
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		switch i {
		case 3, 4, 8, 9: // idle, iowait; guest time is already in user
		default:
			busy += time.Duration(n) * clockTick
		}
	}
	return busy
}
