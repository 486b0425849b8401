package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// pprofPrefix starts the line nkprof writes to standard error with the
// address of its pprof handlers.
const pprofPrefix = "nkprof: pprof on "

// server is the netkit process under test.
type server struct {
	cmd   *exec.Cmd
	pid   int
	addr  netip.AddrPort // the echo service's TCP address
	pprof string         // "http://HOST:PORT" when the binary is nkprof
	tail  *tail
	done  chan struct{} // closed once the process has exited
	err   error         // from Wait, valid after done
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

// buildServer builds pkg (a path relative to the module root) into dir and
// returns the binary's path.
func buildServer(ctx context.Context, pkg, dir string) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "netkit")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return bin, nil
}

// startServer runs bin with args and waits at most timeout for it to print
// its echo TCP address, which must be a loopback address.
func startServer(ctx context.Context, bin string, args, env []string, timeout time.Duration) (*server, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	// Its own process group keeps a terminal's Ctrl-C away from it, so that
	// it stops when and how echoload says; Pdeathsig stops it if echoload
	// dies without cleaning up.
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
		return nil, fmt.Errorf("start server: %w", err)
	}
	s := &server{cmd: cmd, pid: cmd.Process.Pid, tail: newTail(20), done: make(chan struct{})}

	addrc := make(chan netip.AddrPort, 1)
	pprofc := make(chan string, 1)
	var readers sync.WaitGroup
	readers.Add(2)
	go func() {
		defer readers.Done()
		sc := bufio.NewScanner(stdout)
		found := false
		for sc.Scan() {
			var ep struct{ Service, Proto, Addr string }
			if found || json.Unmarshal(sc.Bytes(), &ep) != nil {
				continue
			}
			if ep.Service == "echo" && ep.Proto == "tcp" {
				if ap, err := netip.ParseAddrPort(ep.Addr); err == nil {
					found = true
					addrc <- ap
				}
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		defer readers.Done()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if u, ok := strings.CutPrefix(line, pprofPrefix); ok {
				select {
				case pprofc <- strings.TrimSpace(u):
				default:
				}
				continue
			}
			s.tail.add(line)
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() {
		readers.Wait()
		s.err = cmd.Wait()
		close(s.done)
	}()

	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case s.addr = <-addrc:
	case <-s.done:
		return nil, fmt.Errorf("server exited before listening (%v); its last words:\n%s", s.err, s.tail)
	case <-t.C:
		s.stop(5 * time.Second)
		return nil, fmt.Errorf("server printed no echo tcp address within %v; its last words:\n%s", timeout, s.tail)
	case <-ctx.Done():
		s.stop(5 * time.Second)
		return nil, ctx.Err()
	}
	if !s.addr.Addr().Unmap().IsLoopback() {
		s.stop(5 * time.Second)
		return nil, fmt.Errorf("server listens on %s, not a loopback address", s.addr)
	}
	// nkprof prints its pprof address before netkit starts listening, so it
	// is already in the channel if it is coming at all.
	select {
	case s.pprof = <-pprofc:
	case <-time.After(100 * time.Millisecond):
	}
	return s, nil
}

// stop sends SIGTERM, waits up to grace for the process to exit, then
// kills it. It returns how the process ended.
func (s *server) stop(grace time.Duration) string {
	select {
	case <-s.done:
	default:
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
	total int
}

func newTail(max int) *tail { return &tail{max: max} }

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total++
	if len(line) > 300 {
		line = line[:300] + "…"
	}
	if len(t.lines) == t.max {
		copy(t.lines, t.lines[1:])
		t.lines = t.lines[:t.max-1]
	}
	t.lines = append(t.lines, line)
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return "  " + strings.Join(t.lines, "\n  ")
}

// memInfo is a process's memory as /proc/PID/status reports it, in KiB.
type memInfo struct {
	RSS     int64 `json:"vm_rss_kib"`
	Anon    int64 `json:"rss_anon_kib"`
	File    int64 `json:"rss_file_kib"`
	Threads int64 `json:"threads"`
}

func readMem(pid int) (memInfo, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memInfo{}, err
	}
	var m memInfo
	fields := map[string]*int64{"VmRSS:": &m.RSS, "RssAnon:": &m.Anon, "RssFile:": &m.File, "Threads:": &m.Threads}
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

// clockTick is USER_HZ, the unit of /proc/PID/stat times: 100 on every
// Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// cpuTime returns the user+system CPU time pid has used.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces and parentheses; fields start after
	// the last ')'. utime and stime are fields 14 and 15, so 12 and 13 here.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(u+s) * clockTick, nil
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// tcpKernelMem returns the pages the kernel holds for TCP socket buffers,
// machine-wide, from /proc/net/sockstat, in KiB.
func tcpKernelMem() int64 {
	b, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		return -1
	}
	for line := range bytes.Lines(b) {
		f := strings.Fields(string(line))
		if len(f) == 0 || f[0] != "TCP:" {
			continue
		}
		for i := 1; i+1 < len(f); i += 2 {
			if f[i] == "mem" {
				pages, _ := strconv.ParseInt(f[i+1], 10, 64)
				return pages * int64(os.Getpagesize()) / 1024
			}
		}
	}
	return -1
}

// machineCPU is the machine-wide CPU time from /proc/stat's "cpu" line.
type machineCPU struct {
	busy, softirq time.Duration
}

func readMachineCPU() machineCPU {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineCPU{}
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 8 || f[0] != "cpu" {
		return machineCPU{}
	}
	var m machineCPU
	// user nice system idle iowait irq softirq steal ...
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		d := time.Duration(n) * clockTick
		switch i {
		case 3, 4: // idle, iowait
		case 6:
			m.softirq += d
			m.busy += d
		case 8, 9: // guest time is already in user
		default:
			m.busy += d
		}
	}
	return m
}
