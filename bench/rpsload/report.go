package main

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"text/tabwriter"
	"time"
)

// latency is a set of percentiles, in milliseconds.
type latency struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

func latencyOf(d []time.Duration) latency {
	ms := func(v time.Duration) float64 { return math.Round(float64(v)/1e3) / 1e3 }
	l := latency{N: len(d)}
	if len(d) == 0 {
		return l
	}
	l.P50, l.P90, l.P99 = ms(percentile(d, 50)), ms(percentile(d, 90)), ms(percentile(d, 99))
	l.Max = ms(d[len(d)-1])
	return l
}

func (l latency) String() string {
	return fmt.Sprintf("p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (%d results)", l.P50, l.P90, l.P99, l.Max, l.N)
}

// report is one run; it is also the -json output.
type report struct {
	Run        int     `json:"run"`
	Games      int     `json:"games"`
	Players    int     `json:"players"`
	ThinkMS    float64 `json:"think_ms"`
	LoadBefore string  `json:"loadavg_before"`
	LoadAfter  string  `json:"loadavg_after"`

	Matched        int     `json:"players_matched"`
	Finished       int     `json:"games_finished"`
	Forfeits       int     `json:"games_forfeited"`
	Wins           int     `json:"wins"`
	Losses         int     `json:"losses"`
	Errors         int     `json:"errors"`
	FirstError     string  `json:"first_error,omitempty"`
	ConnectSeconds float64 `json:"connect_seconds"`
	PlaySeconds    float64 `json:"play_seconds"`
	Rounds         int     `json:"rounds"`
	RoundsPerSec   float64 `json:"rounds_per_second"`
	Unpaired       int     `json:"results_untimed"`

	Latency latency `json:"move_to_result"`
	Round1  latency `json:"round1"` // every game's first moves go at once
	Later   latency `json:"later_rounds"`

	BaseRSSKiB   int64   `json:"base_rss_kib"`
	HeldRSSKiB   int64   `json:"held_rss_kib"` // every player connected, every game in play
	PeakRSSKiB   int64   `json:"peak_rss_kib"`
	Threads      int64   `json:"threads_held"`
	KiBPerPlayer float64 `json:"peak_rss_kib_per_player"`
	// AddedPerPlayer leaves out the idle server's RSS.
	AddedPerPlayer float64 `json:"added_rss_kib_per_player"`
	ServerCPUPct   float64 `json:"server_cpu_pct"`
	LoadgenCPUPct  float64 `json:"rpsload_cpu_pct"`
	MachineCPUPct  float64 `json:"machine_cpu_pct"`
	ServerAlive    bool    `json:"server_alive"`
	// The server's work per round played, whatever else the machine
	// runs: CPU time, and read and write system calls.
	ServerCPUPerRoundUS float64 `json:"server_cpu_us_per_round"`
	ReadsPerRound       float64 `json:"server_reads_per_round"`
	WritesPerRound      float64 `json:"server_writes_per_round"`
}

func (r *report) fill(lr loadResult) {
	r.Matched, r.Finished, r.Forfeits = lr.Matched, lr.Finished, lr.Forfeits
	r.Wins, r.Losses, r.Errors, r.FirstError = lr.Wins, lr.Losses, lr.Errors, lr.FirstError
	r.ConnectSeconds, r.PlaySeconds, r.Rounds, r.Unpaired = lr.ConnectSeconds, lr.PlaySeconds, lr.Rounds, lr.Unpaired
	if lr.PlaySeconds > 0 {
		r.RoundsPerSec = float64(lr.Rounds) / lr.PlaySeconds
	}
	r.Latency, r.Round1, r.Later = latencyOf(lr.Latency), latencyOf(lr.Round1), latencyOf(lr.Later)
	r.KiBPerPlayer = float64(r.PeakRSSKiB) / float64(max(r.Players, 1))
	r.AddedPerPlayer = float64(r.PeakRSSKiB-r.BaseRSSKiB) / float64(max(r.Players, 1))
}

// busyPct is the machine's CPU use between two readings over wall, as a
// percentage of all its CPUs.
func busyPct(before, after time.Duration, wall float64) float64 {
	if wall <= 0 {
		return 0
	}
	return 100 * (after - before).Seconds() / wall / float64(runtime.NumCPU())
}

func (r *report) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "  %s\t%s\n", k, fmt.Sprintf(format, a...)) }
	think := "moving as soon as asked"
	if r.ThinkMS > 0 {
		think = fmt.Sprintf("each move after 0 to %.0f ms", r.ThinkMS)
	}
	fmt.Fprintf(tw, "run %d: %d games at once, %d players %s (load average %s before, %s after)\n", r.Run, r.Games, r.Players, think, r.LoadBefore, r.LoadAfter)
	row("connected and matched", "%d of %d players in %.2f s", r.Matched, r.Players, r.ConnectSeconds)
	row("games finished", "%d of %d (%d by forfeit), %d wins, %d losses, %d errors", r.Finished, r.Games, r.Forfeits, r.Wins, r.Losses, r.Errors)
	if r.FirstError != "" {
		row("first error", "%s", r.FirstError)
	}
	row("play", "%.2f s, %d rounds, %.0f rounds/s", r.PlaySeconds, r.Rounds, r.RoundsPerSec)
	row("move to result", "%s", r.Latency)
	row("  round 1 (all at once)", "%s", r.Round1)
	row("  later rounds", "%s", r.Later)
	row("server RSS", "%s idle, %s with every game in play, %s peak: %.1f KiB per player (%.1f KiB above idle)", mib(r.BaseRSSKiB), mib(r.HeldRSSKiB), mib(r.PeakRSSKiB), r.KiBPerPlayer, r.AddedPerPlayer)
	row("CPU during play", "server %.0f%%, rpsload %.0f%% (of one core), machine %.0f%% of %d cores", r.ServerCPUPct, r.LoadgenCPUPct, r.MachineCPUPct, runtime.NumCPU())
	row("server work per round", "%.0f µs of CPU, %.2f reads and %.2f writes", r.ServerCPUPerRoundUS, r.ReadsPerRound, r.WritesPerRound)
	row("server alive at the end", "%v", r.ServerAlive)
	tw.Flush()
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

