package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/netkit/netkit/internal/scan"
)

type scanFlags struct {
	ports       string
	top         int
	udp         bool
	exclude     string
	inputList   string
	first       bool
	maxHosts    int
	noPing      bool
	pingOnly    bool
	pingPorts   string
	timing      int
	retries     int
	minRTT      time.Duration
	maxRTT      time.Duration
	initRTT     time.Duration
	rate        float64
	maxParallel int
	banner      bool
	bannerTO    time.Duration
	json        bool
	open        bool
	grepable    string
	xmlOut      string
	verbose     bool
	noProgress  bool
}

const scanCmd = "netkit scan"

func scanCommand(stdio IO) *command {
	f := scanFlags{timing: scan.Normal}
	fs := flag.NewFlagSet(scanCmd, flag.ContinueOnError)
	fs.StringVar(&f.ports, "p", "", "`PORTS` to scan: 22,80,1000-2000, - for all, U:53,T:80 with --udp (default: the top 1000)")
	fs.BoolFunc("p-", "scan every port, 1-65535 (as -p -)", func(string) error { f.ports = "-"; return nil })
	fs.IntVar(&f.top, "top", 0, "scan the `N` most common ports (at most 1000)")
	fs.BoolVar(&f.udp, "udp", false, "scan UDP ports (connected UDP sockets) instead of TCP; T: and U: prefixes in -p pick per port")
	fs.StringVar(&f.exclude, "exclude", "", "leave out these `TARGETS` (comma-separated, same syntax)")
	fs.StringVar(&f.inputList, "iL", "", "read targets from `FILE`, one per line, # comments; - for standard input")
	fs.BoolVar(&f.first, "first", false, "scan only the first address a host name resolves to")
	fs.IntVar(&f.maxHosts, "max-hosts", scan.DefaultMaxHosts, "refuse target lists of more than `N` addresses")
	fs.BoolVar(&f.noPing, "Pn", false, "skip host discovery: treat every target as up")
	fs.BoolVar(&f.pingOnly, "sn", false, "only discover which hosts are up; scan no ports")
	fs.StringVar(&f.pingPorts, "ping-ports", "80,443,22,445", "`PORTS` host discovery connects to: a host is up when one connects or refuses")
	for level := range 6 {
		fs.BoolFunc("T"+strconv.Itoa(level), timingHelp[level], func(string) error { f.timing = level; return nil })
	}
	fs.IntVar(&f.retries, "retries", 2, "probe a silent port up to `N` more times before calling it filtered: one try past the latest try the host ever answered, as nmap does (a refusal is never retried)")
	fs.DurationVar(&f.minRTT, "min-rtt", 0, "least time to wait for an answer, whatever the measured round trip (default from -T)")
	fs.DurationVar(&f.maxRTT, "max-rtt", 0, "most time to wait for an answer (default from -T)")
	fs.DurationVar(&f.initRTT, "initial-rtt", 0, "time to wait before any round trip is measured (default from -T)")
	fs.Float64Var(&f.rate, "rate", 0, "send at most `N` probes a second (default: no cap)")
	fs.IntVar(&f.maxParallel, "max-parallel", 0, "most probes in flight at once (default from -T, and never more than the open-file limit allows)")
	fs.BoolVar(&f.banner, "banner", false, "show what each open TCP port says first (or answers to a blank line or HTTP HEAD)")
	fs.DurationVar(&f.bannerTO, "banner-timeout", 2*time.Second, "time each banner gets")
	fs.BoolVar(&f.json, "json", false, "print one JSON object a line: every port, then one per host, then a summary")
	fs.BoolVar(&f.open, "open", false, "show only open ports")
	fs.StringVar(&f.grepable, "oG", "", "also write nmap's grepable format to `FILE` (- for standard output)")
	fs.StringVar(&f.xmlOut, "oX", "", "also write nmap's XML format to `FILE` (- for standard output)")
	fs.BoolVar(&f.verbose, "v", false, "list every port, closed and filtered ones too, and hosts that are down")
	fs.BoolVar(&f.noProgress, "no-progress", false, "no progress bar, even on a terminal")
	return &command{
		name:    "scan",
		usage:   "scan TARGET... [-p PORTS] [flags]",
		summary: "find open, closed and filtered TCP or UDP ports, as nmap -sT does",
		help: `
TCP connect scan (no root needed) of every TARGET: a host name (all its
addresses; --first for one), an IPv4 or IPv6 address, a CIDR block
(10.0.0.0/24), or octet ranges (10.0.0.1-20, 10.0.0-3.1, 10.0.0.*).
States and reasons are nmap's: open (syn-ack), closed (conn-refused),
filtered (no-response after --retries, or an ICMP unreachable). Running
out of file descriptors or ephemeral ports slows the scan down; it never
turns into an answer about the target.

With more than one target, hosts are discovered first: a host is up when
one of --ping-ports connects or refuses (-Pn skips this, -sn stops after it).

Timing: -T0 to -T5 (default -T3) set the timeouts and parallelism; the
timeout of each host follows its measured round trip (RFC 6298), clamped
by --min-rtt and --max-rtt. -T3: 1 s before any measurement, 100 ms to
10 s after; -T4: 500 ms, 100 ms to 1.25 s; -T5: 250 ms, 50 to 300 ms.

Examples:
  netkit scan 127.0.0.1
  netkit scan -p- -T4 192.168.1.20
  netkit scan 192.168.1.0/24 --top 100 --open
  netkit scan scanme.example -p 22,80,443 --banner --json
  netkit scan 10.0.0.1-50 -p 80 -oG hosts.gnmap -oX hosts.xml
  netkit scan 127.0.0.1 --udp -p 53,123,7707`,
		flags:   fs,
		maxArgs: -1,
		run: func(ctx context.Context, args []string) error {
			return runScan(ctx, stdio, &f, args)
		},
	}
}

