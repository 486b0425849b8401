// Command udpbench measures netkit's reliable UDP transfer (netkit udp
// send and netkit udp recv) against the goals set for it. Each figure is
// measured next to a reference run on the same machine a moment before or
// after it, and is quoted as a ratio of medians:
//
//   - quic: the extended mode over loopback, files on disk, plain and with
//     --secret, against quic-go's one stream (in memory); netkit's own
//     in-memory benchmark (BenchmarkExtendedLoopback) as a second figure.
//   - tftp: the legacy stop-and-wait mode with 1428-byte fragments against
//     atftp with blksize 1428 fetching from tftpd-hpa.
//   - impair: the extended mode through netkit impair at 0%, 1% and 10%
//     loss. Goal: 1% loss keeps at least half the 0% rate; 10% completes.
//   - rss: a 4 GiB file sent in the extended mode. Goal: the sender's and
//     the receiver's peak RSS under 64 MB each, the SHA-256 unchanged.
//
// Every netkit process, and every reference, is a separate process that
// udpbench starts, times, bounds with a timeout and kills on the way out.
// See README.md.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/netkit/netkit/bench/internal/benchproc"
)

func main() { benchproc.Main("udpbench", run) }

var (
	// errGoalMissed means every part ran but a goal was missed; the exit
	// status is 3.
	errGoalMissed = fmt.Errorf("udpbench: %w", benchproc.ErrGoalMissed)
	// errRunFailed means a run or a part could not be measured; the exit
	// status is 1. The report is printed all the same.
	errRunFailed = errors.New("udpbench: some runs failed")
)

// secret is the passphrase of the sealed runs; both ends get it on their
// command line.
const secret = "udpbench shared passphrase"

// stopGrace is how long a process has to exit after SIGTERM before it is
// killed. netkit udp recv lets transfers finish for 5 s.
const stopGrace = 7 * time.Second

// losses are the loss rates of the impair part, in percent, both ways.
var losses = []float64{0, 1, 10}

// partNames are the parts in the order they run.
var partNames = []string{"quic", "tftp", "impair", "rss"}

// options are the command-line flags.
type options struct {
	only      map[string]bool
	runs      int
	mib       int
	tftpMiB   int
	impairMiB int
	seed      int64
	rssSize   int64
	rssSparse bool
	bin       string
	quicDir   string
	dir       string
	minRate   float64
	verify    bool
	asJSON    bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("udpbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	only := fs.String("only", strings.Join(partNames, ","), "comma-separated parts to run: quic, tftp, impair, rss")
	fs.IntVar(&o.runs, "runs", 3, "rounds of each comparison")
	fs.IntVar(&o.mib, "mib", 1024, "MiB per transfer in the quic part")
	fs.IntVar(&o.tftpMiB, "tftp-mib", 100, "MiB per transfer in the tftp part")
	fs.IntVar(&o.impairMiB, "impair-mib", 100, "MiB per transfer in the impair part")
	fs.Int64Var(&o.seed, "seed", 1, "netkit impair --seed of the first round; round r uses seed+r-1")
	rss := fs.String("rss-size", "4GiB", "size of the file of the rss part (like 4GiB, 512MiB, 1GB)")
	fill := fs.String("rss-fill", "random", "content of that file: random (from the kernel's CSPRNG) or sparse (a hole, read as zeros)")
	fs.StringVar(&o.bin, "bin", "", "netkit binary to measure (default: go build ./cmd/netkit into the temporary directory)")
	fs.StringVar(&o.quicDir, "quicbench", "", "directory of the quic-go reference program (default: ../shared/bench/quicbench from the module root)")
	fs.StringVar(&o.dir, "dir", os.TempDir(), "where to make the temporary directory holding every file")
	fs.Float64Var(&o.minRate, "min-rate", 5, "slowest rate in MB/s a transfer may take before it is killed (its timeout is 60 s + size/min-rate)")
	fs.BoolVar(&o.verify, "verify", true, "check the SHA-256 of every received file, not only its size")
	fs.BoolVar(&o.asJSON, "json", false, "print the report as JSON on standard output (the table then goes to standard error)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: udpbench [flags]\n\nMeasure netkit udp send/recv against quic-go, atftp, loss and memory goals. See README.md.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, benchproc.UsageError{Err: err}
	}
	if fs.NArg() > 0 {
		return o, benchproc.Usagef("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if o.only, err = parseOnly(*only); err != nil {
		return o, benchproc.UsageError{Err: err}
	}
	if o.rssSize, err = parseSize(*rss); err != nil || o.rssSize < 1 {
		return o, benchproc.Usagef("-rss-size %q: want a size like 4GiB", *rss)
	}
	switch *fill {
	case "random":
	case "sparse":
		o.rssSparse = true
	default:
		return o, benchproc.Usagef("-rss-fill %q: want random or sparse", *fill)
	}
	switch {
	case o.runs < 1:
		return o, benchproc.Usagef("-runs %d: want 1 or more", o.runs)
	case o.mib < 1 || o.tftpMiB < 1 || o.impairMiB < 1:
		return o, benchproc.Usagef("-mib, -tftp-mib and -impair-mib: want 1 or more")
	case !(o.minRate > 0):
		return o, benchproc.Usagef("-min-rate %g: want more than 0", o.minRate)
	}
	return o, nil
}

// parseOnly reads the -only list.
func parseOnly(s string) (map[string]bool, error) {
	m := make(map[string]bool)
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if f == "all" {
			for _, n := range partNames {
				m[n] = true
			}
			continue
		}
		if !slices.Contains(partNames, f) {
			return nil, fmt.Errorf("-only: unknown part %q; the parts are %s", f, strings.Join(partNames, ", "))
		}
		m[f] = true
	}
	if len(m) == 0 {
		return nil, errors.New("-only: name at least one part")
	}
	return m, nil
}

// parseSize reads a byte count: a plain number, or one with a suffix,
// decimal (k, KB, M, MB, G, GB, T, TB) or binary (KiB, MiB, GiB, TiB).
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", s, err)
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
	}
	m, ok := mult[unit]
	if !ok {
		return 0, fmt.Errorf("size %q: unknown unit %q", s, s[i:])
	}
	n := v * m
	if n > math.MaxInt64/2 {
		return 0, fmt.Errorf("size %q: too large", s)
	}
	return int64(math.Round(n)), nil
}

