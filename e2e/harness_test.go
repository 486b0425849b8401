package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// netkitPath is the binary under test, built once by TestMain.
var netkitPath string

// Bounds on everything a test waits for. They are generous because CI runs
// on two cores with the race detector, where a process can take seconds to
// start; a test that passes never waits for them.
const (
	buildTimeout = 10 * time.Minute
	startTimeout = 60 * time.Second // for a server to print its address table
	runTimeout   = 30 * time.Second // for one client or peer to finish
	lineTimeout  = 20 * time.Second // for an expected line of output
	stopTimeout  = 15 * time.Second // for a process to exit once told to
)

// clockTolerance is how far a time a server reports may be from the test's
// clock. They share one clock, so this only covers RFC 868's whole seconds
// and a slow machine.
const clockTolerance = 5 * time.Second

// maxLog bounds what is kept of one stream of one process.
const maxLog = 4 << 20

// welcome is the line the echo service sends first.
const welcome = "netkit echo: everything you send comes back"

// Endpoints of `netkit serve`, as "service/proto" keys of the address table.
var (
	plainEndpoints = []string{"web/http", "echo/tcp", "echo/udp", "hello/tcp", "time/tcp", "daytime/tcp", "rfc868/tcp", "rfc868/udp", "sntp/udp", "rps/tcp"}
	tlsEndpoints   = []string{"web/https", "echo/tls", "echo/udp", "hello/tls", "time/tls", "daytime/tcp", "rfc868/tcp", "rfc868/udp", "sntp/udp", "rps/tls"}
)

// fingerprintKey, among the endpoints a test waits for, waits for the line
// with the TLS certificate's fingerprint.
const fingerprintKey = "fingerprint"

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "netkit-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	netkitPath = filepath.Join(dir, "netkit")
	if err := buildNetkit(netkitPath); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building netkit: %v\n", err)
		return 1
	}
	return m.Run()
}

// buildNetkit builds cmd/netkit into out, with the race detector when the
// tests have it, so that races in the servers fail the tests too.
func buildNetkit(out string) error {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "github.com/netkit/netkit/cmd/netkit")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// peer returns the path of the program name, which the test drives netkit
// with. A missing peer skips the test, or fails it under CI.
func peer(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		peerMissing(t, fmt.Sprintf("%s is not installed (%v); .ci/run installs it", name, err))
	}
	return path
}

func peerMissing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("missing peer under CI: %s", why)
	}
	t.Skipf("skipping: %s", why)
}

// netcatHelp is nc's usage text, read once: only netcat-openbsd has the -N
// and -d flags the tests use.
var netcatHelp = sync.OnceValue(func() string {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "nc", "-h").CombinedOutput()
	return string(out)
})

// netcat returns the path of netcat-openbsd.
func netcat(t *testing.T) string {
	t.Helper()
	path := peer(t, "nc")
	if !strings.Contains(netcatHelp(), "-N") {
		peerMissing(t, "nc is not netcat-openbsd (no -N flag); install netcat-openbsd")
	}
	return path
}

// command is a program for a test to run: netkit or a peer.
type command struct {
	path string
	args []string
	// env is added to the test's environment.
	env []string
	// stdin is what the program reads, unless pipeStdin is set: then the
	// test writes to proc.stdin and closes it.
	stdin     string
	pipeStdin bool
	// timeout bounds run; zero means runTimeout.
	timeout time.Duration
}

// netkitCmd is netkit with args. Its data directory defaults to a fresh one,
// so that no test touches the home directory.
func netkitCmd(t *testing.T, args ...string) command {
	env := []string{"XDG_DATA_HOME=" + t.TempDir()}
	if raceEnabled && os.Getenv("GORACE") == "" {
		// The race runtime otherwise sleeps a second at exit, which every
		// client run would pay.
		env = append(env, "GORACE=atexit_sleep_ms=50")
	}
	return command{path: netkitPath, args: args, env: env}
}

func (c command) String() string {
	return strings.Join(append([]string{filepath.Base(c.path)}, c.args...), " ")
}

// proc is a running program. Its output is collected as it comes, for the
// test to wait on.
type proc struct {
	t       *testing.T
	c       command
	cmd     *exec.Cmd
	stdin   io.WriteCloser // with pipeStdin
	stdout  *lineLog
	stderr  *lineLog
	started time.Time
	exited  chan struct{} // closed when Wait returns
}

