// Command udpbench measures netkit's reliable UDP transfer (netkit udp
// send and netkit udp recv) against the goals set for it. Each figure is
// measured next to a reference run on the same machine a moment before or
// after it, and is quoted as a ratio of medians:
//
//   - quic: the extended mode over loopback, files on disk, plain and with
//     --secret, against quic-go's one stream (in memory); netkit's own
//     in-memory benchmark (BenchmarkExtendedLoopback) as a second figure.
//     Goal: sealed at least 0.9 times plain.
//   - nc: the extended mode, file to file over loopback (the receiver
//     fsyncs before it confirms), against nc into a file followed by sync
//     on the same file, by wall time. Goal: netkit takes no longer.
//   - dd: the same netkit transfer against dd conv=fsync writing as many
//     bytes to the same disk. Goal: at least 0.8 times dd's rate.
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
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
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

// partNames are the parts in the order they run.
var partNames = []string{"quic", "nc", "dd", "tftp", "impair", "rss"}

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
	only := fs.String("only", strings.Join(partNames, ","), "comma-separated parts to run: "+strings.Join(partNames, ", "))
	fs.IntVar(&o.runs, "runs", 3, "rounds of each comparison")
	fs.IntVar(&o.mib, "mib", 512, "MiB of the file sent in the quic, nc and dd parts")
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
		fmt.Fprintf(fs.Output(), "Usage: udpbench [flags]\n\nMeasure netkit udp send/recv against quic-go, nc+sync, dd, atftp, loss and memory goals. See README.md.\n\nFlags:\n")
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
	src     *source         // the -mib file of the quic, nc and dd parts, once written

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
		case "nc":
			b.partNC(ctx, p)
		case "dd":
			b.partDD(ctx, p)
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
	"nc":     "extended mode, file to file, receiver syncing, vs nc over loopback TCP into a file, then sync",
	"dd":     "extended mode, file to file, receiver syncing, vs the disk's own rate: dd conv=fsync",
	"tftp":   "legacy stop-and-wait, fragment 1428, files on disk, vs atftp blksize 1428 from tftpd-hpa",
	"impair": "extended mode through netkit impair (loss both ways), files on disk",
	"rss":    "one large file, extended mode over loopback: peak RSS of sender and receiver, SHA-256",
}
