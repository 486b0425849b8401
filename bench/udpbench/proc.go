package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/netkit/netkit/bench/internal/benchproc"
)

// maxLines bounds what is kept of each output stream of a process.
const maxLines = 10000

// proc is a child process whose output is kept line by line.
type proc struct {
	*benchproc.Process
	name string

	mu     sync.Mutex
	stdout []string
	stderr []string
	more   chan struct{} // has a value once a line arrived since the last look

	// ownHWM is udpbench's own peak RSS (KiB) just after the process
	// started, and hwm the process's VmHWM as last sampled: see peakKiB.
	ownHWM int64
	hwm    atomic.Int64
}

// hwmEvery is how often a running process's VmHWM is read.
const hwmEvery = 50 * time.Millisecond

// keep returns the function that takes p's lines into dst.
func (p *proc) keep(dst *[]string) func(string) {
	return func(l string) {
		p.mu.Lock()
		if len(*dst) < maxLines {
			*dst = append(*dst, l)
		}
		p.mu.Unlock()
		select {
		case p.more <- struct{}{}:
		default:
		}
	}
}

// start runs bin in dir (or the current directory) in its own process
// group, so that a terminal's Ctrl-C reaches udpbench alone and stop can
// end the process with every child it forks.
func (b *bench) start(name, dir, bin string, args ...string) (*proc, error) {
	p := &proc{name: name, more: make(chan struct{}, 1)}
	p.Process = &benchproc.Process{Bin: bin, Args: args, Dir: dir, OnStdout: p.keep(&p.stdout), OnStderr: p.keep(&p.stderr)}
	if err := p.Start(); err != nil {
		return nil, err
	}
	// Start has returned once the child has exec'd, so udpbench's peak
	// now is at least what the child's ru_maxrss inherited.
	if m, err := benchproc.ReadMem(os.Getpid()); err == nil {
		p.ownHWM = m.HWM
	}
	go p.sampleHWM()
	b.mu.Lock()
	b.live[p] = true
	b.mu.Unlock()
	return p, nil
}

// runToEnd runs bin to its end, for at most timeout, and returns the exited
// process for its output.
func (b *bench) runToEnd(ctx context.Context, timeout time.Duration, name, dir, bin string, args ...string) (*proc, error) {
	p, err := b.start(name, dir, bin, args...)
	if err != nil {
		return nil, err
	}
	defer b.stop(p)
	if err := p.wait(ctx, timeout); err != nil {
		return nil, err
	}
	return p, nil
}

// wait waits for the process to exit by itself, at most timeout; after
// that, or when ctx is done, it kills the process group and says so.
func (p *proc) wait(ctx context.Context, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.Done():
		return nil
	case <-t.C:
		p.Kill()
		return fmt.Errorf("%s did not finish within %v, killed%s", p.name, timeout, p.tail())
	case <-ctx.Done():
		p.Kill()
		return ctx.Err()
	}
}

// stop ends p and every process of its group: SIGTERM, up to stopGrace
// to exit (none once udpbench is interrupted), then SIGKILL. It may be
// called more than once.
func (b *bench) stop(p *proc) {
	b.mu.Lock()
	live := b.live[p]
	delete(b.live, p)
	b.mu.Unlock()
	if !live {
		return
	}
	if p.Alive() {
		p.Signal(syscall.SIGTERM)
		t := time.NewTimer(stopGrace)
		select {
		case <-p.Done():
		case <-t.C:
		case <-b.quit:
		}
		t.Stop()
	}
	// Children it forked (in.tftpd forks one per transfer) are in its
	// group, which lives on until the last of them exits.
	p.Kill()
}

// killAll kills every process still running.
func (b *bench) killAll() {
	b.mu.Lock()
	ps := make([]*proc, 0, len(b.live))
	for p := range b.live {
		ps = append(ps, p)
	}
	clear(b.live)
	b.mu.Unlock()
	for _, p := range ps {
		p.Kill()
	}
}

