package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/netkit/netkit/bench/internal/benchproc"
)

// report is everything one run measured; it is also the -json output.
type report struct {
	Target string `json:"target"`
	// HoldOnly runs connect without joining and send nothing.
	HoldOnly bool       `json:"hold_only,omitempty"`
	Config   config     `json:"config"`
	Machine  machine    `json:"machine"`
	Server   serverInfo `json:"server"`
	Join     struct {
		Requested  int     `json:"requested"`
		Joined     int     `json:"joined"`
		Seconds    float64 `json:"seconds"`
		PerSecond  float64 `json:"per_second"`
		Retries    int64   `json:"retries"`
		FirstError string  `json:"first_error,omitempty"`
		Latency    latency `json:"connect_to_welcome_ms"`
		// Announcements of joins received by all clients, and how many
		// the protocol makes.
		Notices         int64   `json:"join_notices"`
		NoticesExpected int64   `json:"join_notices_expected"`
		LeaveNotices    int64   `json:"leave_notices"`
		ClientsCut      int64   `json:"clients_cut_off"`
		Settled         bool    `json:"settled"`
		SettleSeconds   float64 `json:"settle_seconds"`
		ServerCPUPct    float64 `json:"server_cpu_pct"`
		MachineCPUPct   float64 `json:"machine_cpu_pct"`
	} `json:"join"`
	Send struct {
		Sent         int64   `json:"sent"`
		SendErrors   int64   `json:"send_errors"`
		FirstError   string  `json:"first_error,omitempty"`
		Recipients   int64   `json:"recipients_per_message"`
		Expected     int64   `json:"expected"`
		Delivered    int64   `json:"delivered"`
		DeliveredPct float64 `json:"delivered_pct"`
		Duplicates   int64   `json:"duplicates"`
		Corrupt      int64   `json:"corrupt"`
		Drained      bool    `json:"drained"`
		ClientsCut   int64   `json:"clients_cut_off"`
		LeaveNotices int64   `json:"leave_notices"`
		// The window runs from the first send to the last delivery.
		WindowSeconds float64 `json:"window_seconds"`
		PerSecond     float64 `json:"deliveries_per_second"`
		Latency       latency `json:"fan_out_ms"`
		ServerCPUPct  float64 `json:"server_cpu_pct"`
		ClientCPUPct  float64 `json:"chatload_cpu_pct"`
		MachineCPUPct float64 `json:"machine_cpu_pct"`
	} `json:"send"`
	Mem struct {
		Baseline     benchproc.Mem `json:"baseline"`
		AfterJoins   benchproc.Mem `json:"after_joins"`
		AfterSends   benchproc.Mem `json:"after_sends"`
		PerClientKiB float64       `json:"rss_per_client_kib"`
		PeakKiB      int64         `json:"peak_kib"`
	} `json:"server_memory"`
	// Ends lists clients whose connection ended before the teardown.
	Ends         []string `json:"early_ends,omitempty"`
	Survived     bool     `json:"survived"`
	SurvivalNote string   `json:"survival_note,omitempty"`
	Goals        *goals   `json:"goals,omitempty"`
}

type config struct {
	Clients     int     `json:"clients"`
	Senders     int     `json:"senders"`
	Messages    int     `json:"messages"`
	Interval    string  `json:"interval"`
	Stagger     bool    `json:"stagger"`
	DialRate    float64 `json:"dial_rate"`
	SourceAddrs int     `json:"source_addrs"`
}

type machine struct {
	CPUs        int     `json:"cpus"`
	ClientProcs int     `json:"chatload_gomaxprocs"`
	NoFile      uint64  `json:"rlimit_nofile"`
	LoadStart   float64 `json:"loadavg_1m_start"`
	LoadEnd     float64 `json:"loadavg_1m_end"`
}

type serverInfo struct {
	Bin  string   `json:"bin"`
	Args []string `json:"args"`
	Env  []string `json:"env,omitempty"`
	PID  int      `json:"pid"`
	Addr string   `json:"addr"`
	Exit string   `json:"exit"`
	// ExitSeconds is from SIGTERM to the process's end.
	ExitSeconds float64 `json:"exit_seconds"`
	// CPUAtExit is the server's total CPU time, in seconds.
	CPUAtExit float64 `json:"cpu_seconds_total"`
}