// bench holds what every part shares.
type bench struct {
	opt     options
	log     io.Writer // progress lines
	root    string    // temporary directory, removed at the end
	modRoot string
	bin     string          // netkit
	quit    <-chan struct{} // closed on Ctrl-C: stop kills without a grace

	mu   sync.Mutex
	live map[*proc]bool // started and not yet stopped
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opt, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	b := &bench{opt: opt, log: stderr, live: make(map[*proc]bool), quit: ctx.Done()}
	// Deferred in this order so that the processes are gone before their
	// files are removed.
	root, err := os.MkdirTemp(opt.dir, "udpbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	defer b.killAll()
	// tftpd-hpa drops to user nobody, who must be able to walk in.
	if err := os.Chmod(root, 0o755); err != nil {
		return err
	}
	b.root = root
	if b.modRoot, err = benchproc.ModuleRoot(ctx); err != nil {
		return err
	}
	rep := report{Started: time.Now(), Host: hostInfo(ctx, b.modRoot), Runs: opt.runs}
	for _, n := range partNames {
		if opt.only[n] {
			rep.Parts = append(rep.Parts, n)
		}
	}
	if opt.bin == "" {
		fmt.Fprintln(b.log, "udpbench: go build ./cmd/netkit")
		if b.bin, err = benchproc.Build(ctx, "./cmd/netkit", root, "netkit"); err != nil {
			return err
		}
	} else if b.bin, err = filepath.Abs(opt.bin); err != nil {
		return err
	}
	rep.Netkit = b.bin

	for _, name := range partNames {
		if !opt.only[name] || ctx.Err() != nil {
			continue
		}
		p := &part{Name: name, Title: partTitles[name], Start: time.Now(), LoadStart: loadAvg(), paired: map[string][]float64{}, rounds: opt.runs}
		if name == "rss" {
			p.rounds = 1
		}
		fmt.Fprintf(b.log, "udpbench: part %s (load average %s)\n", name, p.LoadStart)
		switch name {
		case "quic":
			b.partQUIC(ctx, p)
		case "tftp":
			b.partTFTP(ctx, p)
		case "impair":
			b.partImpair(ctx, p)
		case "rss":
			b.partRSS(ctx, p)
		}
		p.LoadEnd = loadAvg()
		p.Seconds = time.Since(p.Start).Seconds()
		rep.Results = append(rep.Results, p)
	}
	rep.Seconds = time.Since(rep.Started).Seconds()

	table := stdout
	if opt.asJSON {
		table = stderr
	}
	printReport(table, &rep)
	if opt.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(&rep); err != nil {
			return err
		}
	}
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case rep.goalMissed():
		return errGoalMissed
	case rep.failed():
		return errRunFailed
	}
	return nil
}

// partTitles say what each part compares.
var partTitles = map[string]string{
	"quic":   "extended mode over loopback, files on disk, plain and sealed, vs quic-go one stream (in memory)",
	"tftp":   "legacy stop-and-wait, fragment 1428, files on disk, vs atftp blksize 1428 from tftpd-hpa",
	"impair": "extended mode through netkit impair (loss both ways), files on disk",
	"rss":    "one large file, extended mode over loopback: peak RSS of sender and receiver, SHA-256",
}

// report is everything one invocation measured; it is also the -json
// output.
type report struct {
	Started time.Time `json:"started"`
	Seconds float64   `json:"seconds"`
	Host    host      `json:"host"`
	Netkit  string    `json:"netkit_binary"`
	Runs    int       `json:"runs"`
	Parts   []string  `json:"parts"`
	Results []*part   `json:"results"`
}

func (r *report) goalMissed() bool {
	for _, p := range r.Results {
		for _, f := range p.Figures {
			if f.Met != nil && !*f.Met {
				return true
			}
		}
	}
	return false
}

func (r *report) failed() bool {
	for _, p := range r.Results {
		if p.Err != "" {
			return true
		}
		for _, x := range p.Runs {
			if x.Err != "" {
				return true
			}
		}
	}
	return false
}

// host describes the machine.
type host struct {
	Name   string `json:"name"`
	CPU    string `json:"cpu"`
	CPUs   int    `json:"cpus"`
	Kernel string `json:"kernel"`
	Go     string `json:"go"`
	Commit string `json:"commit"`
}