// waitLine returns the first stdout line at or after *from that match
// accepts, and moves *from past it. It gives up after timeout, when ctx is
// done, or when the process has exited without printing one.
func (p *proc) waitLine(ctx context.Context, timeout time.Duration, from *int, match func(string) bool) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	exited := false
	for {
		p.mu.Lock()
		lines := p.stdout[*from:]
		p.mu.Unlock()
		for i, l := range lines {
			if match(l) {
				*from += i + 1
				return l, nil
			}
		}
		*from += len(lines)
		if exited {
			return "", fmt.Errorf("%s exited (%v) without the expected line%s", p.name, p.Err(), p.tail())
		}
		select {
		case <-p.more:
		case <-p.Done():
			exited = true
		case <-t.C:
			return "", fmt.Errorf("%s: no expected line within %v%s", p.name, timeout, p.tail())
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// lines returns the stdout lines so far.
func (p *proc) lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.stdout)
}

// all returns the stdout and stderr lines so far.
func (p *proc) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Concat(p.stdout, p.stderr)
}

// warnings returns the "warning:" lines of stderr.
func (p *proc) warnings() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var w []string
	for _, l := range p.stderr {
		if strings.HasPrefix(l, "warning:") {
			w = append(w, p.name+": "+l)
		}
	}
	return w
}

// tail returns the last lines of stderr, for an error message.
func (p *proc) tail() string {
	l := p.Tail.Lines()
	l = l[max(0, len(l)-8):]
	if len(l) == 0 {
		return ""
	}
	return "; its stderr ends:\n    " + strings.Join(l, "\n    ")
}

// sampleHWM reads the process's VmHWM, its own peak RSS so far, until it
// exits. Once it has exited there is none to read: its memory is gone.
func (p *proc) sampleHWM() {
	t := time.NewTicker(hwmEvery)
	defer t.Stop()
	for {
		if m, err := benchproc.ReadMem(p.PID); err == nil && m.HWM > p.hwm.Load() {
			p.hwm.Store(m.HWM)
		}
		select {
		case <-t.C:
		case <-p.Done():
			return
		}
	}
}

// peakKiB chooses a child's peak RSS from its ru_maxrss, udpbench's own
// peak RSS when it started (ownHWM) and its VmHWM as last sampled. Linux
// starts a child's ru_maxrss at the peak of the memory it replaced at
// exec, and Go's os/exec starts children with vfork, sharing udpbench's:
// a child's ru_maxrss is never below udpbench's own peak. Above it,
// ru_maxrss is the child's own and exact; at or below, the child's own
// peak is no more, and the sampled VmHWM (at most hwmEvery old at its
// exit) is the figure, sampled then true.
func peakKiB(maxrss, ownHWM, sampled int64) (kib int64, wasSampled bool) {
	if maxrss > ownHWM || sampled <= 0 {
		return maxrss, false
	}
	return min(sampled, maxrss), true
}

// usage returns the peak RSS in KiB (see peakKiB) and the user+system CPU
// seconds of an exited process.
func usage(p *proc) (maxRSSKiB int64, cpu float64) {
	kib, _, cpu := usageSampled(p)
	return kib, cpu
}

// usageSampled is usage, also saying whether the peak RSS was sampled
// rather than the exact ru_maxrss.
func usageSampled(p *proc) (maxRSSKiB int64, sampled bool, cpu float64) {
	if p.Alive() || p.Cmd.ProcessState == nil {
		return 0, false, 0
	}
	ru, ok := p.Cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, false, 0
	}
	kib, sampled := peakKiB(ru.Maxrss, p.ownHWM, p.hwm.Load())
	return kib, sampled, p.CPUAtExit().Seconds()
}

// loadAvg returns the 1, 5 and 15 minute load averages, as uptime shows
// them.
func loadAvg() string {
	l := benchproc.LoadAvgs()
	if l == nil {
		return "?"
	}
	return strings.Join(l, " ")
}

// rcvbufErrors returns the system-wide Udp RcvbufErrors counter.
func rcvbufErrors() (uint64, error) {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0, err
	}
	return parseSNMP(string(b), "Udp", "RcvbufErrors")
}

// parseSNMP reads one counter of /proc/net/snmp, where each protocol has
// a line of names followed by a line of values.
func parseSNMP(text, proto, name string) (uint64, error) {
	var names []string
	for l := range strings.SplitSeq(text, "\n") {
		rest, ok := strings.CutPrefix(l, proto+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if names == nil {
			names = f
			continue
		}
		i := slices.Index(names, name)
		if i < 0 || i >= len(f) {
			break
		}
		return strconv.ParseUint(f[i], 10, 64)
	}
	return 0, fmt.Errorf("no %s %s in /proc/net/snmp", proto, name)
}
