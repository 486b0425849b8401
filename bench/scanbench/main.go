// Command scanbench times `netkit scan` beside nmap's connect scan
// (`nmap -sT`), paired in the same run on the same machine, on the
// figures of netkit's scanner issue, each in network namespaces it makes
// (so it needs root, iproute2, iptables, nmap and prlimit):
//
//   - loopback: every port of 127.0.0.1 (a namespace's own loopback, where
//     nothing else listens) with 40 listeners, netkit -T5 against nmap -T5;
//   - dropped: every port of a host a veth away whose firewall drops ports
//     1-20000, netkit -T4 against nmap -T4;
//   - subnet: a /24 with 30 hosts, some listening, top 100 ports, both at
//     their default timing;
//   - fdlimit: the loopback scan by netkit with the open-file limit at 1024
//     against itself without a lowered limit.
//
// Each round runs the pair in turn (alternating who goes first) and checks
// that both found the same hosts up and the same open ports, and that
// netkit found what is really there. It prints every round, then per
// figure the medians, the ratio, netkit's peak RSS and whether its answer
// was the same in every round, with the load average. See README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/netkit/netkit/bench/internal/benchproc"
)

func main() { benchproc.Main("scanbench", run) }

type config struct {
	bin, nmap string
	rounds    int
	only      []string
	listeners int
}

var figures = []string{"loopback", "dropped", "subnet", "fdlimit"}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("scanbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	var only string
	fs.StringVar(&c.bin, "bin", "", "netkit binary (default: build ./cmd/netkit)")
	fs.StringVar(&c.nmap, "nmap", "nmap", "nmap binary")
	fs.IntVar(&c.rounds, "rounds", 5, "paired rounds per figure")
	fs.StringVar(&only, "only", strings.Join(figures, ","), "figures to run, of "+strings.Join(figures, ","))
	fs.IntVar(&c.listeners, "listeners", 40, "listening ports on loopback")
	if err := fs.Parse(args); err != nil {
		return benchproc.UsageError{Err: err}
	}
	if c.rounds < 1 {
		return benchproc.Usagef("-rounds %d: want at least 1", c.rounds)
	}
	for _, f := range strings.Split(only, ",") {
		if !slices.Contains(figures, f) {
			return benchproc.Usagef("-only: unknown figure %q; want some of %s", f, strings.Join(figures, ","))
		}
		c.only = append(c.only, f)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("scanbench makes network namespaces: run it as root")
	}
	if c.bin == "" {
		dir, err := os.MkdirTemp("", "scanbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if c.bin, err = benchproc.Build(ctx, "./cmd/netkit", dir, "netkit"); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "scanbench: %d rounds; load average %s\n", c.rounds, strings.Join(benchproc.LoadAvgs(), " "))
	var sums []summary
	for _, f := range c.only {
		var s summary
		var err error
		switch f {
		case "loopback":
			s, err = benchLoopback(ctx, &c, stdout)
		case "dropped":
			s, err = benchDropped(ctx, &c, stdout)
		case "subnet":
			s, err = benchSubnet(ctx, &c, stdout)
		case "fdlimit":
			s, err = benchFDLimit(ctx, &c, stdout)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		sums = append(sums, s)
	}
	fmt.Fprintf(stdout, "\n%-9s %9s %9s %6s %6s %9s %7s  %s\n", "figure", "netkit", "ref", "ratio", "goal", "peak RSS", "stable", "reference")
	missed := false
	for _, s := range sums {
		missed = s.print(stdout) || missed
	}
	fmt.Fprintf(stdout, "load average %s\n", strings.Join(benchproc.LoadAvgs(), " "))
	if missed {
		return benchproc.ErrGoalMissed
	}
	return nil
}

// summary is one figure's result over its rounds.
type summary struct {
	name, ref      string
	netkit, other  []time.Duration
	ratios         []float64
	goal           float64
	peakRSS        int64 // KiB, netkit's largest
	stable, agreed bool
}

// print writes the figure's line and reports whether it missed its goal
// (too slow, wrong, or not the same answer every round, or over 64 MB).
func (s summary) print(w io.Writer) (missed bool) {
	ok := "ok"
	if median(s.ratios) > s.goal {
		ok = "MISSED"
	}
	if s.peakRSS > 64<<10 {
		ok = "MISSED: RSS over 64 MB"
	}
	if !s.stable {
		ok = "UNSTABLE"
	}
	if !s.agreed {
		ok = "WRONG"
	}
	fmt.Fprintf(w, "%-9s %8.2fs %8.2fs %6.2f %6.2f %7.1fMB %7v  %s (%s)\n", s.name,
		medianD(s.netkit).Seconds(), medianD(s.other).Seconds(), median(s.ratios), s.goal,
		float64(s.peakRSS)/1024, s.stable, s.ref, ok)
	return ok != "ok"
}

func (s *summary) add(w io.Writer, round int, nk, ref scanResult, want answer) {
	s.netkit, s.other = append(s.netkit, nk.wall), append(s.other, ref.wall)
	s.ratios = append(s.ratios, nk.wall.Seconds()/ref.wall.Seconds())
	s.peakRSS = max(s.peakRSS, nk.maxRSS)
	if round == 0 {
		s.stable, s.agreed = true, true
	}
	agree := nk.answer.equal(ref.answer) && nk.answer.equal(want)
	if !agree {
		s.agreed = false
	}
	if len(s.netkit) > 1 && !nk.answer.equal(want) {
		s.stable = false
	}
	fmt.Fprintf(w, "  %s round %d: netkit %.2fs (%s), %s %.2fs (%s), ratio %.2f, netkit RSS %.1f MB, load %.2f\n",
		s.name, round+1, nk.wall.Seconds(), nk.answer, s.ref, ref.wall.Seconds(), ref.answer,
		nk.wall.Seconds()/ref.wall.Seconds(), float64(nk.maxRSS)/1024, benchproc.LoadAvg())
	if !agree {
		fmt.Fprintf(w, "    DISAGREE: %s\n", nk.answer.diff(ref.answer, want))
		for _, r := range []scanResult{nk, ref} {
			fmt.Fprintf(w, "    %s\n", clipLines(r.raw))
		}
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func medianD(xs []time.Duration) time.Duration {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// clipLines shortens each line of s for a message.
func clipLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 30 {
		lines = append(lines[:30], "…")
	}
	for i, l := range lines {
		if len(l) > 300 {
			lines[i] = l[:150] + " … " + l[len(l)-150:]
		}
	}
	return strings.Join(lines, "\n    ")
}
