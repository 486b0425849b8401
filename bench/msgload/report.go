package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"
)

type pair struct {
	Netkit, Flask result
	Load          []string
}

type wsResult struct {
	Clients, Broadcasts, Missing int
	P50, P99, Max                time.Duration
	Load                         []string
}

type rssSample struct {
	At     time.Duration `json:"at_ns"`
	RSSKiB int64         `json:"rss_kib"`
}

type soakResult struct {
	Run     result
	Samples []rssSample
	Load    []string
}

type discoveryResult struct {
	Runs                int
	P50MS, P95MS, MaxMS float64
	WallP95             time.Duration
	// SweepP50 and SweepP95: `discover --sweep` of the /24 to the first
	// verified server, process wall time (no goal in the issue).
	SweepP50, SweepP95 time.Duration
	Load               []string
}

type report struct {
	Clients     int
	LoadBefore  []string
	HTTP        []pair
	UDP         *result
	UDPLost     int64
	UDPLoad     []string
	WS          *wsResult
	Soak        *soakResult
	Discovery   *discoveryResult
	LoadAfter   []string
	soakSamples []rssSample
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

// summary is the medians over the paired HTTP runs.
func (r *report) summary() (nkRate, flRate, ratio float64, nkP99, flP99 time.Duration) {
	var nr, fr, ra, np, fp []float64
	for _, p := range r.HTTP {
		nr = append(nr, p.Netkit.Rate)
		fr = append(fr, p.Flask.Rate)
		ra = append(ra, p.Netkit.Rate/p.Flask.Rate)
		np = append(np, float64(p.Netkit.P99))
		fp = append(fp, float64(p.Flask.P99))
	}
	return median(nr), median(fr), median(ra), time.Duration(median(np)), time.Duration(median(fp))
}

// soakGrowth is the RSS growth from the sample at 20 s to the last.
func (s *soakResult) growth() (from, to int64, pct float64) {
	if s == nil || len(s.Samples) < 2 {
		return 0, 0, 0
	}
	i := slices.IndexFunc(s.Samples, func(x rssSample) bool { return x.At >= 20*time.Second })
	if i < 0 {
		i = 0
	}
	from, to = s.Samples[i].RSSKiB, s.Samples[len(s.Samples)-1].RSSKiB
	return from, to, 100 * float64(to-from) / float64(from)
}

func (r *report) goalsMet() bool {
	ok := true
	if len(r.HTTP) > 0 {
		nk, _, ratio, nkP99, flP99 := r.summary()
		ok = ok && ratio >= 10 && nk >= 10000 && nkP99*2 <= flP99
	}
	if r.UDP != nil {
		ok = ok && r.UDP.Rate >= 50000 && r.UDPLost == 0
	}
	if r.WS != nil {
		ok = ok && r.WS.P99 <= 100*time.Millisecond && r.WS.Missing == 0
	}
	if r.Soak != nil {
		_, _, g := r.Soak.growth()
		ok = ok && g < 10
	}
	if r.Discovery != nil {
		ok = ok && r.Discovery.P95MS <= 300
	}
	return ok
}

func mark(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "msgload: %d HTTP clients, fresh token per request; load before %v, after %v\n", r.Clients, r.LoadBefore, r.LoadAfter)
	if len(r.HTTP) > 0 {
		for i, p := range r.HTTP {
			fmt.Fprintf(w, "  http run %d: netkit %8.0f msg/s p50 %-10v p99 %-10v errors %d | flask %6.0f msg/s p50 %-10v p99 %-10v errors %d | ratio %.1fx | load %v\n",
				i+1, p.Netkit.Rate, p.Netkit.P50, p.Netkit.P99, p.Netkit.Errors, p.Flask.Rate, p.Flask.P50, p.Flask.P99, p.Flask.Errors, p.Netkit.Rate/p.Flask.Rate, p.Load)
		}
		nk, fl, ratio, np, fp := r.summary()
		fmt.Fprintf(w, "  HTTP medians: netkit %.0f msg/s, flask %.0f msg/s, ratio %.1fx (goal >= 10x and >= 10,000/s: %s); p99 %v vs %v (goal <= half: %s)\n",
			nk, fl, ratio, mark(ratio >= 10 && nk >= 10000), np, fp, mark(np*2 <= fp))
	}
	if r.UDP != nil {
		fmt.Fprintf(w, "  UDP: %.0f req/reply per s, %d lost, p50 %v p99 %v (goal >= 50,000/s, none lost: %s) load %v\n",
			r.UDP.Rate, r.UDPLost, r.UDP.P50, r.UDP.P99, mark(r.UDP.Rate >= 50000 && r.UDPLost == 0), r.UDPLoad)
	}
	if r.WS != nil {
		fmt.Fprintf(w, "  WS broadcast to %d clients, %d broadcasts: p50 %v p99 %v max %v, %d deliveries missing (goal p99 <= 100ms: %s) load %v\n",
			r.WS.Clients, r.WS.Broadcasts, r.WS.P50, r.WS.P99, r.WS.Max, r.WS.Missing, mark(r.WS.P99 <= 100*time.Millisecond && r.WS.Missing == 0), r.WS.Load)
	}
	if r.Soak != nil {
		from, to, g := r.Soak.growth()
		fmt.Fprintf(w, "  RSS over %v at %.0f msg/s (--ttl 10s): %d KiB at 20 s -> %d KiB at the end, %+.1f%% (goal flat, < 10%%: %s) load %v\n",
			r.Soak.Run.Elapsed.Round(time.Second), r.Soak.Run.Rate, from, to, g, mark(g < 10), r.Soak.Load)
		b, _ := json.Marshal(r.Soak.Samples)
		fmt.Fprintf(w, "    samples: %s\n", b)
	}
	if r.Discovery != nil {
		d := r.Discovery
		fmt.Fprintf(w, "  discovery over %d runs: p50 %.1f ms p95 %.1f ms max %.1f ms (goal p95 <= 300 ms: %s); process wall p95 %v; load %v\n",
			d.Runs, d.P50MS, d.P95MS, d.MaxMS, mark(d.P95MS <= 300), d.WallP95.Round(time.Millisecond), d.Load)
		fmt.Fprintf(w, "  discover --sweep of the /24 to the first verified server (process wall): p50 %v p95 %v\n",
			d.SweepP50.Round(time.Millisecond), d.SweepP95.Round(time.Millisecond))
	}
}