// start starts c. When the test ends, the program gets SIGTERM, then
// SIGKILL if it is still there stopTimeout later.
func start(t *testing.T, c command) *proc {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), c.path, c.args...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopTimeout
	p := &proc{t: t, c: c, cmd: cmd, stdout: newLineLog(), stderr: newLineLog(), exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if c.pipeStdin {
		w, err := cmd.StdinPipe()
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		p.stdin = w
	} else {
		cmd.Stdin = strings.NewReader(c.stdin)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", c, err)
	}
	p.started = time.Now()
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop()
		p.checkRace()
	})
	return p
}

// wait waits at most d for the program to exit and returns its exit
// status, or false if it is still running.
func (p *proc) wait(d time.Duration) (int, bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode(), true
	case <-timer.C:
		return 0, false
	}
}

// signal sends sig to the program.
func (p *proc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %s: %v", p.c, err)
	}
}

// stop ends the program: SIGTERM, then SIGKILL.
func (p *proc) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if _, ok := p.wait(stopTimeout); !ok {
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// checkRace fails the test if netkit, built with -race, reported a race.
func (p *proc) checkRace() {
	if p.c.path == netkitPath && strings.Contains(p.stderr.String(), "WARNING: DATA RACE") {
		p.t.Errorf("%s reported a data race:\n%s", p.c, p.stderr)
	}
}

// waitLine waits for the program to write a line to stdout for which match
// returns true, and returns it. It fails t if the program exits first or
// lineTimeout passes.
func (p *proc) waitLine(t *testing.T, what string, match func(string) bool) string {
	t.Helper()
	line, err := p.stdout.wait(p.exited, lineTimeout, match)
	if err != nil {
		t.Fatalf("%s: waiting for %s: %v\nstdout: %q\nstderr: %q", p.c, what, err, p.stdout, p.stderr)
	}
	return line
}

// lineLog keeps what a program writes to one stream, by lines, so that a
// test can wait for a line while the program runs. Write never blocks, so a
// program is never held up by a test that stopped reading.
type lineLog struct {
	mu      sync.Mutex
	data    []byte   // everything written, up to maxLog bytes
	lines   []string // the complete lines in data, without "\n"
	next    int      // where in data the partial last line starts
	changed chan struct{}
}

func newLineLog() *lineLog { return &lineLog{changed: make(chan struct{}, 1)} }

func (l *lineLog) Write(b []byte) (int, error) {
	n := len(b)
	l.mu.Lock()
	b = b[:min(len(b), maxLog-len(l.data))]
	l.data = append(l.data, b...)
	for {
		i := bytes.IndexByte(l.data[l.next:], '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, string(l.data[l.next:l.next+i]))
		l.next += i + 1
	}
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
	return n, nil
}

// String returns everything written so far.
func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.data)
}

// linesFrom returns the complete lines from the i'th on.
func (l *lineLog) linesFrom(i int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines[min(i, len(l.lines)):])
}

// wait returns the first line, in order, for which match returns true. It
// gives up when exited is closed and no such line was written, or after d.
// Only one goroutine may wait on a lineLog at a time.
func (l *lineLog) wait(exited <-chan struct{}, d time.Duration, match func(string) bool) (string, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	seen := 0
	check := func() (string, bool) {
		lines := l.linesFrom(seen)
		seen += len(lines)
		for _, line := range lines {
			if match(line) {
				return line, true
			}
		}
		return "", false
	}
	for {
		if line, ok := check(); ok {
			return line, nil
		}
		select {
		case <-l.changed:
		case <-exited:
			// Wait has copied all the output by now.
			if line, ok := check(); ok {
				return line, nil
			}
			return "", fmt.Errorf("it exited without writing it")
		case <-timer.C:
			return "", fmt.Errorf("not written within %v", d)
		}
	}
}

// result is what a program that ran to its end did.
type result struct {
	c              command
	code           int // exit status; -1 for a signal
	timedOut       bool
	stdout, stderr string
	elapsed        time.Duration
}

// run runs c to its end, or kills it after its timeout.
func run(t *testing.T, c command) result {
	t.Helper()
	d := c.timeout
	if d == 0 {
		d = runTimeout
	}
	p := start(t, c)
	code, ok := p.wait(d)
	if !ok {
		p.stop()
	}
	return result{c: c, code: code, timedOut: !ok, stdout: p.stdout.String(), stderr: p.stderr.String(), elapsed: time.Since(p.started)}
}

// netkit runs netkit with args, reading stdin.
func netkit(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	c := netkitCmd(t, args...)
	c.stdin = stdin
	return run(t, c)
}

