package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

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

	SenderMaxRSSKiB   int64 `json:"sender_maxrss_kib,omitempty"`
	ReceiverMaxRSSKiB int64 `json:"receiver_maxrss_kib,omitempty"`
	// RSSSampled says that a peak RSS above is the process's VmHWM as
	// sampled while it ran, not its ru_maxrss, which was udpbench's own
	// (see peakKiB).
	RSSSampled bool    `json:"rss_sampled,omitempty"`
	CPUSeconds float64 `json:"cpu_seconds,omitempty"` // user+system of every process of the run
	// KernelDrops is how much the system-wide Udp RcvbufErrors counter of
	// /proc/net/snmp grew during the transfer: datagrams the kernel dropped
	// because a socket's receive buffer was full (any process's).
	KernelDrops uint64 `json:"kernel_udp_rcvbuf_errors"`

	// SourceCached is the share of the source file's pages that were in
	// the page cache just before the transfer started, if known.
	SourceCached *float64 `json:"source_in_page_cache,omitempty"`

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

// goal is a bound a figure should keep: at least or at most v. Its zero
// value is no goal.
type goal struct {
	op string // ">=", "<=", or "" for none
	v  float64
}

func atLeast(v float64) goal { return goal{">=", v} }
func atMost(v float64) goal  { return goal{"<=", v} }

func (g goal) String() string {
	if g.op == "" {
		return ""
	}
	return fmt.Sprintf("%s %g", g.op, g.v)
}

// met reports whether x keeps the goal; a value that is not a number
// (a median of nothing) keeps none.
func (g goal) met(x float64) bool {
	switch {
	case math.IsNaN(x):
		return false
	case g.op == ">=":
		return x >= g.v
	case g.op == "<=":
		return x <= g.v
	}
	return false
}

// check sets f's goal, and whether it was met, if g is one.
func (f *figure) check(g goal) {
	if g.op == "" {
		return
	}
	f.Goal = g.String()
	met := g.met(float64(f.Value))
	f.Met = &met
}

// ratioFig adds a/c, the ratio of two medians, checked against g.
func (p *part) ratioFig(label string, a, c figure, g goal) {
	f := figure{What: label, Value: a.Value / c.Value, Unit: "ratio"}
	if a.N == 0 || c.N == 0 {
		f.Value = num(math.NaN())
	}
	f.check(g)
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

// pairedFig adds the median of the per-round ratios recorded as label,
// checked against g.
func (p *part) pairedFig(label string, g goal) {
	xs := p.paired[label]
	f := figure{What: label, Value: num(median(xs)), Unit: "ratio", N: len(xs)}
	f.check(g)
	p.Figures = append(p.Figures, f)
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
				if f.Unit == "ratio" || f.Unit == "s" {
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