// latency is in milliseconds.
type latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

func (l latency) String() string {
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  max %s  (mean %s)", ms(l.P50), ms(l.P90), ms(l.P99), ms(l.Max), ms(l.Mean))
}

func ms(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f ms", v)
	case v >= 10:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.2f ms", v)
}

// goals are netkit's targets.
type goals struct {
	Delivered goal `json:"delivered"`
	P99       goal `json:"p99"`
	PerClient goal `json:"rss_per_client"`
	Survived  goal `json:"survived"`
	Pass      bool `json:"pass"`
}

type goal struct {
	Want string `json:"want"`
	Got  string `json:"got"`
	Pass bool   `json:"pass"`
}

func evaluate(r *report, o *options) *goals {
	g := &goals{
		Delivered: goal{Want: fmt.Sprintf("≥ %.4g%%", o.goalPct), Got: fmt.Sprintf("%.4f%%", r.Send.DeliveredPct), Pass: r.Send.DeliveredPct >= o.goalPct && r.Send.Expected > 0},
		P99:       goal{Want: "< " + ms(float64(o.goalP99.Microseconds())/1000), Got: ms(r.Send.Latency.P99), Pass: r.Send.Latency.P99*1000 < float64(o.goalP99.Microseconds())},
		PerClient: goal{Want: fmt.Sprintf("< %.0f KiB", o.goalKiB), Got: fmt.Sprintf("%.1f KiB", r.Mem.PerClientKiB), Pass: r.Mem.PerClientKiB < o.goalKiB},
		Survived:  goal{Want: "yes", Got: yesNo(r.Survived), Pass: r.Survived},
	}
	g.Pass = g.Delivered.Pass && g.P99.Pass && g.PerClient.Pass && g.Survived.Pass
	return g
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func passFail(b bool) string {
	if b {
		return "PASS"
	}
	return "MISS"
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "== %s: %d clients, %d senders × %d messages, %s apart%s\n", r.Target, r.Config.Clients, r.Config.Senders, r.Config.Messages,
		r.Config.Interval, map[bool]string{true: " (staggered)", false: " (in step)"}[r.Config.Stagger])
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "  %s\t%s\n", k, fmt.Sprintf(format, a...)) }
	row("server", "%s (pid %d) on %s", strings.Join(append(append([]string(nil), r.Server.Env...), append([]string{r.Server.Bin}, r.Server.Args...)...), " "), r.Server.PID, r.Server.Addr)
	row("machine", "%d CPUs, load average %.2f at start, %.2f at end; RLIMIT_NOFILE %d; %d source addresses", r.Machine.CPUs, r.Machine.LoadStart, r.Machine.LoadEnd, r.Machine.NoFile, max(1, r.Config.SourceAddrs))
	row("joined", "%d of %d in %.1f s (%.0f/s offered, %.0f/s made), %d retries", r.Join.Joined, r.Join.Requested, r.Join.Seconds, r.Config.DialRate, r.Join.PerSecond, r.Join.Retries)
	if r.Join.FirstError != "" {
		row("stopped by", "%s", r.Join.FirstError)
	}
	row("connect to welcome", "%s", r.Join.Latency)
	row("join notices", "%d of %d, settled %v %.1f s after the last join; server CPU %.0f%%, machine %.0f%% of a core while joining",
		r.Join.Notices, r.Join.NoticesExpected, r.Join.Settled, r.Join.SettleSeconds, r.Join.ServerCPUPct, r.Join.MachineCPUPct)
	if r.Join.ClientsCut > 0 || r.Join.LeaveNotices > 0 {
		row("cut off while joining", "%d clients; %d leave notices", r.Join.ClientsCut, r.Join.LeaveNotices)
	}
	if r.HoldOnly {
		row("hold only", "no nicknames chosen, nothing sent; server RSS %s before clients, %s holding them (%.1f KiB a client)",
			mib(r.Mem.Baseline.RSS), mib(r.Mem.AfterJoins.RSS), r.Mem.PerClientKiB)
		row("survived", "%s %s; then %s in %.1f s", yesNo(r.Survived), r.SurvivalNote, r.Server.Exit, r.Server.ExitSeconds)
		tw.Flush()
		fmt.Fprintln(w)
		return
	}
	row("sent", "%d messages to %d recipients each, %d send errors %s", r.Send.Sent, r.Send.Recipients, r.Send.SendErrors, r.Send.FirstError)
	row("delivered", "%d of %d (%.4f%%), %d duplicates, %d corrupt%s", r.Send.Delivered, r.Send.Expected, r.Send.DeliveredPct, r.Send.Duplicates, r.Send.Corrupt,
		map[bool]string{true: "", false: "; gave up waiting for the rest"}[r.Send.Drained])
	if r.Send.ClientsCut > 0 || r.Send.LeaveNotices > 0 {
		row("cut off while sending", "%d clients; %d leave notices", r.Send.ClientsCut, r.Send.LeaveNotices)
	}
	row("delivery rate", "%.0f deliveries/s over %.2f s (first send to last delivery)", r.Send.PerSecond, r.Send.WindowSeconds)
	row("fan-out latency", "%s", r.Send.Latency)
	row("CPU while sending", "server %.0f%%, chatload %.0f%%, machine %.0f%% of a core", r.Send.ServerCPUPct, r.Send.ClientCPUPct, r.Send.MachineCPUPct)
	row("server RSS", "%s before clients, %s after joins (%.1f KiB a client), %s after sends, peak %s",
		mib(r.Mem.Baseline.RSS), mib(r.Mem.AfterJoins.RSS), r.Mem.PerClientKiB, mib(r.Mem.AfterSends.RSS), mib(r.Mem.PeakKiB))
	row("server threads", "%d after joins", r.Mem.AfterJoins.Threads)
	for i, e := range r.Ends {
		row(map[bool]string{true: "ended early", false: ""}[i == 0], "%s", e)
	}
	row("survived", "%s %s; then %s in %.1f s", yesNo(r.Survived), r.SurvivalNote, r.Server.Exit, r.Server.ExitSeconds)
	tw.Flush()
	if g := r.Goals; g != nil {
		fmt.Fprintf(w, "  goals: delivered %s %s (%s); p99 %s %s (%s); RSS a client %s %s (%s); survived %s\n",
			g.Delivered.Want, passFail(g.Delivered.Pass), g.Delivered.Got, g.P99.Want, passFail(g.P99.Pass), g.P99.Got,
			g.PerClient.Want, passFail(g.PerClient.Pass), g.PerClient.Got, passFail(g.Survived.Pass))
	}
	fmt.Fprintln(w)
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

