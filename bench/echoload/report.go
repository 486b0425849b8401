package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/netkit/netkit/bench/internal/benchproc"
)

// report is everything one run measured; it is also the -json output.
type report struct {
	Conns       int        `json:"conns"`
	CPUs        int        `json:"cpus"`
	ClientProcs int        `json:"echoload_gomaxprocs"`
	NoFile      uint64     `json:"rlimit_nofile"`
	Server      serverInfo `json:"server"`
	Dial        dialResult `json:"dial"`
	DialSeconds float64    `json:"dial_seconds"`
	Mem         struct {
		Baseline  benchproc.Mem `json:"baseline"`
		Idle      benchproc.Mem `json:"idle"`
		AfterLoad benchproc.Mem `json:"after_load"`
	} `json:"server_memory"`
	PerConnKiB struct {
		Idle      float64 `json:"idle"`
		AfterLoad float64 `json:"after_load"`
	} `json:"rss_per_conn_kib"`
	KernelTCP struct {
		Baseline  int64 `json:"baseline"`
		Idle      int64 `json:"idle"`
		AfterLoad int64 `json:"after_load"`
	} `json:"kernel_tcp_mem_kib"`
	Runtime *runtimeInfo `json:"server_runtime,omitempty"`
	Load    loadReport   `json:"load"`
	CPU     struct {
		Server  float64 `json:"server_pct"`
		Client  float64 `json:"echoload_pct"`
		SoftIRQ float64 `json:"softirq_pct"`
		Machine float64 `json:"machine_busy_pct"`
		Others  float64 `json:"other_processes_pct"`
	} `json:"cpu_during_load"` // percent of one core
	Goals goals `json:"goals"`
}

type serverInfo struct {
	Bin  string   `json:"bin"`
	Args []string `json:"args"`
	Env  []string `json:"env,omitempty"`
	PID  int      `json:"pid"`
	Addr string   `json:"addr"`
	Exit string   `json:"exit"`
}

type runtimeInfo struct {
	Idle      memStats `json:"idle"`
	AfterLoad memStats `json:"after_load"`
}

type loadReport struct {
	Config     loadConfig       `json:"config"`
	Duration   float64          `json:"duration_seconds"` // as configured
	Seconds    float64          `json:"seconds"`
	RoundTrips int64            `json:"round_trips"`
	PerSecond  float64          `json:"round_trips_per_second"`
	Scheduled  int64            `json:"scheduled,omitempty"`
	Issued     int64            `json:"issued,omitempty"`
	Errors     map[string]int64 `json:"errors,omitempty"`
	FirstError string           `json:"first_error,omitempty"`
	ConnsUsed  int              `json:"conns_used"`
	MinUses    uint32           `json:"min_uses_per_conn"`
	MaxUses    uint32           `json:"max_uses_per_conn"`
	RTT        percentiles      `json:"rtt_us"`
	Service    *percentiles     `json:"service_time_us,omitempty"`
	Lag        *percentiles     `json:"dispatch_lag_us,omitempty"`

	errCount int64
}

// percentiles are in microseconds in JSON.
type percentiles struct {
	Min, Mean, P50, P90, P99, P999, Max time.Duration
}

func (p percentiles) MarshalJSON() ([]byte, error) {
	us := func(d time.Duration) float64 { return math.Round(float64(d)/1e1) / 1e2 }
	return fmt.Appendf(nil, `{"min":%v,"mean":%v,"p50":%v,"p90":%v,"p99":%v,"p99.9":%v,"max":%v}`,
		us(p.Min), us(p.Mean), us(p.P50), us(p.P90), us(p.P99), us(p.P999), us(p.Max)), nil
}

func percentilesOf(h *hist) percentiles {
	return percentiles{
		Min: h.min, Mean: h.mean(), Max: h.max,
		P50: h.quantile(0.50), P90: h.quantile(0.90), P99: h.quantile(0.99), P999: h.quantile(0.999),
	}
}

func (l *loadReport) fill(r *loadResult) {
	l.Duration = l.Config.Duration.Seconds()
	l.Seconds = r.elapsed.Seconds()
	l.RoundTrips = r.count()
	l.PerSecond = float64(r.count()) / r.elapsed.Seconds()
	l.Scheduled, l.Issued = r.scheduled, r.issued
	l.Errors, l.FirstError, l.errCount = r.errors, r.firstErr, r.errorCount()
	if len(l.Errors) == 0 {
		l.Errors = nil
	}
	l.ConnsUsed, l.MinUses, l.MaxUses = r.used, r.minUses, r.maxUses
	l.RTT = percentilesOf(r.rtt)
	if r.service != nil {
		s, lag := percentilesOf(r.service), percentilesOf(r.lag)
		l.Service, l.Lag = &s, &lag
	}
}

