// Command chatload is a load generator for multi-user TCP chat servers:
// netkit's chat, or ncat's --chat broker for comparison. It starts the
// server as a separate process, connects N clients over loopback (joining
// with unique nicknames on netkit), has S of them send M messages each,
// and has every client read everything. Each message carries its sender,
// sequence number and send time, so every delivery yields a fan-out
// latency; the report gives deliveries expected and made, deliveries per
// second, latency percentiles, the server's memory before the clients,
// after the joins and at its peak, and whether the server survived. See
// README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/netkit/netkit/bench/internal/benchproc"
)

func main() { benchproc.Main("chatload", run) }

// Targets: the server under test.
const (
	targetNetkit = "netkit"
	targetNcat   = "ncat"
)

// maxSamples bounds the latency samples kept (4 bytes each).
const maxSamples = 250_000_000

// options are the command-line flags.
type options struct {
	targets    []string
	clients    int
	senders    int
	messages   int
	interval   time.Duration
	stagger    bool
	dialRate   float64
	dialConc   int
	srcIPs     int
	timeout    time.Duration
	settle     time.Duration
	joinWait   time.Duration
	drain      time.Duration
	bin        string
	ncat       string
	serverArgs string
	serverEnv  multiFlag
	grace      time.Duration
	pprofDir   string
	asJSON     bool
	holdOnly   bool
	hangUp     bool
	goalPct    float64
	goalP99    time.Duration
	goalKiB    float64
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	var o options
	var targets string
	fs := flag.NewFlagSet("chatload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&targets, "target", targetNetkit, "server to load: netkit, ncat, or both as \"netkit,ncat\" (run one after the other and compared)")
	fs.IntVar(&o.clients, "clients", 1000, "clients to connect; every one reads everything")
	fs.IntVar(&o.senders, "senders", 10, "clients that send, spread evenly over the clients")
	fs.IntVar(&o.messages, "messages", 20, "messages each sender sends")
	fs.DurationVar(&o.interval, "interval", 50*time.Millisecond, "time between one sender's messages (0: back to back, to measure capacity)")
	fs.BoolVar(&o.stagger, "stagger", true, "spread the senders' starts evenly over one -interval, rather than all sending at the same instants")
	fs.Float64Var(&o.dialRate, "dial-rate", 0, "clients to connect per `second` (0: 1000 for netkit, 50 for ncat, whose listen backlog is 10)")
	fs.IntVar(&o.dialConc, "dial-concurrency", 32, "most clients connecting or joining at once: once the server falls behind -dial-rate, joins queue here rather than time out")
	fs.IntVar(&o.srcIPs, "src-ips", 0, "spread clients over this many source addresses 127.0.0.2, 127.0.0.3, ... (0: one per 20,000 clients, none bound below that)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "limit on each connect and join, and on each write")
	fs.DurationVar(&o.settle, "settle", time.Second, "quiet time that counts as the server having settled, before each memory reading")
	fs.DurationVar(&o.joinWait, "join-wait", 5*time.Minute, "longest wait for the join announcements to settle before sending")
	fs.DurationVar(&o.drain, "drain", 10*time.Second, "after the last send, how long deliveries may stall before the rest count as lost")
	fs.StringVar(&o.bin, "bin", "", "netkit binary to run (default: go build ./cmd/netkit, or ./bench/nkprof with -pprof)")
	fs.StringVar(&o.ncat, "ncat", "ncat", "ncat binary (apt-get install -y ncat)")
	fs.StringVar(&o.serverArgs, "server-args", "", "extra arguments for 'netkit chat serve', space-separated (e.g. \"--log-level warn\")")
	fs.Var(&o.serverEnv, "server-env", "`KEY=VALUE` added to netkit's environment (repeatable; e.g. GOGC=50)")
	fs.DurationVar(&o.grace, "grace", 15*time.Second, "time the server gets to exit after SIGTERM before it is killed")
	fs.StringVar(&o.pprofDir, "pprof", "", "netkit only: run nkprof (netkit plus pprof) and save heap and goroutine profiles after the joins and a CPU profile of the send phase into `DIR`")
	fs.BoolVar(&o.asJSON, "json", false, "print the results as JSON")
	fs.BoolVar(&o.hangUp, "hang-up-first", false, "at the end, close every client at once and then send SIGTERM, rather than stopping the server with everyone connected: how the server takes a mass disconnect")
	fs.BoolVar(&o.holdOnly, "hold-only", false, "netkit: connect and read the greeting but choose no nickname, and send nothing: what holding N connections costs, without the O(N²) join announcements")
	fs.Float64Var(&o.goalPct, "goal-delivered", 100, "netkit goal: percent of deliveries made")
	fs.DurationVar(&o.goalP99, "goal-p99", 250*time.Millisecond, "netkit goal: 99th percentile fan-out latency")
	fs.Float64Var(&o.goalKiB, "goal-kib", 20, "netkit goal: server RSS per joined client, in KiB")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./bench/chatload [flags]\n\nLoads a chat server with many clients and reports delivery, fan-out latency and memory.\n\n")
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
	for _, t := range strings.Split(targets, ",") {
		t = strings.TrimSpace(t)
		if t != targetNetkit && t != targetNcat {
			return nil, benchproc.Usagef("-target %q: want netkit, ncat or netkit,ncat", t)
		}
		if slices.Contains(o.targets, t) {
			return nil, benchproc.Usagef("-target %q: %s twice", targets, t)
		}
		o.targets = append(o.targets, t)
	}
	switch {
	case o.clients < 1 || o.clients > 1_000_000:
		return nil, benchproc.Usagef("-clients must be from 1 to 1,000,000")
	case o.senders < 1 || o.senders > o.clients:
		return nil, benchproc.Usagef("-senders must be from 1 to -clients")
	case o.messages < 1 || o.messages > 1_000_000:
		return nil, benchproc.Usagef("-messages must be from 1 to 1,000,000")
	case o.interval < 0 || o.interval > time.Hour:
		return nil, benchproc.Usagef("-interval must be from 0 to 1h")
	case float64(o.clients)*float64(o.senders)*float64(o.messages) > maxSamples:
		return nil, benchproc.Usagef("-clients × -senders × -messages is over %d deliveries, more than chatload keeps samples for", maxSamples)
	case o.dialRate < 0 || math.IsInf(o.dialRate, 0) || math.IsNaN(o.dialRate):
		return nil, benchproc.Usagef("-dial-rate must not be negative")
	case o.dialConc < 1:
		return nil, benchproc.Usagef("-dial-concurrency must be at least 1")
	case o.srcIPs < 0 || o.srcIPs > 250:
		return nil, benchproc.Usagef("-src-ips must be from 0 to 250")
	case o.timeout <= 0 || o.settle <= 0 || o.joinWait <= 0 || o.drain <= 0 || o.grace <= 0:
		return nil, benchproc.Usagef("-timeout, -settle, -join-wait, -drain and -grace must be positive")
	case o.holdOnly && (len(o.targets) != 1 || o.targets[0] != targetNetkit):
		return nil, benchproc.Usagef("-hold-only is for -target netkit")
	case o.pprofDir != "" && !slices.Contains(o.targets, targetNetkit):
		return nil, benchproc.Usagef("-pprof profiles netkit: use it with -target netkit")
	}
	for _, kv := range o.serverEnv {
		if !strings.Contains(kv, "=") {
			return nil, benchproc.Usagef("-server-env %q: want KEY=VALUE", kv)
		}
	}
	if o.srcIPs == 0 && o.clients > 20000 {
		o.srcIPs = (o.clients + 19999) / 20000
	}
	return &o, nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

// dialRateFor returns the clients per second to connect to target.
func (o *options) dialRateFor(target string) float64 {
	switch {
	case o.dialRate > 0:
		return o.dialRate
	case target == targetNcat:
		// Each ncat join sends everyone the list of everyone, O(N) bytes
		// to N clients, while its listen backlog is 10: at 300 a second
		// the backlog overflows near 1,000 clients and about 3% of the
		// connections are reset.
		return 50
	}
	return 1000
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "chatload: "+format+"\n", a...) }
	nofile, err := benchproc.RaiseNoFile(uint64(o.clients)+256, "-clients")
	if err != nil {
		return err
	}
	var srcs []netip.Addr
	for i := range o.srcIPs {
		srcs = append(srcs, netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + i)}))
	}
	tmp, err := os.MkdirTemp("", "chatload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	var reps []*report
	for _, target := range o.targets {
		rep, err := runOne(ctx, o, target, srcs, nofile, tmp, logf)
		if rep != nil {
			reps = append(reps, rep)
		}
		if err != nil {
			if len(reps) > 0 {
				printReports(stdout, o, reps)
			}
			return fmt.Errorf("%s: %w", target, err)
		}
	}
	printReports(stdout, o, reps)
	for _, r := range reps {
		if r.Goals != nil && !r.Goals.Pass {
			return benchproc.ErrGoalMissed
		}
	}
	return nil
}

func printReports(w io.Writer, o *options, reps []*report) {
	if o.asJSON {
		out := struct {
			Runs       []*report   `json:"runs"`
			Comparison *comparison `json:"comparison,omitempty"`
		}{Runs: reps, Comparison: compare(reps)}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(out)
		return
	}
	for _, r := range reps {
		r.print(w)
	}
	if c := compare(reps); c != nil {
		c.print(w)
	}
}
