// Package benchproc is the plumbing netkit's benchmark programs
// (bench/echoload, bench/chatload, bench/udpbench, bench/rpsload) share: a main function
// that maps errors to exit codes, building netkit, running the programs
// under test as separate processes in their own process groups and
// reading their output line by line, finding the address a netkit server
// listens on, stopping them, raising RLIMIT_NOFILE so that both ends can
// hold many sockets, and reading memory, CPU and load figures from /proc.
// It is Linux only, as the programs are.
package benchproc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// errNoModule means go(1) sees no go.mod from the working directory.
var errNoModule = errors.New("not inside the netkit module: run from the repository")

// ModuleRoot returns the directory of the go.mod that go(1) sees from the
// working directory.
func ModuleRoot(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errNoModule
	}
	return filepath.Dir(gomod), nil
}

// Build builds pkg, a path relative to the module root such as
// "./cmd/netkit", into dir/name and returns the binary's path.
func Build(ctx context.Context, pkg, dir, name string) (string, error) {
	root, err := ModuleRoot(ctx)
	if errors.Is(err, errNoModule) {
		// Build is what a program does when no binary was given.
		return "", fmt.Errorf("%w or pass -bin", err)
	}
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, name)
	if err := Go(ctx, root, "build", "-o", bin, pkg); err != nil {
		return "", err
	}
	return bin, nil
}

// Go runs the go command with args in dir, for at most five minutes. Its
// error holds what go printed.
func Go(ctx context.Context, dir string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s in %s: %w\n%s", strings.Join(args, " "), dir, err, out)
	}
	return nil
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

// Process is a program under test or a reference, running as a separate
// process in its own process group. Its standard output and standard error
// are read line by line all the time, so it never blocks on them, and the
// last lines of standard error are kept for error messages.
//
// Set Bin and whichever of Args, Env, Dir, OnStdout and OnStderr are
// needed, then call Start, which sets the other fields; the function
// Start does both for the common case.
type Process struct {
	Bin  string
	Args []string
	Env  []string // added to this process's environment
	Dir  string   // working directory; "" for this process's
	// OnStdout and OnStderr, when not nil, get each line of standard
	// output and of standard error, without its line ending, from one
	// goroutine each. A line longer than 1 MiB comes in pieces.
	OnStdout, OnStderr func(line string)

	Cmd *exec.Cmd
	PID int
	// Tail holds the last lines of standard error, but for the line of
	// nkprof's pprof address.
	Tail *Tail

	done  chan struct{} // closed once the process has exited
	err   error         // from Wait, valid after done
	wall  time.Duration // from start to exit, valid after done
	pprof chan string   // the nkprof address, if it prints one
}

// Start starts bin with args in its own process group; env is added to
// this process's environment, and each line of standard output goes to
// onStdout, which may be nil.
func Start(bin string, args, env []string, onStdout func(string)) (*Process, error) {
	p := &Process{Bin: bin, Args: args, Env: env, OnStdout: onStdout}
	if err := p.Start(); err != nil {
		return nil, err
	}
	return p, nil
}

// Start starts the process in its own process group, which keeps a
// terminal's Ctrl-C away from it so that it stops when the benchmark says,
// and lets Signal and Kill reach every child it forks; Pdeathsig stops it
// if the benchmark dies without cleaning up.
func (p *Process) Start() error {
	cmd := exec.Command(p.Bin, p.Args...)
	cmd.Dir = p.Dir
	cmd.Env = append(os.Environ(), p.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// A child it forked may hold its output open after it has exited:
	// Wait gives up on the output that much later.
	cmd.WaitDelay = 2 * time.Second
	stdout := &lineWriter{line: p.OnStdout}
	stderr := &lineWriter{line: p.stderrLine}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	p.Tail = NewTail(20)
	p.done = make(chan struct{})
	p.pprof = make(chan string, 1)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.Bin, err)
	}
	p.Cmd, p.PID = cmd, cmd.Process.Pid
	go func() {
		// Wait returns once the output has been read, so nothing is
		// writing to the lineWriters any more.
		err := cmd.Wait()
		p.wall = time.Since(start)
		stdout.flush()
		stderr.flush()
		p.err = err
		close(p.done)
	}()
	return nil
}

// stderrLine takes one line of standard error.
func (p *Process) stderrLine(line string) {
	if p.OnStderr != nil {
		p.OnStderr(line)
	}
	if u, ok := strings.CutPrefix(line, PprofPrefix); ok {
		select {
		case p.pprof <- strings.TrimSpace(u):
		default:
		}
		return
	}
	p.Tail.Add(line)
}

// maxLine bounds the lines a lineWriter passes on.
const maxLine = 1 << 20

// lineWriter splits what a process writes into lines for line, which may
// be nil. Its Write is called from one goroutine.
type lineWriter struct {
	line    func(string)
	partial []byte
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.partial = append(w.partial, b...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		switch {
		case i >= 0 && i <= maxLine:
			w.emit(w.partial[:i])
			w.partial = w.partial[i+1:]
		case len(w.partial) > maxLine:
			w.emit(w.partial[:maxLine])
			w.partial = w.partial[maxLine:]
		default:
			return len(b), nil
		}
	}
}

func (w *lineWriter) emit(l []byte) {
	if w.line != nil {
		w.line(strings.TrimRight(string(l), "\r"))
	}
}

// flush passes on a last line that has no newline.
func (w *lineWriter) flush() {
	if len(w.partial) > 0 {
		w.emit(w.partial)
		w.partial = nil
	}
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

// Signal sends sig to the process's group: the process and every child
// it forked.
func (p *Process) Signal(sig syscall.Signal) {
	syscall.Kill(-p.PID, sig)
}

// Kill kills the process group and waits up to 5 seconds for the process
// to exit. It reports whether it did.
func (p *Process) Kill() bool {
	p.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
		return true
	case <-time.After(5 * time.Second):
		return false
	}
}

// Stop sends SIGTERM to the process group, waits up to grace for the
// process to exit, then kills the group. It returns how the process
// ended, in words.
func (p *Process) Stop(grace time.Duration) string {
	if !p.Alive() {
		if p.err != nil {
			return fmt.Sprintf("had exited by itself: %v", p.err)
		}
		return "had exited by itself"
	}
	p.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		if !p.Kill() {
			return fmt.Sprintf("did not exit within %v of SIGTERM, nor after SIGKILL", grace)
		}
		return fmt.Sprintf("killed: no exit within %v of SIGTERM", grace)
	}
	if p.err != nil {
		return fmt.Sprintf("exited after SIGTERM: %v", p.err)
	}
	return "exited cleanly after SIGTERM"
}

// Wall is the time from Start to the process's exit, once it has exited
// (zero before).
func (p *Process) Wall() time.Duration {
	if p.Alive() {
		return 0
	}
	return p.wall
}

// CPUAtExit is the CPU time the process used in all, once it has exited
// (zero before).
func (p *Process) CPUAtExit() time.Duration {
	if p.Alive() || p.Cmd.ProcessState == nil {
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

// PprofAddr returns nkprof's pprof address, waiting at most a second for
// it; "" for a plain netkit. Only the first call gets it.
func (p *Process) PprofAddr() string {
	select {
	case a := <-p.pprof:
		return a
	case <-time.After(time.Second):
		return ""
	}
}