// comparison sets netkit against ncat from the same invocation.
type comparison struct {
	RateRatio   float64 `json:"deliveries_per_second_netkit_over_ncat"`
	NetkitP99   float64 `json:"netkit_p99_ms"`
	NcatP99     float64 `json:"ncat_p99_ms"`
	NetkitLower bool    `json:"netkit_p99_lower"`
}

func compare(reps []*report) *comparison {
	var nk, nc *report
	for _, r := range reps {
		switch r.Target {
		case targetNetkit:
			nk = r
		case targetNcat:
			nc = r
		}
	}
	if nk == nil || nc == nil || nc.Send.PerSecond == 0 {
		return nil
	}
	return &comparison{RateRatio: nk.Send.PerSecond / nc.Send.PerSecond, NetkitP99: nk.Send.Latency.P99, NcatP99: nc.Send.Latency.P99,
		NetkitLower: nk.Send.Latency.P99 < nc.Send.Latency.P99}
}

func (c *comparison) print(w io.Writer) {
	fmt.Fprintf(w, "== netkit vs ncat: deliveries/s ratio %.2fx (goal ≥ 2x: %s); p99 %s vs %s (goal netkit lower: %s)\n",
		c.RateRatio, passFail(c.RateRatio >= 2), ms(c.NetkitP99), ms(c.NcatP99), passFail(c.NetkitLower))
}
