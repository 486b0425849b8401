// Command echoload measures how netkit's echo server holds many concurrent
// connections: it starts `netkit echo serve` as a separate process, opens N
// connections to it over loopback, reads the server's resident memory from
// /proc before and after, then drives request/response round trips over
// every connection and reports round-trip percentiles. It checks the
// requirement "under 20 KB per idle connection and p99 under 10 ms at 10,000
// connections on a 2-core machine". See README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/netkit/netkit/bench/internal/benchproc"
)

func main() { benchproc.Main("echoload", run) }

// errMismatch means an echo came back different from what was sent.
var errMismatch = errors.New("reply differs from request")

// options are the command-line flags.
type options struct {
	conns      int
	workers    int
	rate       float64
	duration   time.Duration
	maxRTTs    int64
	size       int
	dialConc   int
	srcIPs     int
	timeout    time.Duration
	settle     time.Duration
	bin        string
	serverArgs string
	serverEnv  multiFlag
	listenIP   string
	grace      time.Duration
	pprofDir   string
	asJSON     bool
	procs      int
	goalKiB    float64
	goalP99    time.Duration
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	var o options
	fs := flag.NewFlagSet("echoload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.conns, "conns", 10000, "concurrent connections to open and hold")
	fs.IntVar(&o.workers, "workers", 64, "closed loop: round trips in flight at once; with -rate: the most in flight")
	fs.Float64Var(&o.rate, "rate", 0, "offer this many round trips per second in total, spread over every connection (0: closed loop with -workers)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of the load phase")
	fs.Int64Var(&o.maxRTTs, "max-rtts", 50_000_000, "stop the load phase after this many round trips")
	fs.IntVar(&o.size, "size", 32, "message size in `bytes`")
	fs.IntVar(&o.dialConc, "dial-concurrency", 128, "connections being opened at once")
	fs.IntVar(&o.srcIPs, "src-ips", 0, "spread connections over this many source addresses 127.0.0.2, 127.0.0.3, ... (0: one per 20,000 connections, none bound below that)")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "limit on each dial, welcome read and round trip")
	fs.DurationVar(&o.settle, "settle", time.Second, "pause before each memory reading, for the server to go quiet")
	fs.StringVar(&o.bin, "bin", "", "netkit binary to run (default: go build ./cmd/netkit into a temporary directory)")
	fs.StringVar(&o.serverArgs, "server-args", "", "extra arguments for 'netkit echo serve', space-separated (e.g. \"--log-level warn\")")
	fs.Var(&o.serverEnv, "server-env", "`KEY=VALUE` added to the server's environment (repeatable; e.g. GOGC=50)")
	fs.StringVar(&o.listenIP, "listen-ip", "127.0.0.1", "loopback address the server listens on")
	fs.DurationVar(&o.grace, "grace", 15*time.Second, "time the server gets to exit after SIGTERM before it is killed")
	fs.StringVar(&o.pprofDir, "pprof", "", "run nkprof (netkit plus pprof) and save heap, goroutine and CPU profiles into `DIR`")
	fs.BoolVar(&o.asJSON, "json", false, "print the result as one JSON object")
	fs.IntVar(&o.procs, "procs", 0, "GOMAXPROCS for echoload itself (0: leave it); the server keeps its own")
	fs.Float64Var(&o.goalKiB, "goal-kib", 20, "goal: idle server RSS per connection, in KiB")
	fs.DurationVar(&o.goalP99, "goal-p99", 10*time.Millisecond, "goal: 99th percentile round trip")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./bench/echoload [flags]\n\nMeasures netkit echo: server RSS per idle connection and round-trip latency under load.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, benchproc.UsageError{Err: err}
	}
	if fs.NArg() > 0 {
		return nil, benchproc.Usagef("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case o.conns < 1:
		return nil, benchproc.Usagef("-conns must be at least 1")
	case o.workers < 1:
		return nil, benchproc.Usagef("-workers must be at least 1")
	case o.rate < 0:
		return nil, benchproc.Usagef("-rate must not be negative")
	case o.duration <= 0 || o.duration > time.Hour:
		return nil, benchproc.Usagef("-duration must be above 0 and at most 1h")
	case o.maxRTTs < 1:
		return nil, benchproc.Usagef("-max-rtts must be at least 1")
	case o.size < 16 || o.size > 64<<10:
		return nil, benchproc.Usagef("-size must be from 16 to 65536 bytes")
	case o.dialConc < 1:
		return nil, benchproc.Usagef("-dial-concurrency must be at least 1")
	case o.procs < 0:
		return nil, benchproc.Usagef("-procs must not be negative")
	case o.srcIPs < 0 || o.srcIPs > 250:
		return nil, benchproc.Usagef("-src-ips must be from 0 to 250")
	case o.timeout <= 0 || o.settle < 0 || o.grace <= 0:
		return nil, benchproc.Usagef("-timeout and -grace must be positive, -settle not negative")
	}
	ip, err := netip.ParseAddr(o.listenIP)
	if err != nil || !ip.Is4() || !ip.IsLoopback() {
		return nil, benchproc.Usagef("-listen-ip %q: want an address in 127.0.0.0/8", o.listenIP)
	}
	for _, kv := range o.serverEnv {
		if !strings.Contains(kv, "=") {
			return nil, benchproc.Usagef("-server-env %q: want KEY=VALUE", kv)
		}
	}
	if o.srcIPs == 0 && o.conns > 20000 {
		o.srcIPs = (o.conns + 19999) / 20000
	}
	return &o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "echoload: "+format+"\n", a...) }
	if o.procs > 0 {
		runtime.GOMAXPROCS(o.procs)
	}

	nofile, err := benchproc.RaiseNoFile(uint64(o.conns)+256, "-conns")
	if err != nil {
		return err
	}

	var srcs []netip.Addr
	for i := range o.srcIPs {
		srcs = append(srcs, netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + i)}))
	}

	tmp, err := os.MkdirTemp("", "echoload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := o.bin
	if bin == "" {
		pkg := "./cmd/netkit"
		if o.pprofDir != "" {
			pkg = "./bench/nkprof"
		}
		logf("building %s", pkg)
		if bin, err = benchproc.Build(ctx, pkg, tmp, "netkit"); err != nil {
			return err
		}
	}
	if o.pprofDir != "" {
		if err := os.MkdirAll(o.pprofDir, 0o755); err != nil {
			return err
		}
	}

	srvArgs := []string{"echo", "serve", "--listen", o.listenIP + ":0", "--json", "--max-conns-per-ip", "-1", "--max-conns", "-1"}
	srvArgs = append(srvArgs, strings.Fields(o.serverArgs)...)
	srv, err := startServer(ctx, bin, srvArgs, o.serverEnv, 30*time.Second)
	if err != nil {
		return err
	}
	rep := &report{
		Conns: o.conns, CPUs: runtime.NumCPU(), ClientProcs: runtime.GOMAXPROCS(0), NoFile: nofile,
		Server: serverInfo{Bin: bin, Args: srvArgs, Env: o.serverEnv, PID: srv.PID, Addr: srv.addr.String()},
	}
	var conns []*conn
	stopped := false
	// Teardown runs whatever happened: close every connection, then ask the
	// server to stop and wait for it.
	teardown := func() {
		if stopped {
			return
		}
		stopped = true
		for _, c := range conns {
			c.c.Close()
		}
		rep.Server.Exit = srv.Stop(o.grace)
		logf("server %s", rep.Server.Exit)
	}
	defer teardown()
	var prof *profiler
	if o.pprofDir != "" {
		if srv.pprof == "" {
			return errors.New("-pprof: the server did not print its pprof address (is -bin an nkprof build?)")
		}
		prof = &profiler{base: srv.pprof, dir: o.pprofDir}
	}
	logf("server pid %d on %s; GOMAXPROCS here %d; %d CPUs", srv.PID, srv.addr, runtime.GOMAXPROCS(0), runtime.NumCPU())

	sleep(ctx, o.settle)
	if rep.Mem.Baseline, err = benchproc.ReadMem(srv.PID); err != nil {
		return err
	}
	rep.KernelTCP.Baseline = tcpKernelMem()

	logf("opening %d connections (%d at a time)", o.conns, o.dialConc)
	conns, rep.Dial, err = dialAll(ctx, srv.addr, o.conns, o.dialConc, srcs, o.timeout)
	rep.DialSeconds = rep.Dial.Elapsed.Seconds()
	if err != nil {
		return fmt.Errorf("opened %d of %d connections: %w\nserver's last words:\n%s", len(conns), o.conns, err, srv.Tail)
	}
	logf("opened %d connections in %.2fs", len(conns), rep.DialSeconds)

	sleep(ctx, o.settle)
	if rep.Mem.Idle, err = benchproc.ReadMem(srv.PID); err != nil {
		return err
	}
	rep.KernelTCP.Idle = tcpKernelMem()
	if prof != nil {
		ms, err := prof.snapshot(ctx, "idle")
		if err != nil {
			return err
		}
		rep.Runtime = &runtimeInfo{Idle: ms}
	}

	cfg := loadConfig{Mode: "closed", Workers: o.workers, Rate: o.rate, Size: o.size, Duration: o.duration, MaxRTTs: o.maxRTTs, Timeout: o.timeout}
	if o.rate > 0 {
		cfg.Mode = "rate"
	}
	rep.Load.Config = cfg
	rep.Load.Config.Workers = min(o.workers, len(conns))
	if cfg.Mode == "rate" {
		rep.Load.Config.Workers = o.workers
	}
	logf("load: %s", describeLoad(cfg, len(conns)))
	var cpuWait func() error
	if prof != nil {
		cpuWait = prof.cpu(ctx, o.duration)
	}
	srvCPU0, _ := benchproc.CPUTime(srv.PID)
	selfCPU0 := benchproc.SelfCPU()
	mach0 := benchproc.ReadMachineCPU()
	res := runLoad(ctx, conns, cfg)
	srvCPU1, _ := benchproc.CPUTime(srv.PID)
	selfCPU1 := benchproc.SelfCPU()
	mach1 := benchproc.ReadMachineCPU()
	rep.Load.fill(res)
	pct := func(d time.Duration) float64 { return 100 * d.Seconds() / res.elapsed.Seconds() }
	rep.CPU.Server = pct(srvCPU1 - srvCPU0)
	rep.CPU.Client = pct(selfCPU1 - selfCPU0)
	rep.CPU.Machine = pct(mach1.Busy - mach0.Busy)
	rep.CPU.SoftIRQ = pct(mach1.SoftIRQ - mach0.SoftIRQ)
	// With tick-based CPU accounting (the usual kernel configuration) a
	// process's system time includes the softirq work done on its behalf,
	// such as loopback delivery, so softirq is part of the two figures above.
	rep.CPU.Others = max(0, rep.CPU.Machine-rep.CPU.Server-rep.CPU.Client)
	if cpuWait != nil {
		if err := cpuWait(); err != nil {
			logf("cpu profile: %v", err)
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}

	sleep(ctx, o.settle)
	if rep.Mem.AfterLoad, err = benchproc.ReadMem(srv.PID); err != nil {
		return err
	}
	rep.KernelTCP.AfterLoad = tcpKernelMem()
	if prof != nil {
		ms, err := prof.snapshot(ctx, "load")
		if err != nil {
			return err
		}
		rep.Runtime.AfterLoad = ms
	}

	rep.evaluate(o.goalKiB, o.goalP99)
	// Print after teardown so that the server's exit is in the report.
	teardown()
	if o.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		rep.print(stdout, o)
	}
	if !rep.Goals.Pass {
		return benchproc.ErrGoalMissed
	}
	return nil
}

func describeLoad(cfg loadConfig, n int) string {
	if cfg.Mode == "rate" {
		return fmt.Sprintf("%.0f round trips/s offered over all %d connections (%.2f/s each), at most %d in flight, %d-byte messages, for %v",
			cfg.Rate, n, cfg.Rate/float64(n), cfg.Workers, cfg.Size, cfg.Duration)
	}
	return fmt.Sprintf("closed loop, %d workers each with one round trip in flight, round robin over all %d connections, %d-byte messages, for %v",
		min(cfg.Workers, n), n, cfg.Size, cfg.Duration)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
