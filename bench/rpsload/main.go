// Command rpsload is the load benchmark of netkit's rock-paper-scissors
// server (issue 9): it starts `netkit rps serve` as a separate process,
// connects 2×N players over loopback, which the server pairs in arrival
// order, holds them until all N games are in play at once (and reads the
// server's memory then), and lets every pair play a whole game, each bot
// moving at random as soon as it is asked. Every round's result, at each
// player, is timed from the later of the two players' moves. It repeats
// that -runs times, on a fresh server each time, and prints each run and
// the medians, with the load average beside. See README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/netkit/netkit/bench/internal/benchproc"
)

func main() { benchproc.Main("rpsload", run) }

// options are the command-line flags.
type options struct {
	games      int
	runs       int
	dialConc   int
	timeout    time.Duration
	think      time.Duration
	settle     time.Duration
	bin        string
	serverArgs string
	asJSON     bool
	pprofDir   string
	goalP99    time.Duration
	goalKiB    float64
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	var o options
	fs := flag.NewFlagSet("rpsload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.games, "games", 2000, "games at once: 2×N players connected")
	fs.IntVar(&o.runs, "runs", 3, "runs, each on a fresh server; the medians are reported")
	fs.IntVar(&o.dialConc, "dial-concurrency", 64, "most players connecting at once")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Minute, "limit on each dial, on connecting everyone, and on playing every game")
	fs.DurationVar(&o.think, "think", 0, "most time a bot waits before each move, uniformly from 0 (0: it moves as soon as asked, as issue 9 says)")
	fs.DurationVar(&o.settle, "settle", time.Second, "wait before each memory reading")
	fs.StringVar(&o.bin, "bin", "", "netkit binary to run (default: go build ./cmd/netkit)")
	fs.StringVar(&o.serverArgs, "server-args", "", "extra arguments for 'netkit rps serve', space-separated")
	fs.BoolVar(&o.asJSON, "json", false, "print the results as JSON")
	fs.StringVar(&o.pprofDir, "pprof", "", "run nkprof (netkit plus pprof) and save into `DIR`, for each run: heap and goroutine profiles with every game in play, a CPU profile of the play's first 5 s, the goroutines 0.3 s into the play, and heap profiles every 0.3 s after")
	fs.DurationVar(&o.goalP99, "goal-p99", 50*time.Millisecond, "goal: 99th percentile of move-to-result latency")
	fs.Float64Var(&o.goalKiB, "goal-kib", 20, "goal: server RSS per connected player, in KiB")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./bench/rpsload [flags]\n\nPlays N rock-paper-scissors games at once against netkit rps serve and reports latency and memory.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, benchproc.UsageError{Err: err}
	}
	switch {
	case fs.NArg() > 0:
		return nil, benchproc.Usagef("unexpected argument %q", fs.Arg(0))
	case o.games < 1:
		return nil, benchproc.Usagef("-games %d: want 1 or more", o.games)
	case o.runs < 1:
		return nil, benchproc.Usagef("-runs %d: want 1 or more", o.runs)
	case o.pprofDir != "" && o.bin != "":
		return nil, benchproc.Usagef("-pprof builds nkprof: leave out -bin")
	case o.timeout <= 0:
		return nil, benchproc.Usagef("-timeout %v: want a positive duration", o.timeout)
	}
	return &o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	// 2N sockets here and 2N in the server, each process with its own
	// limit, which the server inherits.
	if _, err := benchproc.RaiseNoFile(uint64(2*o.games+256), "games"); err != nil {
		return err
	}
	bin := o.bin
	if bin == "" {
		pkg, name := "./cmd/netkit", "netkit"
		if o.pprofDir != "" {
			pkg, name = "./bench/nkprof", "nkprof"
		}
		dir, err := os.MkdirTemp("", "rpsload")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if bin, err = benchproc.Build(ctx, pkg, dir, name); err != nil {
			return err
		}
	}
	var runs []report
	for i := range o.runs {
		r, err := oneRun(ctx, o, bin, i+1)
		if err != nil {
			return fmt.Errorf("run %d: %w", i+1, err)
		}
		r.Run = i + 1
		runs = append(runs, r)
		if !o.asJSON {
			r.print(stdout)
		}
	}
	sum := summarize(runs, o)
	if o.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Runs   []report `json:"runs"`
			Median summary  `json:"median"`
		}{runs, sum}); err != nil {
			return err
		}
	} else {
		sum.print(stdout)
	}
	if !sum.Met {
		return benchproc.ErrGoalMissed
	}
	return nil
}

// serverArgs are the flags of `netkit rps serve` for a load run: no
// connection limits (the load comes from one address), the games and
// waiting players unbounded, a move timeout that the held phase cannot
// reach, and a line rate no game of bots comes near.
func serverArgs(o *options) []string {
	args := []string{"rps", "serve", "--listen", "127.0.0.1:0", "--json", "--log-level", "warn",
		"--max-conns", "-1", "--max-conns-per-ip", "-1", "--max-games", "-1", "--max-waiting", "-1",
		"--move-timeout", "10m", "--rps-rate", "100", "--rps-burst", "100"}
	return append(args, strings.Fields(o.serverArgs)...)
}

