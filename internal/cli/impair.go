package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/netkit/netkit/internal/impair"
)

// impairGrace is how long the relay has, after Ctrl-C, to send the
// datagrams it is still delaying.
const impairGrace = 2 * time.Second

// impairKnob is one impairment flag; each comes as --NAME for both
// directions, --up-NAME and --down-NAME. Its usage has a %s for the
// direction.
type impairKnob struct {
	name, usage string
	set         func(im *impair.Impairment, v string) error
}

func percentKnob(field func(*impair.Impairment) *float64) func(*impair.Impairment, string) error {
	return func(im *impair.Impairment, v string) (err error) {
		*field(im), err = impair.ParsePercent(v)
		return err
	}
}

func durationKnob(field func(*impair.Impairment) *time.Duration) func(*impair.Impairment, string) error {
	return func(im *impair.Impairment, v string) (err error) {
		*field(im), err = impair.ParseDuration(v)
		return err
	}
}

var impairKnobs = []impairKnob{
	{"loss", "drop `PERCENT` of %sdatagrams",
		percentKnob(func(im *impair.Impairment) *float64 { return &im.Loss })},
	{"dup", "send `PERCENT` of %sdatagrams twice",
		percentKnob(func(im *impair.Impairment) *float64 { return &im.Duplicate })},
	{"reorder", "hold `PERCENT` of %sdatagrams back until the next one has passed",
		percentKnob(func(im *impair.Impairment) *float64 { return &im.Reorder })},
	{"corrupt", "flip one random bit in `PERCENT` of %sdatagrams",
		percentKnob(func(im *impair.Impairment) *float64 { return &im.Corrupt })},
	{"delay", "delay %sdatagrams by `DURATION`",
		durationKnob(func(im *impair.Impairment) *time.Duration { return &im.Delay })},
	{"jitter", "vary the delay of %sdatagrams by up to `DURATION` either way",
		durationKnob(func(im *impair.Impairment) *time.Duration { return &im.Jitter })},
	{"reorder-delay", "hold a reordered %sdatagram at most `DURATION` (default 50ms)",
		durationKnob(func(im *impair.Impairment) *time.Duration { return &im.ReorderDelay })},
	{"rate", "cap %sbandwidth at `RATE`, like 10MB/s, 1MiB/s or 100mbit (default: no cap)",
		func(im *impair.Impairment, v string) (err error) {
			im.Rate, err = impair.ParseRate(v)
			return err
		}},
	{"queue", "let `SIZE` of %sdatagrams wait for the rate cap, then drop (default: 100ms of it, at least 64KiB)",
		func(im *impair.Impairment, v string) (err error) {
			im.Queue, err = impair.ParseSize(v)
			return err
		}},
}

type impairFlags struct {
	listen      string
	to          string
	seed        int64
	seedSet     bool
	json        bool
	maxSessions int
	idle        time.Duration
	logLevel    string
	// knobs holds each impairKnob's values: both ways, up, down.
	knobs [][3]string
}

func newImpairFlags(fs *flag.FlagSet) *impairFlags {
	f := &impairFlags{knobs: make([][3]string, len(impairKnobs))}
	fs.StringVar(&f.listen, "listen", "127.0.0.1:0", "take datagrams from clients on `HOST:PORT` (port 0 picks a free one)")
	fs.StringVar(&f.to, "to", "", "relay to `HOST:PORT` (required)")
	fs.Func("seed", "seed the random decisions with `N`, to repeat a run (default: random, and printed)", func(s string) (err error) {
		f.seedSet = true
		if f.seed, err = strconv.ParseInt(s, 10, 64); err != nil {
			return errors.New("want a whole number")
		}
		return nil
	})
	fs.BoolVar(&f.json, "json", false, "print the start line and the final counts as JSON")
	fs.IntVar(&f.maxSessions, "max-sessions", impair.DefaultMaxSessions, "most client addresses relayed at once")
	fs.DurationVar(&f.idle, "idle-timeout", impair.DefaultIdleTimeout, "forget a client silent this long")
	fs.StringVar(&f.logLevel, "log-level", "warn", "log `LEVEL`: debug (shows sessions), info, warn or error")
	for i, k := range impairKnobs {
		fs.StringVar(&f.knobs[i][0], k.name, "", fmt.Sprintf(k.usage, ""))
		fs.StringVar(&f.knobs[i][1], "up-"+k.name, "", fmt.Sprintf(k.usage, "client-to-target "))
		fs.StringVar(&f.knobs[i][2], "down-"+k.name, "", fmt.Sprintf(k.usage, "target-to-client "))
	}
	return f
}

