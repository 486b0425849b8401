// Package benchproc is the process plumbing netkit's load generators
// (bench/echoload, bench/chatload) share: building netkit, running the
// server under test as a separate process and finding the address it
// listens on, stopping it, raising RLIMIT_NOFILE so that both ends can hold
// many sockets, and reading memory and CPU figures from /proc. It is Linux
// only, as the generators are.
package benchproc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// PprofPrefix starts the line that nkprof (netkit plus the net/http/pprof
// handlers, for profiling a run) writes to standard error with the
// address of its handlers.
const PprofPrefix = "nkprof: pprof on "

// ModuleRoot returns the directory of the go.mod that go(1) sees from the
// working directory.
func ModuleRoot(ctx context.Context) (string, error) {
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

// Build builds pkg, a path relative to the module root such as
// "./cmd/netkit", into dir/name and returns the binary's path.
func Build(ctx context.Context, pkg, dir, name string) (string, error) {
	root, err := ModuleRoot(ctx)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, name)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return bin, nil
}

// RaiseNoFile lifts RLIMIT_NOFILE to the hard limit, and above it when the
// process may (CAP_SYS_RESOURCE), so that this process and the servers it
// starts, which inherit the limit, can each hold need descriptors. It
// returns the limit, and an error saying what to do when it is below need;
// what is for the message ("clients", "connections").
func RaiseNoFile(need uint64, what string) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Max < need {
		// Only with CAP_SYS_RESOURCE; otherwise keep the hard limit.
		want := syscall.Rlimit{Cur: need, Max: need}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) == nil {
			lim = want
		}
	}
	lim.Cur = lim.Max
	// Setting it explicitly, even unchanged, makes a child inherit it: Go
	// restores the original soft limit in children otherwise.
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < need {
		return lim.Cur, fmt.Errorf("open file limit is %d, need %d: raise it (ulimit -Hn, as root) or use fewer %s", lim.Cur, need, what)
	}
	return lim.Cur, nil
}

// Process is a server under test, running as a separate process in its own
// process group. Its standard error is read all the time, so its logging
// never blocks, and its last lines are kept for error messages.
type Process struct {
	Bin  string
	Args []string
	Env  []string // added to this process's environment
	Cmd  *exec.Cmd
	PID  int
	// Tail holds the last lines of standard error.
	Tail *Tail

	done  chan struct{} // closed once the process has exited
	err   error         // from Wait, valid after done
	pprof chan string   // the nkprof address, if it prints one
}

// Start starts bin with args in its own process group, which keeps a
// terminal's Ctrl-C away from it so that it stops when the generator says;
// Pdeathsig stops it if the generator dies without cleaning up. Each line
// of standard output goes to onStdout, which may be nil.
func Start(bin string, args, env []string, onStdout func(string)) (*Process, error) {
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
	p := &Process{Bin: bin, Args: args, Env: env, Cmd: cmd, PID: cmd.Process.Pid, Tail: NewTail(20),
		done: make(chan struct{}), pprof: make(chan string, 1)}
	var readers sync.WaitGroup
	readers.Add(2)
	go func() {
		defer readers.Done()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if onStdout != nil {
				onStdout(sc.Text())
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
			if u, ok := strings.CutPrefix(line, PprofPrefix); ok {
				select {
				case p.pprof <- strings.TrimSpace(u):
				default:
				}
				continue
			}
			p.Tail.Add(line)
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() {
		readers.Wait()
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Endpoint is one line of `netkit ... serve --json`: a service listening.
type Endpoint struct {
	Service string `json:"service"`
	Proto   string `json:"proto"`
	Addr    string `json:"addr"`
}

// StartNetkit runs `netkit ARGS` (or nkprof with the same arguments),
// where ARGS include --json, and waits at most timeout for the line saying
// where service listens on TCP, which must be a loopback address. It
// returns the process, the address, and nkprof's pprof address ("" for
// plain netkit).
func StartNetkit(ctx context.Context, bin string, args, env []string, service string, timeout time.Duration) (*Process, netip.AddrPort, string, error) {
	addrc := make(chan netip.AddrPort, 1)
	found := false
	p, err := Start(bin, args, env, func(line string) {
		var ep Endpoint
		if found || json.Unmarshal([]byte(line), &ep) != nil || ep.Service != service || ep.Proto != "tcp" {
			return
		}
		if ap, err := netip.ParseAddrPort(ep.Addr); err == nil {
			found = true
			addrc <- ap
		}
	})
	if err != nil {
		return nil, netip.AddrPort{}, "", err
	}
	var addr netip.AddrPort
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case addr = <-addrc:
	case <-p.done:
		return nil, addr, "", fmt.Errorf("server exited before listening (%v); its last words:\n%s", p.err, p.Tail)
	case <-t.C:
		p.Stop(5 * time.Second)
		return nil, addr, "", fmt.Errorf("server printed no %s tcp address within %v; its last words:\n%s", service, timeout, p.Tail)
	case <-ctx.Done():
		p.Stop(5 * time.Second)
		return nil, addr, "", ctx.Err()
	}
	if !addr.Addr().Unmap().IsLoopback() {
		p.Stop(5 * time.Second)
		return nil, addr, "", fmt.Errorf("server listens on %s, not a loopback address", addr)
	}
	// nkprof prints its pprof address before netkit starts listening, so
	// it is there by now if it is coming at all: standard error is read
	// apart from standard output, so allow a moment.
	var pprof string
	select {
	case pprof = <-p.pprof:
	case <-time.After(100 * time.Millisecond):
	}
	return p, addr, pprof, nil
}

// Alive reports whether the process is still running.
func (p *Process) Alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Done is closed once the process has exited; Err then says how.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err returns what Wait returned, once Done is closed.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Stop sends SIGTERM, waits up to grace for the process to exit, then
// kills it. It returns how the process ended, in words.
func (p *Process) Stop(grace time.Duration) string {
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Sprintf("had exited by itself: %v", p.err)
		}
		return "had exited by itself"
	default:
	}
	p.Cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		p.Cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			return fmt.Sprintf("did not exit within %v of SIGTERM, nor after SIGKILL", grace)
		}
		return fmt.Sprintf("killed: no exit within %v of SIGTERM", grace)
	}
	if p.err != nil {
		return fmt.Sprintf("exited after SIGTERM: %v", p.err)
	}
	return "exited cleanly after SIGTERM"
}

// CPUAtExit is the CPU time the process used in all, once it has exited
// (zero before).
func (p *Process) CPUAtExit() time.Duration {
	if p.Cmd.ProcessState == nil {
		return 0
	}
	return p.Cmd.ProcessState.UserTime() + p.Cmd.ProcessState.SystemTime()
}

// Tail keeps the last lines a process wrote, for error messages. It is
// safe for concurrent use.
type Tail struct {
	mu    sync.Mutex
	lines []string
	max   int
}

// NewTail returns a Tail keeping max lines.
func NewTail(max int) *Tail { return &Tail{max: max} }

// Add keeps line, cut to 300 bytes, dropping the oldest past max.
func (t *Tail) Add(line string) {
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

// Lines returns the lines kept, oldest first.
func (t *Tail) Lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.lines...)
}

// String returns the lines kept, indented, one a line.
func (t *Tail) String() string { return "  " + strings.Join(t.Lines(), "\n  ") }