// wantCode fails the test unless the program exited with status code.
func (r result) wantCode(t *testing.T, code int) {
	t.Helper()
	switch {
	case r.timedOut:
		t.Fatalf("%s did not finish within %v\nstdout: %q\nstderr: %q", r.c, r.elapsed.Round(time.Millisecond), clip(r.stdout), clip(r.stderr))
	case r.code != code:
		t.Fatalf("%s: exit status %d, want %d\nstdout: %q\nstderr: %q", r.c, r.code, code, clip(r.stdout), clip(r.stderr))
	}
}

// clip shortens s for a failure message.
func clip(s string) string {
	const max = 2000
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// server is a running netkit server whose address table has been read.
type server struct {
	*proc
	dataDir     string
	addrs       map[string]string // "service/proto" -> "127.0.0.1:port"
	fingerprint string            // from "TLS: SHA-256 fingerprint ..."
}

// startServer starts netkit with args (a serve command, with --json or
// not) and dataDir as its data directory (a new one if ""), and waits for
// its address table to list every key in want.
func startServer(t *testing.T, dataDir string, want []string, args ...string) *server {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	p := start(t, netkitCmd(t, append(slices.Clone(args), "--data", dataDir)...))
	s := &server{proc: p, dataDir: dataDir, addrs: map[string]string{}}
	missing := slices.Clone(want)
	_, err := p.stdout.wait(p.exited, startTimeout, func(line string) bool {
		s.parseTableLine(line)
		missing = slices.DeleteFunc(missing, s.has)
		return len(missing) == 0
	})
	if err != nil {
		t.Fatalf("%s: reading the address table: %v; missing %v\nstdout: %q\nstderr: %q", p.c, err, missing, p.stdout, p.stderr)
	}
	return s
}

// parseTableLine reads one line of the address table, as JSON or as text.
func (s *server) parseTableLine(line string) {
	if fp, ok := strings.CutPrefix(line, "TLS: SHA-256 fingerprint "); ok {
		s.fingerprint = strings.TrimSpace(fp)
		return
	}
	if strings.HasPrefix(line, "{") {
		var ep struct {
			Service string `json:"service"`
			Proto   string `json:"proto"`
			Addr    string `json:"addr"`
		}
		if json.Unmarshal([]byte(line), &ep) == nil && ep.Service != "" {
			s.addrs[ep.Service+"/"+ep.Proto] = ep.Addr
		}
		return
	}
	if f := strings.Fields(line); len(f) == 3 && f[0] != "SERVICE" && strings.Contains(f[2], ":") {
		s.addrs[f[0]+"/"+f[1]] = f[2]
	}
}

func (s *server) has(key string) bool {
	if key == fingerprintKey {
		return s.fingerprint != ""
	}
	_, ok := s.addrs[key]
	return ok
}

// addr returns the address of the endpoint key ("echo/tcp").
func (s *server) addr(t *testing.T, key string) string {
	t.Helper()
	a, ok := s.addrs[key]
	if !ok {
		t.Fatalf("%s has no endpoint %s: %v", s.c, key, s.addrs)
	}
	return a
}

// hostPort returns the host and port of the endpoint key, as nc and rdate
// take them.
func (s *server) hostPort(t *testing.T, key string) (host, port string) {
	t.Helper()
	host, port, err := net.SplitHostPort(s.addr(t, key))
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}

// certFile and keyFile are where netkit keeps its self-signed certificate.
func (s *server) certFile() string { return filepath.Join(s.dataDir, "tls", "cert.pem") }
func (s *server) keyFile() string  { return filepath.Join(s.dataDir, "tls", "key.pem") }

// checkNear fails the test unless got is within clockTolerance of now.
func checkNear(t *testing.T, what string, got time.Time) {
	t.Helper()
	if d := time.Since(got); d.Abs() > clockTolerance {
		t.Errorf("%s = %v, %v away from now (%v); want within %v", what, got, d.Round(time.Millisecond), time.Now().UTC(), clockTolerance)
	}
}

// oneLine returns s without its final newline, failing the test unless s is
// exactly one line.
func oneLine(t *testing.T, what, s string) string {
	t.Helper()
	line, ok := strings.CutSuffix(s, "\n")
	if !ok || strings.Contains(line, "\n") {
		t.Fatalf("%s = %q, want exactly one line", what, clip(s))
	}
	return line
}

// firstDiff describes where got and want first differ, for binary data.
func firstDiff(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("got %d bytes, want %d; first difference at byte %d: got %q, want %q",
		len(got), len(want), i, clip(got[i:min(len(got), i+16)]), clip(want[i:min(len(want), i+16)]))
}