// summary is the medians over the runs, and the goals.
type summary struct {
	Runs          int      `json:"runs"`
	Games         int      `json:"games"`
	Loads         []string `json:"loadavgs"`
	AllFinished   bool     `json:"all_games_finished_every_run"`
	P50           float64  `json:"p50_ms"`
	P99           float64  `json:"p99_ms"`
	Max           float64  `json:"max_ms"`
	Round1P99     float64  `json:"round1_p99_ms"`
	LaterP99      float64  `json:"later_rounds_p99_ms"`
	PlaySeconds   float64  `json:"play_seconds"`
	RoundsPerSec  float64  `json:"rounds_per_second"`
	PeakRSSKiB    float64  `json:"peak_rss_kib"`
	KiBPerPlayer  float64  `json:"peak_rss_kib_per_player"`
	AddedKiB      float64  `json:"added_rss_kib_per_player"`
	ServerCPUPct  float64  `json:"server_cpu_pct"`
	LoadgenCPUPct float64  `json:"rpsload_cpu_pct"`
	CPUPerRoundUS float64  `json:"server_cpu_us_per_round"`
	GoalP99       float64  `json:"goal_p99_ms"`
	GoalKiB       float64  `json:"goal_kib_per_player"`
	Met           bool     `json:"goals_met"`
}

func summarize(runs []report, o *options) summary {
	s := summary{Runs: len(runs), Games: o.games, AllFinished: true,
		GoalP99: float64(o.goalP99) / 1e6, GoalKiB: o.goalKiB}
	col := func(f func(r report) float64) float64 {
		xs := make([]float64, len(runs))
		for i, r := range runs {
			xs[i] = f(r)
		}
		return median(xs)
	}
	for _, r := range runs {
		s.Loads = append(s.Loads, r.LoadAfter)
		if r.Finished != r.Games || r.Errors != 0 || r.Forfeits != 0 || !r.ServerAlive {
			s.AllFinished = false
		}
	}
	s.P50 = col(func(r report) float64 { return r.Latency.P50 })
	s.P99 = col(func(r report) float64 { return r.Latency.P99 })
	s.Max = col(func(r report) float64 { return r.Latency.Max })
	s.Round1P99 = col(func(r report) float64 { return r.Round1.P99 })
	s.LaterP99 = col(func(r report) float64 { return r.Later.P99 })
	s.PlaySeconds = col(func(r report) float64 { return r.PlaySeconds })
	s.RoundsPerSec = col(func(r report) float64 { return r.RoundsPerSec })
	s.PeakRSSKiB = col(func(r report) float64 { return float64(r.PeakRSSKiB) })
	s.KiBPerPlayer = col(func(r report) float64 { return r.KiBPerPlayer })
	s.AddedKiB = col(func(r report) float64 { return r.AddedPerPlayer })
	s.ServerCPUPct = col(func(r report) float64 { return r.ServerCPUPct })
	s.LoadgenCPUPct = col(func(r report) float64 { return r.LoadgenCPUPct })
	s.CPUPerRoundUS = col(func(r report) float64 { return r.ServerCPUPerRoundUS })
	s.Met = s.AllFinished && s.P99 <= s.GoalP99 && s.KiBPerPlayer <= s.GoalKiB
	return s
}

func (s summary) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "  %s\t%s\n", k, fmt.Sprintf(format, a...)) }
	fmt.Fprintf(tw, "median of %d runs, %d games at once (load average after each run: %v)\n", s.Runs, s.Games, s.Loads)
	row("every game finished, every run", "%v", s.AllFinished)
	row("move to result", "p50 %.2f ms, p99 %.2f ms (goal %.0f ms), max %.2f ms", s.P50, s.P99, s.GoalP99, s.Max)
	row("  p99 round 1 / later rounds", "%.2f ms / %.2f ms", s.Round1P99, s.LaterP99)
	row("play", "%.2f s, %.0f rounds/s", s.PlaySeconds, s.RoundsPerSec)
	row("server peak RSS", "%.1f MiB, %.1f KiB per player (goal %.0f KiB), %.1f KiB above idle", s.PeakRSSKiB/1024, s.KiBPerPlayer, s.GoalKiB, s.AddedKiB)
	row("CPU during play", "server %.0f%%, rpsload %.0f%% (of one core); server %.0f µs a round", s.ServerCPUPct, s.LoadgenCPUPct, s.CPUPerRoundUS)
	verdict := "met"
	if !s.Met {
		verdict = "MISSED"
	}
	row("goals", "%s", verdict)
	tw.Flush()
}