func hostInfo(ctx context.Context, modRoot string) host {
	h := host{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	h.Name, _ = os.Hostname()
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for l := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				h.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(cctx, "git", "-C", modRoot, "rev-parse", "--short", "HEAD").Output(); err == nil {
		h.Commit = strings.TrimSpace(string(out))
		if st, err := exec.CommandContext(cctx, "git", "-C", modRoot, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
			h.Commit += " (with uncommitted changes)"
		}
	}
	return h
}

// part is the outcome of one part.
type part struct {
	Name      string    `json:"name"`
	Title     string    `json:"title"`
	Start     time.Time `json:"started"`
	Seconds   float64   `json:"seconds"`
	LoadStart string    `json:"load_average_start"`
	LoadEnd   string    `json:"load_average_end"`
	Runs      []result  `json:"runs"`
	Figures   []figure  `json:"figures"`
	Notes     []string  `json:"notes,omitempty"`
	Err       string    `json:"error,omitempty"` // the part could not run

	paired map[string][]float64 // per-round ratios, by figure label
	rounds int                  // how many rounds it runs
}

// result is one timed run of one program.
type result struct {
	Round       int     `json:"round"`
	What        string  `json:"what"`
	MBps        float64 `json:"mb_per_s"` // what the medians use: the program's own figure
	Seconds     float64 `json:"seconds,omitempty"`
	WallSeconds float64 `json:"wall_seconds,omitempty"` // process start to exit
	WallMBps    float64 `json:"wall_mb_per_s,omitempty"`
	Bytes       int64   `json:"bytes"`
	Mode        string  `json:"mode,omitempty"`

	Retransmissions uint64  `json:"retransmissions,omitempty"`
	Lost            uint64  `json:"lost,omitempty"`
	LossEvents      uint64  `json:"loss_events,omitempty"`
	Timeouts        uint64  `json:"timeouts,omitempty"`
	SRTTms          float64 `json:"srtt_ms,omitempty"`
	ImpairLostUp    uint64  `json:"impair_lost_up,omitempty"`
	ImpairLostDown  uint64  `json:"impair_lost_down,omitempty"`

	SenderMaxRSSKiB   int64   `json:"sender_maxrss_kib,omitempty"`
	ReceiverMaxRSSKiB int64   `json:"receiver_maxrss_kib,omitempty"`
	CPUSeconds        float64 `json:"cpu_seconds,omitempty"` // user+system of every process of the run
	// KernelDrops is how much the system-wide Udp RcvbufErrors counter of
	// /proc/net/snmp grew during the transfer: datagrams the kernel dropped
	// because a socket's receive buffer was full (any process's).
	KernelDrops uint64 `json:"kernel_udp_rcvbuf_errors"`

	Verified string   `json:"verified,omitempty"` // "sha256" or "size"
	Warnings []string `json:"warnings,omitempty"` // the processes' "warning:" lines
	Err      string   `json:"error,omitempty"`
}

func (r result) ok() bool { return r.Err == "" }

// figure is a median, a ratio or a goal check.
type figure struct {
	What  string `json:"what"`
	Value num    `json:"value"`
	Unit  string `json:"unit"`
	N     int    `json:"n,omitempty"` // samples behind a median
	Goal  string `json:"goal,omitempty"`
	Met   *bool  `json:"met,omitempty"`
}

// num is a float64 that is null in JSON when it is not a number (a median
// of nothing).
type num float64

func (n num) MarshalJSON() ([]byte, error) {
	v := float64(n)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

func (p *part) add(r result) {
	p.Runs = append(p.Runs, r)
}

func (p *part) note(format string, a ...any) {
	s := fmt.Sprintf(format, a...)
	if !slices.Contains(p.Notes, s) {
		p.Notes = append(p.Notes, s)
	}
}

// values returns v of every successful run named what.
func (p *part) values(what string, v func(result) float64) []float64 {
	var xs []float64
	for _, r := range p.Runs {
		if r.What == what && r.ok() {
			xs = append(xs, v(r))
		}
	}
	return xs
}

// runValue returns v of the successful run named what in round.
func (p *part) runValue(what string, round int, v func(result) float64) (float64, bool) {
	for _, r := range p.Runs {
		if r.What == what && r.Round == round && r.ok() {
			return v(r), true
		}
	}
	return 0, false
}

func ownMBps(r result) float64  { return r.MBps }
func wallMBps(r result) float64 { return r.WallMBps }

// cpuPerGB is the CPU time of every process of a run per 1e9 bytes moved.
func cpuPerGB(r result) float64 { return r.CPUSeconds / (float64(r.Bytes) / 1e9) }

// medianFig adds the median of v, in unit, over the successful runs named
// what.
func (p *part) medianFig(label, what, unit string, v func(result) float64) figure {
	xs := p.values(what, v)
	f := figure{What: label, Value: num(median(xs)), Unit: unit, N: len(xs)}
	p.Figures = append(p.Figures, f)
	return f
}

// ratioFig adds num/den; goal, if not empty, is a minimum.
func (p *part) ratioFig(label string, a, c figure, goal float64) {
	f := figure{What: label, Value: a.Value / c.Value, Unit: "ratio"}
	if a.N == 0 || c.N == 0 {
		f.Value = num(math.NaN())
	}
	if goal > 0 {
		f.Goal = fmt.Sprintf(">= %g", goal)
		met := float64(f.Value) >= goal
		f.Met = &met
	}
	p.Figures = append(p.Figures, f)
}

// pair records one round's ratio of two runs, when both succeeded.
func (p *part) pair(label string, round int, num, den string, v func(result) float64) {
	a, ok1 := p.runValue(num, round, v)
	c, ok2 := p.runValue(den, round, v)
	if ok1 && ok2 && c > 0 {
		p.paired[label] = append(p.paired[label], a/c)
	}
}

// pairedFig adds the median of the per-round ratios recorded as label.
func (p *part) pairedFig(label string) {
	xs := p.paired[label]
	p.Figures = append(p.Figures, figure{What: label, Value: num(median(xs)), Unit: "ratio", N: len(xs)})
}

// goalFig adds a yes/no goal.
func (p *part) goalFig(label string, value float64, unit, goal string, met bool) {
	p.Figures = append(p.Figures, figure{What: label, Value: num(value), Unit: unit, Goal: goal, Met: &met})
}

// median returns the median of xs, NaN when there is none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// progress prints one finished run.
func (b *bench) progress(p *part, r result) {
	if !r.ok() {
		fmt.Fprintf(b.log, "  [%s %d/%d] %s: FAILED: %s\n", p.Name, r.Round, p.rounds, r.What, r.Err)
		return
	}
	extra := ""
	if r.Mode != "" {
		extra = fmt.Sprintf(", %s, %d retransmissions, %d lost", r.Mode, r.Retransmissions, r.Lost)
	}
	fmt.Fprintf(b.log, "  [%s %d/%d] %s: %.1f MB/s (%.2f s%s)\n", p.Name, r.Round, p.rounds, r.What, r.MBps, r.Seconds, extra)
}

// --- part 1: quic ---

const (
	whatPlain     = "netkit extended (files)"
	whatSealed    = "netkit extended --secret (files)"
	whatQUIC      = "quic-go one stream (memory)"
	whatMemPlain  = "netkit extended (memory, go test -bench)"
	whatMemSealed = "netkit sealed (memory, go test -bench)"
)

func (b *bench) partQUIC(ctx context.Context, p *part) {
	quicDir := b.opt.quicDir
	if quicDir == "" {
		quicDir = filepath.Join(b.modRoot, "..", "shared", "bench", "quicbench")
	}
	fmt.Fprintf(b.log, "  go build %s; go test -c ./internal/rudp\n", quicDir)
	quicBin := filepath.Join(b.root, "quicbench")
	if err := benchproc.Go(ctx, quicDir, "build", "-o", quicBin, "."); err != nil {
		p.Err = err.Error()
		return
	}
	testBin := filepath.Join(b.root, "rudp.test")
	if err := benchproc.Go(ctx, b.modRoot, "test", "-c", "-o", testBin, "./internal/rudp"); err != nil {
		p.note("no in-memory figure: %v", err)
		testBin = ""
	}
	size := int64(b.opt.mib) << 20
	fmt.Fprintf(b.log, "  writing a %d MiB random file\n", b.opt.mib)
	src, err := makeSource(filepath.Join(b.root, "quic-src.bin"), size, false)
	if err != nil {
		p.Err = err.Error()
		return
	}
	defer os.Remove(src.path)
	p.note("netkit: a %d MiB random file from %s (page cache) to a fresh receiver directory beside it; MB/s is netkit's own figure (1e6 bytes/s, session start to end, handshake included, process start not)", b.opt.mib, b.opt.dir)
	p.note("quic-go: %d MiB from one buffer to io.Discard in one process, timed after the handshake", b.opt.mib)

rounds:
	for round := 1; round <= b.opt.runs && ctx.Err() == nil; round++ {
		steps := []func() result{
			func() result { return b.netkitTransfer(ctx, xfer{what: whatPlain, src: src}) },
			func() result { return b.quicRun(ctx, quicBin, b.opt.mib) },
			func() result { return b.netkitTransfer(ctx, xfer{what: whatSealed, src: src, sealed: true}) },
			func() result { return b.quicRun(ctx, quicBin, b.opt.mib) },
		}
		var quics []result
		for _, step := range steps {
			if ctx.Err() != nil {
				break rounds
			}
			r := step()
			r.Round = round
			b.progress(p, r)
			p.add(r)
			if r.What == whatQUIC {
				quics = append(quics, r)
			}
		}
		// Each netkit run against the quic-go run right after it.
		for i, w := range []string{whatPlain, whatSealed} {
			a, ok := p.runValue(w, round, ownMBps)
			if ok && i < len(quics) && quics[i].ok() {
				lbl := "paired " + w + " / quic-go"
				p.paired[lbl] = append(p.paired[lbl], a/quics[i].MBps)
			}
		}
		if testBin != "" && ctx.Err() == nil {
			for _, r := range b.inMemory(ctx, testBin) {
				r.Round = round
				b.progress(p, r)
				p.add(r)
			}
		}
	}
	plain := p.medianFig("median "+whatPlain, whatPlain, "MB/s", ownMBps)
	sealed := p.medianFig("median "+whatSealed, whatSealed, "MB/s", ownMBps)
	quic := p.medianFig("median "+whatQUIC, whatQUIC, "MB/s", ownMBps)
	var memPlain, memSealed figure
	if testBin != "" {
		memPlain = p.medianFig("median "+whatMemPlain, whatMemPlain, "MB/s", ownMBps)
		memSealed = p.medianFig("median "+whatMemSealed, whatMemSealed, "MB/s", ownMBps)
	}
	p.ratioFig("netkit extended (files) / quic-go", plain, quic, 0)
	p.ratioFig("netkit --secret (files) / quic-go", sealed, quic, 0)
	if testBin != "" {
		p.ratioFig("netkit extended (memory) / quic-go", memPlain, quic, 0)
		p.ratioFig("netkit sealed (memory) / quic-go", memSealed, quic, 0)
	}
	p.pairedFig("paired " + whatPlain + " / quic-go")
	p.pairedFig("paired " + whatSealed + " / quic-go")
	// On two shared cores the rates are bounded by CPU: how much each
	// spends says why.
	for _, w := range []string{whatPlain, whatSealed, whatQUIC} {
		p.medianFig("median CPU of "+w, w, "cpu s/GB", cpuPerGB)
	}
}

// quicRun runs the quic-go reference once.
func (b *bench) quicRun(ctx context.Context, bin string, mib int) result {
	r := result{What: whatQUIC, Bytes: int64(mib) << 20}
	p, err := b.runToEnd(ctx, b.budget(r.Bytes), "quicbench", "", bin, "-mib", strconv.Itoa(mib))
	if err != nil {
		r.Err = err.Error()
		return r
	}
	_, r.CPUSeconds = usage(p)
	r.WallSeconds = p.Wall().Seconds()
	for _, l := range p.lines() {
		if mbps, sec, ok := parseQUICLine(l); ok {
			r.MBps, r.Seconds = mbps, sec
			return r
		}
	}
	r.Err = fmt.Sprintf("quicbench printed no rate (%v)%s", p.Err(), p.tail())
	return r
}

// parseQUICLine reads "quic-go: 1024 MiB in 3.89s = 275.7 MB/s".
func parseQUICLine(l string) (mbps, sec float64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(l), "quic-go:")
	if !found {
		return 0, 0, false
	}
	var mib int
	if n, err := fmt.Sscanf(rest, " %d MiB in %fs = %f MB/s", &mib, &sec, &mbps); err != nil || n != 3 {
		return 0, 0, false
	}
	return mbps, sec, true
}

// inMemory runs BenchmarkExtendedLoopback once (2 transfers of 1 GiB
// each, plain and sealed) from a test binary built beforehand.
func (b *bench) inMemory(ctx context.Context, testBin string) []result {
	names := map[string]string{"extended": whatMemPlain, "sealed": whatMemSealed}
	p, err := b.runToEnd(ctx, 5*time.Minute, "rudp.test", filepath.Join(b.modRoot, "internal", "rudp"), testBin,
		"-test.run", "^$", "-test.bench", "ExtendedLoopback", "-test.benchtime", "2x", "-test.count", "1")
	if err != nil {
		return []result{{What: whatMemPlain, Err: err.Error()}}
	}
	var rs []result
	for _, l := range p.lines() {
		name, m, ok := parseBenchLine(l)
		if !ok {
			continue
		}
		sub, _ := strings.CutPrefix(name, "BenchmarkExtendedLoopback/")
		what, ok := names[sub]
		if !ok {
			continue
		}
		r := result{What: what, MBps: m["MB/s"], Bytes: 256 << 20, Retransmissions: uint64(m["retx"]), LossEvents: uint64(m["loss-events"]), SRTTms: m["srtt-µs"] / 1000}
		if ns := m["ns/op"]; ns > 0 {
			r.Seconds = ns / 1e9
		}
		rs = append(rs, r)
	}
	if len(rs) == 0 {
		return []result{{What: whatMemPlain, Err: fmt.Sprintf("no BenchmarkExtendedLoopback lines (%v)%s", p.Err(), p.tail())}}
	}
	return rs
}

// parseBenchLine reads a go test -bench result line: the benchmark's name
// without its -GOMAXPROCS suffix, and its metrics by unit.
func parseBenchLine(l string) (name string, metrics map[string]float64, ok bool) {
	f := strings.Fields(l)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
		return "", nil, false
	}
	if _, err := strconv.Atoi(f[1]); err != nil {
		return "", nil, false
	}
	name = f[0]
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	metrics = make(map[string]float64)
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return "", nil, false
		}
		metrics[f[i+1]] = v
	}
	return name, metrics, true
}