var timingHelp = [6]string{
	"timing: paranoid, one probe every 5 minutes",
	"timing: sneaky, one probe every 15 s",
	"timing: polite, one probe every 0.4 s",
	"timing: normal (the default)",
	"timing: aggressive, for fast and reliable networks",
	"timing: insane, short timeouts (may call slow ports filtered)",
}

func scanUsage(format string, a ...any) error {
	return &UsageError{Cmd: scanCmd, Err: fmt.Errorf(format, a...)}
}

// scanner builds the scan.Scanner the flags describe.
func (f *scanFlags) scanner() (*scan.Scanner, error) {
	t, err := scan.Preset(f.timing)
	if err != nil {
		return nil, scanUsage("%v", err)
	}
	switch {
	case f.retries < 0:
		return nil, scanUsage("--retries %d: want 0 or more", f.retries)
	case f.retries == 0:
		t.Retries = -1
	default:
		t.Retries = f.retries
	}
	for name, d := range map[string]time.Duration{"--min-rtt": f.minRTT, "--max-rtt": f.maxRTT, "--initial-rtt": f.initRTT} {
		if d < 0 {
			return nil, scanUsage("%s %v: want a positive duration", name, d)
		}
	}
	if f.minRTT > 0 {
		t.MinRTT = f.minRTT
	}
	if f.maxRTT > 0 {
		t.MaxRTT = f.maxRTT
	}
	if f.minRTT > 0 && f.maxRTT > 0 && f.maxRTT < f.minRTT {
		return nil, scanUsage("--max-rtt %v is less than --min-rtt %v", f.maxRTT, f.minRTT)
	}
	if f.initRTT > 0 {
		t.InitialRTT = f.initRTT
	}
	if f.maxParallel < 0 {
		return nil, scanUsage("--max-parallel %d: want a positive number", f.maxParallel)
	}
	if f.maxParallel > 0 {
		t.MaxParallel = f.maxParallel
		t.MaxWindow = min(t.MaxWindow, f.maxParallel)
		t.InitialWindow = min(t.InitialWindow, f.maxParallel)
	}
	if f.rate < 0 {
		return nil, scanUsage("--rate %v: want a positive number of probes a second", f.rate)
	}
	if f.bannerTO <= 0 {
		return nil, scanUsage("--banner-timeout %v: want a positive duration", f.bannerTO)
	}
	var ping []uint16
	pp, err := scan.ParsePorts(f.pingPorts, false)
	if err != nil {
		return nil, scanUsage("--ping-ports: %v", strings.TrimPrefix(err.Error(), "scan: "))
	}
	for _, p := range pp {
		ping = append(ping, p.Number)
	}
	return &scan.Scanner{Timing: t, Rate: f.rate, NoPing: f.noPing, PingPorts: ping, Banner: f.banner, BannerTimeout: f.bannerTO}, nil
}