// impairments builds each direction's Impairment from the flags: a
// direction's own flag wins over the one for both ways.
func (f *impairFlags) impairments() (up, down impair.Impairment, err error) {
	for i, k := range impairKnobs {
		for dir, im := range []*impair.Impairment{&up, &down} {
			name, v := "up-"+k.name, f.knobs[i][1+dir]
			if dir == 1 {
				name = "down-" + k.name
			}
			if v == "" {
				name, v = k.name, f.knobs[i][0]
			}
			if v == "" {
				continue
			}
			if err := k.set(im, v); err != nil {
				var se *impair.SyntaxError
				if errors.As(err, &se) {
					return up, down, fmt.Errorf("--%s %q: want %s", name, v, se.Want)
				}
				return up, down, fmt.Errorf("--%s: %w", name, err)
			}
		}
	}
	return up, down, nil
}

func impairCommand(stdio IO) *command {
	fs := flag.NewFlagSet("netkit impair", flag.ContinueOnError)
	f := newImpairFlags(fs)
	return &command{
		name:    "impair",
		usage:   "impair --to HOST:PORT [--listen HOST:PORT] [flags]",
		summary: "relay UDP through a bad network: loss, duplication, reordering, corruption, delay, rate",
		help: `
Clients send to the --listen address; impair relays their datagrams to
the --to target and the target's replies back, each client through its
own socket, and on the way loses, duplicates, reorders, corrupts, delays
and rate-limits them as asked: what Linux netem does, without the kernel.

Each impairment applies both ways unless given per direction: --up-NAME
for datagrams from clients to the target, --down-NAME for the replies;
--loss 5% --down-loss 0 loses 5% one way only. Percentages may omit the
%. Rates and sizes take bytes with SI or IEC prefixes (10MB/s, 64KiB) or
bits (100mbit). Jitter never reorders; --reorder does. The same --seed
makes the same decisions for the same datagrams.

It prints the address it listens on, the target and the seed, relays
until Ctrl-C or SIGTERM, then prints what happened each way.

Examples:
  netkit impair --to 127.0.0.1:7707 --loss 5%
  netkit impair --listen 127.0.0.1:9000 --to 127.0.0.1:7707 --delay 50ms --jitter 10ms --seed 42
  netkit impair --to 10.0.0.2:9000 --rate 10mbit --up-loss 2% --down-reorder 5% --json`,
		flags:   fs,
		maxArgs: 0,
		run: func(ctx context.Context, _ []string) error {
			return runImpair(ctx, stdio, f)
		},
	}
}

// impairStart is the start line, as --json prints it.
type impairStart struct {
	Listen string `json:"listen"`
	Target string `json:"target"`
	Seed   int64  `json:"seed"`
	Up     string `json:"up"`
	Down   string `json:"down"`
}