// --- part 2: tftp ---

const (
	whatLegacy = "netkit --legacy --fragment-size 1428 (files)"
	whatATFTP  = "atftp blksize 1428 / tftpd-hpa (files)"
)

func (b *bench) partTFTP(ctx context.Context, p *part) {
	for _, tool := range []string{"in.tftpd", "atftp"} {
		if _, err := exec.LookPath(tool); err != nil {
			p.Err = fmt.Sprintf("%s not found: apt-get install -y tftpd-hpa atftp", tool)
			return
		}
	}
	dir := filepath.Join(b.root, "tftp")
	if err := os.Mkdir(dir, 0o755); err != nil {
		p.Err = err.Error()
		return
	}
	defer os.RemoveAll(dir)
	src, err := makeSource(filepath.Join(dir, "src.bin"), int64(b.opt.tftpMiB)<<20, false)
	if err != nil {
		p.Err = err.Error()
		return
	}
	port, err := freeUDPPort()
	if err != nil {
		p.Err = err.Error()
		return
	}
	srv, err := b.start("in.tftpd", "", "in.tftpd", "-L", "-s", dir, "-a", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		p.Err = err.Error()
		return
	}
	defer b.stop(srv)
	if err := waitUDPBound(ctx, srv, port, 5*time.Second); err != nil {
		p.Err = err.Error()
		return
	}
	p.note("both: %d MiB random file, read from the page cache and written to disk; the ratio is of wall-clock rates (process start to exit) for both, netkit's own figure shown beside", b.opt.tftpMiB)
	p.note("in.tftpd -L -s DIR -a 127.0.0.1:%d (one server for every round); atftp --option \"blksize 1428\" --get", port)
	p.note("cpu s of atftp is the client's alone: in.tftpd serves each transfer from a child udpbench does not wait for; netkit's is sender and receiver")

rounds:
	for round := 1; round <= b.opt.runs && ctx.Err() == nil; round++ {
		for _, step := range []func() result{
			func() result {
				return b.netkitTransfer(ctx, xfer{what: whatLegacy, src: src, legacy: true})
			},
			func() result { return b.atftpRun(ctx, port, src) },
		} {
			if ctx.Err() != nil {
				break rounds
			}
			r := step()
			r.Round = round
			b.progress(p, r)
			p.add(r)
		}
		p.pair("paired netkit legacy / atftp (wall clock)", round, whatLegacy, whatATFTP, wallMBps)
	}
	p.medianFig("median "+whatLegacy+", own timer", whatLegacy, "MB/s", ownMBps)
	nk := p.medianFig("median "+whatLegacy+", wall clock", whatLegacy, "MB/s", wallMBps)
	at := p.medianFig("median "+whatATFTP+", wall clock", whatATFTP, "MB/s", wallMBps)
	p.ratioFig("netkit legacy / atftp (wall clock)", nk, at, 0)
	p.pairedFig("paired netkit legacy / atftp (wall clock)")
}