func (f *scanFlags) portList() ([]scan.Port, error) {
	if f.pingOnly {
		return nil, nil
	}
	if f.ports != "" && f.top != 0 {
		return nil, scanUsage("-p and --top both pick the ports: use one")
	}
	if f.top < 0 || f.top > 1000 {
		return nil, scanUsage("--top %d: want 1 to 1000", f.top)
	}
	proto := scan.TCP
	if f.udp {
		proto = scan.UDP
	}
	if f.ports == "" {
		return scan.Top(cmpOr(f.top, scan.DefaultTop), proto), nil
	}
	ports, err := scan.ParsePorts(f.ports, f.udp)
	if err != nil {
		return nil, scanUsage("-p: %v", strings.TrimPrefix(err.Error(), "scan: "))
	}
	return ports, nil
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// targetSpecs gathers the targets from the arguments and -iL.
func (f *scanFlags) targetSpecs(stdin io.Reader, args []string) ([]string, error) {
	specs := append([]string(nil), args...)
	if f.inputList != "" {
		var r io.Reader = stdin
		if f.inputList != "-" {
			file, err := os.Open(f.inputList)
			if err != nil {
				return nil, scanUsage("-iL: %v", err)
			}
			defer file.Close()
			r = file
		}
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line, _, _ := strings.Cut(sc.Text(), "#")
			specs = append(specs, strings.Fields(line)...)
		}
		if err := sc.Err(); err != nil {
			return nil, scanUsage("-iL %s: %v", f.inputList, err)
		}
	}
	if len(specs) == 0 {
		return nil, scanUsage("no targets: name a host, an address or a block (netkit scan 127.0.0.1)")
	}
	return specs, nil
}