func runImpair(ctx context.Context, stdio IO, f *impairFlags) error {
	usage := func(err error) error { return &UsageError{Cmd: "netkit impair", Err: err} }
	if err := checkListenAddr(f.listen); err != nil {
		return usage(fmt.Errorf("--listen: %w", err))
	}
	if f.to == "" {
		return usage(errors.New("--to HOST:PORT is required: the address to relay to"))
	}
	host, port, err := net.SplitHostPort(f.to)
	if err != nil || host == "" || checkPort(port) != nil || port == "0" {
		return usage(fmt.Errorf("--to %q: want HOST:PORT with a port from 1 to 65535", f.to))
	}
	up, down, err := f.impairments()
	if err != nil {
		return usage(err)
	}
	if f.maxSessions <= 0 {
		return usage(fmt.Errorf("--max-sessions %d: want at least 1", f.maxSessions))
	}
	if f.idle <= 0 {
		return usage(fmt.Errorf("--idle-timeout %v: want a positive duration", f.idle))
	}
	logger, err := newLogger(stdio.Stderr, "text", f.logLevel)
	if err != nil {
		return usage(err)
	}
	seed := f.seed
	if !f.seedSet {
		seed = rand.Int64()
	}

	target, err := resolveUDP(ctx, host, port)
	if err != nil {
		return err
	}
	pc, err := net.ListenPacket("udp", f.listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", f.listen, err)
	}
	if uc, ok := pc.(*net.UDPConn); ok {
		// Room for bursts from a fast sender; the kernel caps it.
		uc.SetReadBuffer(4 << 20)
	}
	r := &impair.Relay{
		Target:      target,
		Upstream:    up,
		Downstream:  down,
		Seed:        seed,
		MaxSessions: f.maxSessions,
		IdleTimeout: f.idle,
		Logger:      logger,
	}
	served := make(chan error, 1)
	go func() { served <- r.Serve(pc) }()

	start := impairStart{Listen: pc.LocalAddr().String(), Target: target, Seed: seed, Up: up.String(), Down: down.String()}
	if f.json {
		json.NewEncoder(stdio.Stdout).Encode(start)
	} else {
		fmt.Fprintf(stdio.Stdout, "relaying %s -> %s (seed %d; up: %s; down: %s)\n", start.Listen, start.Target, seed, start.Up, start.Down)
	}

	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("relay %s -> %s: %w", start.Listen, target, err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), impairGrace)
	defer cancel()
	if err := r.Shutdown(sctx); err != nil {
		logger.Warn("datagrams still delayed were dropped at shutdown", "grace", impairGrace)
	}
	<-served
	st := r.Stats()
	if f.json {
		return json.NewEncoder(stdio.Stdout).Encode(st)
	}
	printImpairStats(stdio.Stdout, st)
	return nil
}

// resolveUDP turns host and port into an IP:PORT, preferring IPv4 as
// net.ResolveUDPAddr does, but giving up when ctx ends.
func resolveUDP(ctx context.Context, host, port string) (string, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return net.JoinHostPort(ip.String(), port), nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return "", fmt.Errorf("cannot resolve --to host %q: %v", host, err)
	}
	ip := ips[0]
	for _, a := range ips {
		if a.Unmap().Is4() {
			ip = a
			break
		}
	}
	return net.JoinHostPort(ip.Unmap().String(), port), nil
}

func printImpairStats(w io.Writer, st impair.Stats) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tup\tdown\t")
	for _, row := range []struct {
		name     string
		up, down uint64
	}{
		{"received", st.Up.Received, st.Down.Received},
		{"forwarded", st.Up.Forwarded, st.Down.Forwarded},
		{"bytes forwarded", st.Up.ForwardedBytes, st.Down.ForwardedBytes},
		{"lost", st.Up.Lost, st.Down.Lost},
		{"duplicated", st.Up.Duplicated, st.Down.Duplicated},
		{"reordered", st.Up.Reordered, st.Down.Reordered},
		{"corrupted", st.Up.Corrupted, st.Down.Corrupted},
		{"delayed", st.Up.Delayed, st.Down.Delayed},
		{"rate-queued", st.Up.RateQueued, st.Down.RateQueued},
		{"rate-dropped", st.Up.RateDropped, st.Down.RateDropped},
		{"queue overflow", st.Up.Overflow, st.Down.Overflow},
		{"oversize", st.Up.Oversize, st.Down.Oversize},
		{"errors", st.Up.Errors, st.Down.Errors},
	} {
		fmt.Fprintf(tw, "%s\t%d\t%d\t\n", row.name, row.up, row.down)
	}
	tw.Flush()
	fmt.Fprintf(w, "sessions: %d opened, %d expired, %d refused (table full); seed %d\n",
		st.SessionsOpened, st.SessionsExpired, st.SessionsRefused, st.Seed)
}