// atftpRun fetches src from the tftpd on port once.
func (b *bench) atftpRun(ctx context.Context, port int, src source) result {
	r := result{What: whatATFTP, Bytes: src.size}
	out := filepath.Join(b.root, "atftp-out.bin")
	defer os.Remove(out)
	p, err := b.runToEnd(ctx, b.budget(src.size), "atftp", "", "atftp", "--option", "blksize 1428", "--get", "-r", filepath.Base(src.path), "-l", out, "127.0.0.1", strconv.Itoa(port))
	if err != nil {
		r.Err = err.Error()
		return r
	}
	_, r.CPUSeconds = usage(p)
	r.WallSeconds = p.Wall().Seconds()
	r.Seconds = r.WallSeconds
	r.MBps = float64(src.size) / 1e6 / r.WallSeconds
	r.WallMBps = r.MBps
	if p.Err() != nil {
		r.Err = fmt.Sprintf("atftp: %v%s", p.Err(), p.tail())
		return r
	}
	if !strings.Contains(strings.Join(p.all(), "\n"), "blksize = 1428") {
		r.Err = "atftp did not report blksize = 1428 accepted: the rate would be of another block size" + p.tail()
		return r
	}
	r.Verified, r.Err = check(out, src, b.opt.verify)
	return r
}

