// Command msgload benchmarks netkit's encrypted message service against
// the Flask reference (../shared/bench/flaskmsg, under gunicorn with 2
// workers), with one load generator driving both in the same run: HTTP
// messages per second and latency with 50 concurrent clients and a fresh
// token on every request, UDP request/reply rate and loss, the latency of
// one WebSocket broadcast to 1,000 clients, the server's RSS over a 60 s
// run at full rate, and (as root, in two network namespaces it makes)
// the time discovery takes to find the server. README.md says more.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/netkit/netkit/bench/internal/benchproc"
	"github.com/netkit/netkit/internal/fernet"
)

func main() { benchproc.Main("msgload", run) }

type config struct {
	bin, flaskDir  string
	clients, runs  int
	duration       time.Duration
	udpDuration    time.Duration
	udpSockets     int
	wsClients      int
	broadcasts     int
	soak           time.Duration
	discoveryRuns  int
	skip           string
	pprofTo        string
	keyFile, key   string
	keys           *fernet.Fernet
	stdout, stderr io.Writer
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := config{stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("msgload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.bin, "bin", "", "netkit binary (default: build ./cmd/netkit)")
	fs.StringVar(&c.flaskDir, "flask", "", "directory of the Flask reference's app.py (default ../shared/bench/flaskmsg from the module root)")
	fs.IntVar(&c.clients, "clients", 50, "concurrent HTTP clients")
	fs.IntVar(&c.runs, "runs", 3, "paired HTTP runs (netkit, Flask), alternating which goes first")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "length of each HTTP run")
	fs.DurationVar(&c.udpDuration, "udp-duration", 10*time.Second, "length of the UDP run")
	fs.IntVar(&c.udpSockets, "udp-sockets", 50, "UDP client sockets, one request in flight each")
	fs.IntVar(&c.wsClients, "ws-clients", 1000, "WebSocket clients a broadcast goes to")
	fs.IntVar(&c.broadcasts, "broadcasts", 20, "broadcasts sent, 200 ms apart")
	fs.DurationVar(&c.soak, "soak", 60*time.Second, "length of the RSS run at full HTTP rate (with --ttl 10s on the server)")
	fs.IntVar(&c.discoveryRuns, "discovery-runs", 20, "netkit discover --first runs across two network namespaces (root only)")
	fs.StringVar(&c.pprofTo, "pprof", "", "with -bin nkprof: save a 5 s CPU profile of the server's first HTTP run to `FILE`")
	fs.StringVar(&c.skip, "skip", "", "comma-separated parts to skip: http, udp, ws, soak, discovery")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return benchproc.UsageError{Err: err}
	}
	if fs.NArg() > 0 {
		return benchproc.Usagef("unexpected argument %q", fs.Arg(0))
	}
	if _, err := benchproc.RaiseNoFile(uint64(c.wsClients)*2+1024, "WebSocket clients"); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "msgload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if c.bin == "" {
		fmt.Fprintln(stderr, "msgload: building netkit")
		if c.bin, err = benchproc.Build(ctx, "./cmd/netkit", dir, "netkit"); err != nil {
			return err
		}
	}
	if c.flaskDir == "" {
		root, err := benchproc.ModuleRoot(ctx)
		if err != nil {
			return err
		}
		c.flaskDir = filepath.Join(root, "..", "shared", "bench", "flaskmsg")
	}
	k, _ := fernet.GenerateKey()
	c.key = k.Encode()
	c.keys, _ = fernet.New(k)
	c.keyFile = filepath.Join(dir, "msg.key")
	if err := os.WriteFile(c.keyFile, []byte(c.key+"\n"), 0o600); err != nil {
		return err
	}
	skip := func(part string) bool { return strings.Contains(","+c.skip+",", ","+part+",") }
	r := &report{LoadBefore: benchproc.LoadAvgs(), Clients: c.clients}
	if !skip("http") {
		if err := c.httpPairs(ctx, r); err != nil {
			return fmt.Errorf("http: %w", err)
		}
	}
	if !skip("udp") {
		if err := c.udpRun(ctx, r); err != nil {
			return fmt.Errorf("udp: %w", err)
		}
	}
	if !skip("ws") {
		if err := c.wsRun(ctx, r); err != nil {
			return fmt.Errorf("ws: %w", err)
		}
	}
	if !skip("soak") {
		if err := c.soakRun(ctx, r); err != nil {
			return fmt.Errorf("soak: %w", err)
		}
	}
	if !skip("discovery") {
		if err := c.discoveryRun(ctx, r); err != nil {
			return fmt.Errorf("discovery: %w", err)
		}
	}
	r.LoadAfter = benchproc.LoadAvgs()
	r.print(stdout)
	if !r.goalsMet() {
		return benchproc.ErrGoalMissed
	}
	return nil
}