// oneRun starts a server, plays the load against it, and stops it.
func oneRun(ctx context.Context, o *options, bin string, run int) (report, error) {
	r := report{Games: o.games, Players: 2 * o.games, ThinkMS: float64(o.think) / 1e6, LoadBefore: strings.Join(benchproc.LoadAvgs(), " ")}
	srv, addr, pprof, err := benchproc.StartNetkit(ctx, bin, serverArgs(o), nil, "rps", 30*time.Second)
	if err != nil {
		return r, err
	}
	defer srv.Stop(10 * time.Second)
	sleep(ctx, o.settle)
	base, err := benchproc.ReadMem(srv.PID)
	if err != nil {
		return r, err
	}
	r.BaseRSSKiB = base.RSS

	// The peak: sampled from the end of the connecting until the end.
	var peakMu sync.Mutex
	peak := int64(0)
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	var profiled sync.WaitGroup
	defer profiled.Wait()
	var cpuHeld, selfHeld time.Duration
	var ioHeld syscalls
	var machineHeld benchproc.MachineCPU
	ph := phases{held: func() {
		sleep(ctx, o.settle)
		if m, err := benchproc.ReadMem(srv.PID); err == nil {
			r.HeldRSSKiB = m.RSS
			r.Threads = m.Threads
		}
		cpuHeld, _ = benchproc.CPUTime(srv.PID)
		ioHeld = readIO(srv.PID)
		if pprof != "" && o.pprofDir != "" {
			prefix := filepath.Join(o.pprofDir, fmt.Sprintf("run%d-", run))
			if err := fetch(ctx, pprof+"/debug/pprof/heap", prefix+"heap.pprof"); err != nil {
				fmt.Fprintf(os.Stderr, "rpsload: heap profile: %v\n", err)
			}
			// The text form ends with runtime.MemStats: stacks, heap, GC.
			if err := fetch(ctx, pprof+"/debug/pprof/heap?debug=1", prefix+"heap.txt"); err != nil {
				fmt.Fprintf(os.Stderr, "rpsload: heap profile: %v\n", err)
			}
			if err := fetch(ctx, pprof+"/debug/pprof/goroutine?debug=1", prefix+"goroutine.txt"); err != nil {
				fmt.Fprintf(os.Stderr, "rpsload: goroutine profile: %v\n", err)
			}
			profiled.Add(2)
			go func() {
				defer profiled.Done()
				if err := fetch(ctx, pprof+"/debug/pprof/profile?seconds=5", prefix+"cpu.pprof"); err != nil {
					fmt.Fprintf(os.Stderr, "rpsload: CPU profile: %v\n", err)
				}
			}()
			go func() {
				// The goroutines a moment into the play: readers, and the
				// writers running then.
				defer profiled.Done()
				sleep(ctx, 300*time.Millisecond)
				if err := fetch(ctx, pprof+"/debug/pprof/goroutine?debug=1", prefix+"goroutine-play.txt"); err != nil {
					fmt.Fprintf(os.Stderr, "rpsload: goroutine profile: %v\n", err)
				}
				for i := range 5 {
					sleep(ctx, 300*time.Millisecond)
					if err := fetch(ctx, pprof+"/debug/pprof/heap?debug=1", prefix+fmt.Sprintf("heap-play%d.txt", i)); err != nil {
						fmt.Fprintf(os.Stderr, "rpsload: heap profile: %v\n", err)
					}
					if err := fetch(ctx, pprof+"/debug/pprof/heap", prefix+fmt.Sprintf("heap-play%d.pprof", i)); err != nil {
						fmt.Fprintf(os.Stderr, "rpsload: heap profile: %v\n", err)
					}
				}
			}()
		}
		selfHeld = benchproc.SelfCPU()
		machineHeld = benchproc.ReadMachineCPU()
		go func() {
			defer close(sampled)
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				if m, err := benchproc.ReadMem(srv.PID); err == nil {
					peakMu.Lock()
					peak = max(peak, m.RSS)
					peakMu.Unlock()
				}
				select {
				case <-tick.C:
				case <-stopSampling:
					return
				}
			}
		}()
	}}
	lr := runLoad(ctx, addr.String(), loadConfig{games: o.games, dialConc: o.dialConc, timeout: o.timeout, think: o.think}, ph)
	close(stopSampling)
	<-sampled
	cpuEnd, _ := benchproc.CPUTime(srv.PID)
	ioEnd := readIO(srv.PID)
	selfEnd := benchproc.SelfCPU()
	machineEnd := benchproc.ReadMachineCPU()
	r.PeakRSSKiB = max(peak, r.HeldRSSKiB)
	r.fill(lr)
	if lr.PlaySeconds > 0 {
		r.ServerCPUPct = 100 * (cpuEnd - cpuHeld).Seconds() / lr.PlaySeconds
		r.LoadgenCPUPct = 100 * (selfEnd - selfHeld).Seconds() / lr.PlaySeconds
		r.MachineCPUPct = busyPct(machineHeld.Busy, machineEnd.Busy, lr.PlaySeconds)
	}
	if lr.Rounds > 0 {
		r.ServerCPUPerRoundUS = float64((cpuEnd - cpuHeld).Microseconds()) / float64(lr.Rounds)
		if ioHeld.ok && ioEnd.ok {
			r.ReadsPerRound = float64(ioEnd.reads-ioHeld.reads) / float64(lr.Rounds)
			r.WritesPerRound = float64(ioEnd.writes-ioHeld.writes) / float64(lr.Rounds)
		}
	}
	r.ServerAlive = srv.Alive()
	r.LoadAfter = strings.Join(benchproc.LoadAvgs(), " ")
	return r, nil
}

// syscalls counts a process's read and write system calls.
type syscalls struct {
	reads, writes int64
	ok            bool
}

// readIO reads pid's syscr and syscw from /proc/PID/io.
func readIO(pid int) syscalls {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return syscalls{}
	}
	var s syscalls
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "syscr":
			s.reads, s.ok = n, true
		case "syscw":
			s.writes = n
		}
	}
	return s
}

// fetch saves what url answers into path.
func fetch(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// median returns the median of xs (the mean of the middle two for an even
// count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