func runScan(ctx context.Context, stdio IO, f *scanFlags, args []string) error {
	s, err := f.scanner()
	if err != nil {
		return err
	}
	ports, err := f.portList()
	if err != nil {
		return err
	}
	if f.pingOnly && f.noPing {
		return scanUsage("-sn and -Pn together leave nothing to do")
	}
	if f.maxHosts == 0 || f.maxHosts < -1 {
		return scanUsage("--max-hosts %d: want a positive number, or -1 for no limit", f.maxHosts)
	}
	var exclude []string
	if f.exclude != "" {
		exclude = []string{f.exclude}
		if _, err := scan.ParseTargets(ctx, exclude, scan.TargetOptions{MaxHosts: -1}); err != nil {
			return scanUsage("--exclude: %s", strings.TrimPrefix(err.Error(), "scan: "))
		}
	}
	specs, err := f.targetSpecs(stdio.Stdin, args)
	if err != nil {
		return err
	}
	targets, err := scan.ParseTargets(ctx, specs, scan.TargetOptions{First: f.first, MaxHosts: f.maxHosts, Exclude: exclude})
	if err != nil {
		var te *scan.TargetError
		if errors.As(err, &te) {
			return scanUsage("%s", strings.TrimPrefix(err.Error(), "scan: "))
		}
		return err
	}
	if len(targets) == 0 {
		return scanUsage("every target is excluded")
	}

	// Output files are opened first, so that a bad path fails before the
	// scan rather than after it.
	outs, closeOuts, err := openScanOutputs(stdio, f)
	if err != nil {
		return err
	}
	defer closeOuts()

	rep := &scan.Report{
		Args:    commandLine(ctx),
		Version: version(), Start: time.Now(), Ports: ports, Verbose: f.verbose, OnlyOpen: f.open,
	}
	var bar *progressbar.ProgressBar
	if !f.noProgress && !f.json && isTerminal(stdio.Stderr) {
		total := len(targets) * len(ports)
		if f.pingOnly {
			total = len(targets)
		}
		bar = progressbar.NewOptions64(int64(total),
			progressbar.OptionSetWriter(stdio.Stderr),
			progressbar.OptionSetDescription("scanning"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("ports"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetPredictTime(true),
		)
	}
	enc := json.NewEncoder(stdio.Stdout)
	var werr error
	run := func(res scan.Result) bool {
		rep.Add(res)
		if bar != nil {
			_ = bar.Add(1)
		}
		if f.json && werr == nil && (!f.open || res.State == scan.Open) {
			werr = enc.Encode(scan.ResultJSON(res))
		}
		return werr == nil
	}
	st, scanErr := s.Run(ctx, targets, ports, run)
	rep.Stats = st
	if bar != nil {
		_ = bar.Finish()
	}
	interrupted := scanErr != nil && ctx.Err() != nil
	rep.Interrupted = interrupted
	if scanErr != nil && !interrupted && !errors.Is(scanErr, context.Canceled) {
		return fmt.Errorf("scan failed: %w", scanErr)
	}
	if werr != nil {
		return werr
	}
	if err := writeScanOutputs(stdio, f, rep, outs); err != nil {
		return err
	}
	if interrupted {
		return errors.New("scan interrupted: the results above are what was found before it stopped")
	}
	return nil
}

type scanOutputs struct {
	grepable, xml io.Writer
}

func openScanOutputs(stdio IO, f *scanFlags) (scanOutputs, func(), error) {
	var outs scanOutputs
	var files []*os.File
	closeAll := func() {
		for _, file := range files {
			file.Close()
		}
	}
	open := func(flagName, name string) (io.Writer, error) {
		if name == "-" {
			return stdio.Stdout, nil
		}
		file, err := os.Create(name)
		if err != nil {
			return nil, scanUsage("%s: cannot write %s: %v", flagName, name, err)
		}
		files = append(files, file)
		return file, nil
	}
	var err error
	if f.grepable != "" {
		if outs.grepable, err = open("-oG", f.grepable); err != nil {
			closeAll()
			return outs, nil, err
		}
	}
	if f.xmlOut != "" {
		if outs.xml, err = open("-oX", f.xmlOut); err != nil {
			closeAll()
			return outs, nil, err
		}
	}
	return outs, closeAll, nil
}

func writeScanOutputs(stdio IO, f *scanFlags, rep *scan.Report, outs scanOutputs) error {
	if outs.grepable != nil {
		if err := rep.WriteGrepable(outs.grepable); err != nil {
			return fmt.Errorf("writing %s: %w", f.grepable, err)
		}
	}
	if outs.xml != nil {
		if err := rep.WriteXML(outs.xml); err != nil {
			return fmt.Errorf("writing %s: %w", f.xmlOut, err)
		}
	}
	if f.json {
		return rep.WriteJSONTail(stdio.Stdout)
	}
	if f.grepable == "-" || f.xmlOut == "-" {
		// Standard output holds a machine format; the summary goes to
		// standard error.
		fmt.Fprintln(stdio.Stderr, rep.SummaryLine())
		return nil
	}
	if f.pingOnly {
		return writeHostsUp(stdio.Stdout, rep)
	}
	return rep.WriteTable(stdio.Stdout)
}

func writeHostsUp(w io.Writer, rep *scan.Report) error {
	for _, h := range rep.Stats.Hosts {
		if h.Up {
			fmt.Fprintf(w, "%s is up (%s, %.5fs latency)\n", h.Host(), h.Reason, h.Latency.Seconds())
		} else if rep.Verbose {
			fmt.Fprintf(w, "%s is down\n", h.Host())
		}
	}
	_, err := fmt.Fprintln(w, rep.SummaryLine())
	return err
}