// waitUDPBound waits until some socket is bound to UDP port on this host,
// which is how a server that prints nothing says it is ready.
func waitUDPBound(ctx context.Context, p *proc, port int, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile("/proc/net/udp"); err == nil && udpBound(string(b), port) {
			return nil
		}
		select {
		case <-tick.C:
		case <-p.Done():
			return fmt.Errorf("%s exited (%v)%s", p.name, p.Err(), p.tail())
		case <-t.C:
			return fmt.Errorf("%s is not bound to udp port %d after %v", p.name, port, timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// udpBound reports whether the /proc/net/udp text lists a socket whose
// local port is port.
func udpBound(text string, port int) bool {
	for l := range strings.SplitSeq(text, "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		if v, err := strconv.ParseUint(hexPort, 16, 16); err == nil && int(v) == port {
			return true
		}
	}
	return false
}

// freeUDPPort returns a UDP port that was free on 127.0.0.1 a moment ago.
func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// --- part 3: impair ---

func lossWhat(loss float64) string {
	return fmt.Sprintf("netkit extended, %g%% loss (files)", loss)
}

func (b *bench) partImpair(ctx context.Context, p *part) {
	size := int64(b.opt.impairMiB) << 20
	src, err := makeSource(filepath.Join(b.root, "impair-src.bin"), size, false)
	if err != nil {
		p.Err = err.Error()
		return
	}
	defer os.Remove(src.path)
	p.note("netkit udp send -> netkit impair --loss X%% --seed S (both directions) -> netkit udp recv; %d MiB random file; round r uses seed %d+r-1", b.opt.impairMiB, b.opt.seed)
	p.note("every datagram crosses the relay, one more process on 2 cores: the 0%% rate is the relay's ceiling, not the direct loopback rate of the quic part")
rounds:
	for round := 1; round <= b.opt.runs && ctx.Err() == nil; round++ {
		for _, loss := range losses {
			if ctx.Err() != nil {
				break rounds
			}
			r := b.netkitTransfer(ctx, xfer{what: lossWhat(loss), src: src, impair: true, loss: loss, seed: b.opt.seed + int64(round) - 1})
			r.Round = round
			b.progress(p, r)
			p.add(r)
		}
		p.pair("paired 1% / 0% loss", round, lossWhat(1), lossWhat(0), ownMBps)
	}
	var meds []figure
	for _, loss := range losses {
		meds = append(meds, p.medianFig("median "+lossWhat(loss), lossWhat(loss), "MB/s", ownMBps))
	}
	p.ratioFig("1% loss / 0% loss", meds[1], meds[0], 0.5)
	p.pairedFig("paired 1% / 0% loss")
	done, tried := 0, 0
	for _, r := range p.Runs {
		if r.What == lossWhat(10) {
			tried++
			if r.ok() {
				done++
			}
		}
	}
	p.goalFig("10% loss: transfers completed and verified", float64(done), fmt.Sprintf("of %d", tried), "all", done == tried && tried > 0)
}

// --- part 4: rss ---

func (b *bench) partRSS(ctx context.Context, p *part) {
	fill := "random"
	if b.opt.rssSparse {
		fill = "sparse"
	}
	fmt.Fprintf(b.log, "  writing a %s %s file\n", fill, fmtBytes(b.opt.rssSize))
	src, err := makeSource(filepath.Join(b.root, "rss-src.bin"), b.opt.rssSize, b.opt.rssSparse)
	if err != nil {
		p.Err = err.Error()
		return
	}
	defer os.Remove(src.path)
	p.note("a %s %s file (%d bytes) in %s; the receiver runs with --max-size 0; peak RSS is getrusage's ru_maxrss of each process (KiB), 64 MB = 64,000,000 bytes", fill, fmtBytes(src.size), src.size, b.opt.dir)
	r := b.netkitTransfer(ctx, xfer{what: "netkit extended, " + fmtBytes(src.size) + " (files)", src: src, forceVerify: true})
	r.Round = 1
	b.progress(p, r)
	p.add(r)
	const goal = 64e6
	snd := float64(r.SenderMaxRSSKiB) * 1024 / 1e6
	rcv := float64(r.ReceiverMaxRSSKiB) * 1024 / 1e6
	p.Figures = append(p.Figures, figure{What: "rate", Value: num(r.MBps), Unit: "MB/s", N: btoi(r.ok())})
	p.goalFig("sender peak RSS", snd, "MB", "< 64 MB", r.SenderMaxRSSKiB > 0 && snd*1e6 < goal)
	p.goalFig("receiver peak RSS", rcv, "MB", "< 64 MB", r.ReceiverMaxRSSKiB > 0 && rcv*1e6 < goal)
	p.goalFig("received SHA-256 equals sent", float64(btoi(r.ok() && r.Verified == "sha256")), "yes=1", "1", r.ok() && r.Verified == "sha256")
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// fmtBytes shows n in the largest binary unit that divides it, or in
// MB.
func fmtBytes(n int64) string {
	for _, u := range []struct {
		s string
		n int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}} {
		if n%u.n == 0 {
			return fmt.Sprintf("%d %s", n/u.n, u.s)
		}
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

// --- netkit transfers ---

// xfer is one netkit transfer to make.
type xfer struct {
	what        string
	src         source
	sealed      bool    // --secret on both ends
	legacy      bool    // --legacy --fragment-size 1428
	impair      bool    // through netkit impair
	loss        float64 // its --loss, percent
	seed        int64   // its --seed
	forceVerify bool    // check the SHA-256 even with -verify=false
}

// sendSummary is what netkit udp send --json prints.
type sendSummary struct {
	Bytes           int64   `json:"bytes"`
	Seconds         float64 `json:"seconds"`
	MBPerSecond     float64 `json:"mb_per_s"`
	Retransmissions uint64  `json:"retransmissions"`
	Timeouts        uint64  `json:"timeouts"`
	SRTTms          float64 `json:"srtt_ms"`
	Mode            string  `json:"mode"`
	Lost            uint64  `json:"lost"`
	LossEvents      uint64  `json:"loss_events"`
	Resumed         int64   `json:"resumed_bytes"`
	Error           string  `json:"error"`
}

// recvEvent is one line of netkit udp recv --json.
type recvEvent struct {
	Event string `json:"event"`
	Addr  string `json:"addr"`
	Name  string `json:"name"`
	Path  string `json:"path"`
	Size  *int64 `json:"size"`
	Error string `json:"error"`
}

// impairCounts is the last line of netkit impair --json.
type impairCounts struct {
	Up, Down *struct {
		Received uint64 `json:"received"`
		Lost     uint64 `json:"lost"`
	}
}

// netkitTransfer starts a fresh receiver (and relay), sends x.src to it
// and checks what arrived.
func (b *bench) netkitTransfer(ctx context.Context, x xfer) result {
	r := result{What: x.what, Bytes: x.src.size}
	fail := func(err error) result {
		r.Err = err.Error()
		return r
	}
	out, err := os.MkdirTemp(b.root, "recv-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(out)

	args := []string{"udp", "recv", "--json", "--listen", "127.0.0.1:0", "--dir", out, "--max-size", "0"}
	if x.sealed {
		args = append(args, "--secret", secret)
	}
	recv, err := b.start("netkit udp recv", "", b.bin, args...)
	if err != nil {
		return fail(err)
	}
	defer b.stop(recv)
	var cur int
	var ev recvEvent
	if _, err := recv.waitLine(ctx, 10*time.Second, &cur, func(l string) bool {
		var e recvEvent
		if json.Unmarshal([]byte(l), &e) != nil || e.Event != "listening" || e.Addr == "" {
			return false
		}
		ev = e
		return true
	}); err != nil {
		return fail(err)
	}
	target := ev.Addr

	var relay *proc
	if x.impair {
		relay, err = b.start("netkit impair", "", b.bin, "impair", "--json", "--listen", "127.0.0.1:0", "--to", target,
			"--loss", strconv.FormatFloat(x.loss, 'g', -1, 64)+"%", "--seed", strconv.FormatInt(x.seed, 10))
		if err != nil {
			return fail(err)
		}
		defer b.stop(relay)
		var rc int
		l, err := relay.waitLine(ctx, 10*time.Second, &rc, func(l string) bool {
			var start struct{ Listen string }
			return json.Unmarshal([]byte(l), &start) == nil && start.Listen != ""
		})
		if err != nil {
			return fail(err)
		}
		var start struct{ Listen string }
		json.Unmarshal([]byte(l), &start)
		target = start.Listen
	}

	args = []string{"udp", "send", "--json"}
	if x.legacy {
		args = append(args, "--legacy", "--fragment-size", "1428")
	}
	if x.sealed {
		args = append(args, "--secret", secret)
	}
	args = append(args, target, x.src.path)
	drops0, _ := rcvbufErrors()
	send, err := b.start("netkit udp send", "", b.bin, args...)
	if err != nil {
		return fail(err)
	}
	defer b.stop(send)
	werr := send.wait(ctx, b.budget(x.src.size))
	if drops1, err := rcvbufErrors(); err == nil && drops1 >= drops0 {
		r.KernelDrops = drops1 - drops0
	}
	if werr != nil {
		return fail(werr)
	}
	r.SenderMaxRSSKiB, r.CPUSeconds = usage(send)
	r.WallSeconds = send.Wall().Seconds()
	r.WallMBps = float64(x.src.size) / 1e6 / r.WallSeconds
	var sum sendSummary
	found := false
	for _, l := range send.lines() {
		var s sendSummary
		if json.Unmarshal([]byte(l), &s) == nil && s.Mode != "" {
			sum, found = s, true
		}
	}
	r.Warnings = append(r.Warnings, send.warnings()...)
	if !found {
		return fail(fmt.Errorf("netkit udp send printed no summary (%v)%s", send.Err(), send.tail()))
	}
	r.MBps, r.Seconds, r.Mode = sum.MBPerSecond, sum.Seconds, sum.Mode
	r.Retransmissions, r.Lost, r.LossEvents, r.Timeouts, r.SRTTms = sum.Retransmissions, sum.Lost, sum.LossEvents, sum.Timeouts, sum.SRTTms
	switch {
	case sum.Error != "":
		return fail(fmt.Errorf("netkit udp send: %s", sum.Error))
	case send.Err() != nil:
		return fail(fmt.Errorf("netkit udp send: %v%s", send.Err(), send.tail()))
	case sum.Bytes != x.src.size:
		return fail(fmt.Errorf("netkit udp send sent %d bytes, want %d", sum.Bytes, x.src.size))
	case sum.Resumed != 0:
		return fail(fmt.Errorf("netkit udp send resumed %d bytes: not a whole transfer", sum.Resumed))
	}
	want := "extended"
	switch {
	case x.legacy:
		want = "legacy"
	case x.sealed:
		want = "extended, sealed"
	}
	if sum.Mode != want {
		return fail(fmt.Errorf("netkit spoke %q, not %q (a fallback?)", sum.Mode, want))
	}

	// The sender is done once the receiver has confirmed the whole file;
	// the receiver's event line may trail it a little.
	if _, err := recv.waitLine(ctx, 30*time.Second, &cur, func(l string) bool {
		var e recvEvent
		if json.Unmarshal([]byte(l), &e) != nil || e.Event != "file" && e.Error == "" {
			return false
		}
		ev = e
		return true
	}); err != nil {
		return fail(fmt.Errorf("receiver: %w", err))
	}
	if ev.Error != "" {
		return fail(fmt.Errorf("receiver: %s: %s", ev.Event, ev.Error))
	}
	if relay != nil {
		b.stop(relay)
		for _, l := range relay.lines() {
			var c impairCounts
			if json.Unmarshal([]byte(l), &c) == nil && c.Up != nil && c.Down != nil {
				r.ImpairLostUp, r.ImpairLostDown = c.Up.Lost, c.Down.Lost
			}
		}
		_, cpu := usage(relay)
		r.CPUSeconds += cpu
		r.Warnings = append(r.Warnings, relay.warnings()...)
	}
	b.stop(recv)
	rss, cpu := usage(recv)
	r.ReceiverMaxRSSKiB = rss
	r.CPUSeconds += cpu
	r.Warnings = append(r.Warnings, recv.warnings()...)
	if ev.Size == nil || *ev.Size != x.src.size {
		return fail(fmt.Errorf("receiver reported file %q without the right size, want %d bytes", ev.Name, x.src.size))
	}
	r.Verified, r.Err = check(ev.Path, x.src, b.opt.verify || x.forceVerify)
	return r
}

// check compares a received file with its source: its size always, its
// SHA-256 too if hash.
func check(path string, src source, hash bool) (how, errText string) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err.Error()
	}
	if fi.Size() != src.size {
		return "", fmt.Sprintf("received %d bytes, want %d", fi.Size(), src.size)
	}
	if !hash {
		return "size", ""
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return "", err.Error()
	}
	if sum != src.sha {
		return "", fmt.Sprintf("received SHA-256 %s, sent %s", sum, src.sha)
	}
	return "sha256", ""
}

// budget is how long a transfer of n bytes may take.
func (b *bench) budget(n int64) time.Duration {
	return 60*time.Second + time.Duration(float64(n)/(b.opt.minRate*1e6)*float64(time.Second))
}

// --- source files ---

// source is a file to send, with its SHA-256.
type source struct {
	path string
	size int64
	sha  string
}

// makeSource writes a file of size bytes, random or a hole, readable by
// all (tftpd-hpa reads as nobody), and flushes it to disk. The SHA-256 is
// of what was written.
func makeSource(path string, size int64, sparse bool) (source, error) {
	s := source{path: path, size: size}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return s, err
	}
	h := sha256.New()
	if sparse {
		err = f.Truncate(size)
		zero := make([]byte, 1<<20)
		for left := size; left > 0 && err == nil; {
			n := min(left, int64(len(zero)))
			h.Write(zero[:n])
			left -= n
		}
	} else {
		_, err = io.CopyN(io.MultiWriter(f, h), rand.Reader, size)
	}
	if err == nil {
		// Written back now, not while a transfer is being timed.
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return s, fmt.Errorf("write %s: %w", path, err)
	}
	s.sha = hex.EncodeToString(h.Sum(nil))
	return s, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// --- the machine ---

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

// --- processes ---

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
}

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

// usage returns the peak RSS in KiB and the user+system CPU seconds of an
// exited process.
func usage(p *proc) (maxRSSKiB int64, cpu float64) {
	if p.Alive() || p.Cmd.ProcessState == nil {
		return 0, 0
	}
	ru, ok := p.Cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, 0
	}
	return ru.Maxrss, p.CPUAtExit().Seconds()
}

// --- the report ---

func printReport(w io.Writer, rep *report) {
	fmt.Fprintf(w, "udpbench %s  host %s: %s, %d CPUs, Linux %s, %s, netkit %s\n",
		rep.Started.Format("2006-01-02 15:04 MST"), rep.Host.Name, rep.Host.CPU, rep.Host.CPUs, rep.Host.Kernel, rep.Host.Go, rep.Host.Commit)
	fmt.Fprintf(w, "runs per comparison: %d; total %.0f s\n", rep.Runs, rep.Seconds)
	for _, p := range rep.Results {
		fmt.Fprintf(w, "\n== %s: %s\n", p.Name, p.Title)
		fmt.Fprintf(w, "load average (1 5 15 min): start %s, end %s; %.0f s\n", p.LoadStart, p.LoadEnd, p.Seconds)
		if p.Err != "" {
			fmt.Fprintf(w, "PART FAILED: %s\n", p.Err)
		}
		for _, n := range p.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
		if len(p.Runs) > 0 {
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "round\twhat\tMB/s\ts\twall MB/s\tretx\tlost\tsrtt ms\tsnd RSS MB\trcv RSS MB\tcpu s\tkernel drops\tcheck\t")
			var warns []string
			for _, r := range p.Runs {
				check := r.Verified
				if !r.ok() {
					check = "FAILED"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Round, r.What,
					fnum(r.MBps, 1), fnum(r.Seconds, 2), fnum(r.WallMBps, 1),
					inum(r.Retransmissions, r.Mode != "" || r.Retransmissions > 0), inum(r.Lost, r.Mode != ""), fnum(r.SRTTms, 2),
					fnum(float64(r.SenderMaxRSSKiB)*1024/1e6, 1), fnum(float64(r.ReceiverMaxRSSKiB)*1024/1e6, 1),
					fnum(r.CPUSeconds, 2), inum(r.KernelDrops, r.Mode != ""), check)
				for _, x := range r.Warnings {
					if !slices.Contains(warns, x) {
						warns = append(warns, x)
					}
				}
			}
			tw.Flush()
			for _, r := range p.Runs {
				if r.ImpairLostUp+r.ImpairLostDown > 0 {
					fmt.Fprintf(w, "  round %d %s: the relay dropped %d datagrams up, %d down\n", r.Round, r.What, r.ImpairLostUp, r.ImpairLostDown)
				}
				if !r.ok() {
					fmt.Fprintf(w, "  round %d %s FAILED: %s\n", r.Round, r.What, r.Err)
				}
			}
			for _, x := range warns {
				fmt.Fprintf(w, "  %s\n", x)
			}
		}
		if len(p.Figures) > 0 {
			fmt.Fprintln(w)
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "figure\tvalue\tunit\tn\tgoal\t")
			for _, f := range p.Figures {
				goal := f.Goal
				if f.Met != nil {
					if *f.Met {
						goal += "  met"
					} else {
						goal += "  MISSED"
					}
				}
				prec := 1
				if f.Unit == "ratio" {
					prec = 2
				}
				n := ""
				if f.N > 0 {
					n = strconv.Itoa(f.N)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", f.What, fnum(float64(f.Value), prec), f.Unit, n, goal)
			}
			tw.Flush()
		}
	}
}

// fnum formats v with prec decimals, blank for zero.
func fnum(v float64, prec int) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case v == 0:
		return ""
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// inum formats n, blank when zero and not meaningful.
func inum(n uint64, show bool) string {
	if n == 0 && !show {
		return ""
	}
	return strconv.FormatUint(n, 10)
}