type goals struct {
	KiBPerConn float64 `json:"kib_per_conn"`
	P99Ms      float64 `json:"p99_ms"`
	RSSPass    bool    `json:"rss_pass"`
	P99Pass    bool    `json:"p99_pass"`
	Clean      bool    `json:"clean"` // every connection opened, no round trip failed, every connection used
	Pass       bool    `json:"pass"`
}

func (r *report) evaluate(kib float64, p99 time.Duration) {
	n := float64(r.Conns)
	r.PerConnKiB.Idle = float64(r.Mem.Idle.RSS-r.Mem.Baseline.RSS) / n
	r.PerConnKiB.AfterLoad = float64(r.Mem.AfterLoad.RSS-r.Mem.Baseline.RSS) / n
	g := &r.Goals
	g.KiBPerConn, g.P99Ms = kib, float64(p99)/1e6
	g.RSSPass = r.PerConnKiB.Idle < kib
	g.P99Pass = r.Load.RoundTrips > 0 && r.Load.RTT.P99 < p99
	g.Clean = r.Dial.Opened == r.Conns && r.Load.errCount == 0 && r.Load.ConnsUsed == r.Conns
	g.Pass = g.RSSPass && g.P99Pass && g.Clean
}

func (r *report) print(w io.Writer, o *options) {
	kib := func(v int64) string { return fmt.Sprintf("%.1f MiB", float64(v)/1024) }
	delta := func(v int64) string { return fmt.Sprintf("%+.1f MiB", float64(v-r.Mem.Baseline.RSS)/1024) }
	per := func(v int64) string { return fmt.Sprintf("%.2f KiB", float64(v-r.Mem.Baseline.RSS)/float64(r.Conns)) }
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "FAIL"
	}

	fmt.Fprintf(w, "echoload: netkit echo, %d connections over loopback, %d CPUs, echoload GOMAXPROCS %d\n", r.Conns, r.CPUs, r.ClientProcs)
	fmt.Fprintf(w, "server:   %s %s (pid %d, %s)\n", r.Server.Bin, strings.Join(r.Server.Args, " "), r.Server.PID, r.Server.Addr)
	if len(r.Server.Env) > 0 {
		fmt.Fprintf(w, "          env %s\n", strings.Join(r.Server.Env, " "))
	}
	src := "127.0.0.1"
	if len(r.Dial.Sources) > 0 {
		src = fmt.Sprintf("%d addresses from %s", len(r.Dial.Sources), r.Dial.Sources[0])
	}
	fmt.Fprintf(w, "dial:     %d connections in %.2fs, %d at a time, from %s, %d retries\n\n",
		r.Dial.Opened, r.DialSeconds, o.dialConc, src, r.Dial.Retries)

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "server memory\tVmRSS\tRssAnon\tthreads\tRSS delta\tper conn\t")
	fmt.Fprintf(tw, "baseline\t%s\t%s\t%d\t\t\t\n", kib(r.Mem.Baseline.RSS), kib(r.Mem.Baseline.Anon), r.Mem.Baseline.Threads)
	fmt.Fprintf(tw, "idle, all open\t%s\t%s\t%d\t%s\t%s\t\n", kib(r.Mem.Idle.RSS), kib(r.Mem.Idle.Anon), r.Mem.Idle.Threads, delta(r.Mem.Idle.RSS), per(r.Mem.Idle.RSS))
	fmt.Fprintf(tw, "after load\t%s\t%s\t%d\t%s\t%s\t\n", kib(r.Mem.AfterLoad.RSS), kib(r.Mem.AfterLoad.Anon), r.Mem.AfterLoad.Threads, delta(r.Mem.AfterLoad.RSS), per(r.Mem.AfterLoad.RSS))
	tw.Flush()
	if r.KernelTCP.Baseline >= 0 {
		fmt.Fprintf(w, "kernel TCP buffers, both ends, not in RSS: %+.0f KiB idle, %+.0f KiB after load (%.2f KiB per connection idle)\n",
			float64(r.KernelTCP.Idle-r.KernelTCP.Baseline), float64(r.KernelTCP.AfterLoad-r.KernelTCP.Baseline),
			float64(r.KernelTCP.Idle-r.KernelTCP.Baseline)/float64(r.Conns))
	}
	if rt := r.Runtime; rt != nil {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "server runtime (after GC)\tgoroutines\tStackInuse\tstack/goroutine\tHeapInuse\theap/conn\tSys\t")
		for _, row := range []struct {
			name string
			m    memStats
		}{{"idle", rt.Idle}, {"after load", rt.AfterLoad}} {
			m := row.m
			fmt.Fprintf(tw, "%s\t%d\t%s\t%.2f KiB\t%s\t%.2f KiB\t%s\t\n", row.name, m.Goroutines,
				kib(m.StackInuse/1024), float64(m.StackInuse)/1024/float64(max(m.Goroutines, 1)),
				kib(m.HeapInuse/1024), float64(m.HeapInuse)/1024/float64(r.Conns), kib(m.Sys/1024))
		}
		tw.Flush()
		fmt.Fprintf(w, "profiles in %s\n", o.pprofDir)
	}

	l := &r.Load
	fmt.Fprintf(w, "\nload:     %s\n", describeLoad(l.Config, r.Conns))
	fmt.Fprintf(w, "          %d round trips in %.2fs = %.0f/s; connections used %d/%d (%d to %d times each)\n",
		l.RoundTrips, l.Seconds, l.PerSecond, l.ConnsUsed, r.Conns, l.MinUses, l.MaxUses)
	if l.Config.Mode == "rate" {
		fmt.Fprintf(w, "          %d due in the window, %d sent (%d not sent: the generator fell behind)\n", l.Scheduled, l.Issued, l.Scheduled-l.Issued)
	}
	if l.errCount > 0 {
		kinds := make([]string, 0, len(l.Errors))
		for k, v := range l.Errors {
			kinds = append(kinds, fmt.Sprintf("%s %d", k, v))
		}
		sort.Strings(kinds)
		fmt.Fprintf(w, "          errors: %s; first: %s\n", strings.Join(kinds, ", "), l.FirstError)
	}
	fmt.Fprintf(w, "          CPU during load, %% of one core: server %.0f%%, echoload %.0f%% (softirq %.0f%% within these), other processes %.0f%%; machine busy %.0f%% of %d00%%\n",
		r.CPU.Server, r.CPU.Client, r.CPU.SoftIRQ, r.CPU.Others, r.CPU.Machine, r.CPUs)
	if r.CPU.Others > 10 {
		fmt.Fprintf(w, "          warning: other processes used %.0f%% of a core during the load phase; latency figures are disturbed\n", r.CPU.Others)
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tmin\tmean\tp50\tp90\tp99\tp99.9\tmax\t")
	row := func(name string, p percentiles) {
		fmt.Fprintf(tw, "%s\t%v\t%v\t%v\t%v\t%v\t%v\t%v\t\n", name, fmtDur(p.Min), fmtDur(p.Mean), fmtDur(p.P50), fmtDur(p.P90), fmtDur(p.P99), fmtDur(p.P999), fmtDur(p.Max))
	}
	if l.Service != nil {
		row("RTT from due time", l.RTT)
		row("RTT from send", *l.Service)
		row("dispatch lag", *l.Lag)
	} else {
		row("RTT", l.RTT)
	}
	tw.Flush()

	g := r.Goals
	fmt.Fprintf(w, "\ngoals:\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  idle RSS per connection\t%.2f KiB\t< %.0f KiB\t%s\n", r.PerConnKiB.Idle, g.KiBPerConn, verdict(g.RSSPass))
	fmt.Fprintf(tw, "  p99 round trip\t%s\t< %v\t%s\n", fmtDur(l.RTT.P99), o.goalP99, verdict(g.P99Pass))
	fmt.Fprintf(tw, "  all connections opened and used, no errors\t%d/%d, %d errors\t\t%s\n", min(r.Dial.Opened, l.ConnsUsed), r.Conns, l.errCount, verdict(g.Clean))
	tw.Flush()
	fmt.Fprintf(w, "verdict:  %s\n", verdict(g.Pass))
	fmt.Fprintf(w, "server:   %s\n", r.Server.Exit)
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.0fµs", float64(d)/1e3)
}
