package scan

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Report is a finished (or interrupted) scan, as the writers below print
// it: every result, the summary, and what was asked.
type Report struct {
	Args    string // the command line, for the formats that record it
	Version string // netkit's version
	Start   time.Time
	Ports   []Port // the ports asked for, set before the first Add
	Stats   Stats
	// Verbose lists every port; otherwise the commonest uninteresting
	// state of a host is summarised, as nmap does.
	Verbose bool
	// OnlyOpen keeps only open ports (--open).
	OnlyOpen bool
	// Interrupted is set when the scan was stopped before the end.
	Interrupted bool

	rec record
}

// Add records a result for the report.
func (r *Report) Add(x Result) {
	if r.rec.hosts == nil {
		r.rec.init(r.Ports)
	}
	r.rec.add(x)
}

// Len returns how many results were added (one a port a host).
func (r *Report) Len() int { return r.rec.n }

// hostReport is one host's summary, with the state its ports most often
// share when that is summarised rather than listed.
type hostReport struct {
	HostStats
	rec     *record
	total   int   // results of the host
	ignored State // state summarised, not listed; 0 for none
	ignN    int   // ports in that state
	ignWhy  map[Reason]int
	ignWord string // their protocols: tcp, udp or tcp/udp
}

// minIgnored is how many ports of one state a host must have before they
// are summarised rather than listed (nmap's rule of thumb).
const minIgnored = 26

func (r *Report) hosts() []hostReport {
	var out []hostReport
	for _, h := range r.Stats.Hosts {
		hr := hostReport{HostStats: h, rec: &r.rec}
		counts := map[State]int{}
		r.rec.each(h.Target, func(x Result) {
			counts[x.State]++
			hr.total++
		})
		if !r.Verbose {
			for _, st := range []State{Closed, Filtered, OpenFiltered} {
				if counts[st] >= minIgnored && counts[st] > hr.ignN {
					hr.ignored, hr.ignN = st, counts[st]
				}
			}
		}
		if hr.ignored != 0 {
			hr.ignWhy = map[Reason]int{}
			tcp, udp := false, false
			r.rec.each(h.Target, func(x Result) {
				if x.State == hr.ignored {
					hr.ignWhy[x.Reason]++
					tcp, udp = tcp || x.Proto == TCP, udp || x.Proto == UDP
				}
			})
			hr.ignWord = protoWord(tcp, udp)
		}
		out = append(out, hr)
	}
	return out
}

// shown returns the results to list: all but the summarised state, and
// only open ones when onlyOpen is set.
func (hr *hostReport) shown(onlyOpen bool) []Result {
	var out []Result
	hr.rec.each(hr.Target, func(x Result) {
		if (onlyOpen && x.State != Open) || x.State == hr.ignored {
			return
		}
		out = append(out, x)
	})
	return out
}

func reasonsText(m map[Reason]int) string {
	var parts []string
	for why, n := range m {
		parts = append(parts, fmt.Sprintf("%d %s", n, why))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// WriteTable prints the report for a person: per host, a table of the
// ports worth seeing, then the summary line.
func (r *Report) WriteTable(w io.Writer) error {
	ew := &errWriter{w: w}
	for _, hr := range r.hosts() {
		if !hr.Up {
			if r.Verbose {
				ew.printf("%s is down (%s)\n\n", hostLabel(hr.Target), hr.Reason)
			}
			continue
		}
		ew.printf("netkit scan report for %s\n", hostLabel(hr.Target))
		if hr.Latency > 0 {
			ew.printf("Host is up (%s latency).\n", fmtSeconds(hr.Latency))
		} else {
			ew.printf("Host is up.\n")
		}
		if hr.AcceptAll {
			ew.printf("Warning: %d of %d ports answered open: a firewall or proxy is probably accepting every connection, so these open ports say little.\n", hr.States[Open], hr.total)
		}
		if hr.ignored != 0 {
			ew.printf("Not shown: %d %s %s ports (%s)\n", hr.ignN, hr.ignored, hr.ignWord, reasonsText(hr.ignWhy))
		}
		shown := hr.shown(r.OnlyOpen)
		if len(shown) == 0 {
			if hr.total > 0 && hr.ignN == hr.total {
				ew.printf("All %d scanned ports are %s.\n", hr.ignN, hr.ignored)
			}
			ew.printf("\n")
			continue
		}
		rows := [][]string{{"PORT", "STATE", "SERVICE", "REASON"}}
		banner := false
		for _, x := range shown {
			if x.Banner != "" {
				banner = true
			}
		}
		if banner {
			rows[0] = append(rows[0], "BANNER")
		}
		for _, x := range shown {
			row := []string{fmt.Sprintf("%d/%s", x.Port, x.Proto), x.State.String(), cmp.Or(ServiceName(Port{x.Port, x.Proto}), "unknown"), x.Reason.String()}
			if banner {
				row = append(row, x.Banner)
			}
			rows = append(rows, row)
		}
		writeColumns(ew, rows)
		ew.printf("\n")
	}
	ew.printf("%s\n", r.SummaryLine())
	return ew.err
}

func protoWord(tcp, udp bool) string {
	switch {
	case tcp && udp:
		return "tcp/udp"
	case udp:
		return "udp"
	}
	return "tcp"
}

func writeColumns(ew *errWriter, rows [][]string) {
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], len(c))
		}
	}
	for _, row := range rows {
		var sb strings.Builder
		for i, c := range row {
			if i == len(row)-1 {
				sb.WriteString(c)
				break
			}
			fmt.Fprintf(&sb, "%-*s ", widths[i], c)
		}
		ew.printf("%s\n", strings.TrimRight(sb.String(), " "))
	}
}

func hostLabel(t Target) string {
	if t.Name != "" {
		return fmt.Sprintf("%s (%s)", t.Name, t.Addr)
	}
	return t.Addr.String()
}

func fmtSeconds(d time.Duration) string {
	return fmt.Sprintf("%.5fs", d.Seconds())
}

// Counts returns how many results are in each state.
func (r *Report) Counts() map[State]int {
	m := map[State]int{}
	for st, n := range r.rec.count {
		if n > 0 {
			m[State(st)] = n
		}
	}
	return m
}

// SummaryLine is the one line that ends every report.
func (r *Report) SummaryLine() string {
	up := 0
	for _, h := range r.Stats.Hosts {
		if h.Up {
			up++
		}
	}
	c := r.Counts()
	secs := r.Stats.Elapsed.Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(r.rec.n) / secs
	}
	prefix := "Done"
	if r.Interrupted {
		prefix = "Interrupted"
	}
	s := fmt.Sprintf("%s: %d of %d hosts up; %d ports: %d open, %d closed, %d filtered",
		prefix, up, len(r.Stats.Hosts), r.rec.n, c[Open], c[Closed], c[Filtered])
	if c[OpenFiltered] > 0 {
		s += fmt.Sprintf(", %d open|filtered", c[OpenFiltered])
	}
	s += fmt.Sprintf("; %d probes, %d retries", r.Stats.Probes, r.Stats.Retries)
	if r.Stats.LocalWait > 0 {
		s += fmt.Sprintf(", %d waits for local resources", r.Stats.LocalWait)
	}
	s += fmt.Sprintf("; %.2fs, %.0f ports/s", secs, rate)
	return s
}

// JSONResult is one line of --json output for a port.
type JSONResult struct {
	Host    string  `json:"host"`
	Addr    string  `json:"addr"`
	Port    uint16  `json:"port"`
	Proto   string  `json:"proto"`
	State   string  `json:"state"`
	Service string  `json:"service"`
	RTTms   float64 `json:"rtt_ms"`
	Reason  string  `json:"reason"`
	Banner  string  `json:"banner"`
}

// JSONHost is the --json summary line of one host.
type JSONHost struct {
	Type      string         `json:"type"` // "host"
	Host      string         `json:"host"`
	Addr      string         `json:"addr"`
	Up        bool           `json:"up"`
	Reason    string         `json:"reason"`
	LatencyMs float64        `json:"latency_ms"`
	Ports     map[string]int `json:"ports"`
	AcceptAll bool           `json:"accept_all"`
}

// JSONSummary is the last --json line.
type JSONSummary struct {
	Type        string         `json:"type"` // "summary"
	HostsUp     int            `json:"hosts_up"`
	Hosts       int            `json:"hosts"`
	Ports       map[string]int `json:"ports"`
	Probes      int            `json:"probes"`
	Retries     int            `json:"retries"`
	LocalWaits  int            `json:"local_waits"`
	ElapsedS    float64        `json:"elapsed_s"`
	PortsPerSec float64        `json:"ports_per_s"`
	Interrupted bool           `json:"interrupted"`
}

// ResultJSON converts a result to its --json line.
func ResultJSON(x Result) JSONResult {
	return JSONResult{
		Host: x.Host, Addr: x.Addr.String(), Port: x.Port, Proto: x.Proto.String(),
		State: x.State.String(), Service: ServiceName(Port{x.Port, x.Proto}),
		RTTms: float64(x.RTT.Microseconds()) / 1000, Reason: x.Reason.String(), Banner: x.Banner,
	}
}

// WriteJSONTail writes the per-host summaries and the final summary as
// JSON lines (the per-port lines are written as results arrive).
func (r *Report) WriteJSONTail(w io.Writer) error {
	enc := json.NewEncoder(w)
	up := 0
	for _, h := range r.Stats.Hosts {
		if h.Up {
			up++
		}
		ports := map[string]int{}
		for st, n := range h.States {
			ports[st.String()] = n
		}
		if err := enc.Encode(JSONHost{Type: "host", Host: h.Host(), Addr: h.Addr.String(), Up: h.Up, Reason: h.Reason.String(),
			LatencyMs: float64(h.Latency.Microseconds()) / 1000, Ports: ports, AcceptAll: h.AcceptAll}); err != nil {
			return err
		}
	}
	ports := map[string]int{}
	for st, n := range r.Counts() {
		ports[st.String()] = n
	}
	secs := r.Stats.Elapsed.Seconds()
	pps := 0.0
	if secs > 0 {
		pps = float64(r.rec.n) / secs
	}
	return enc.Encode(JSONSummary{Type: "summary", HostsUp: up, Hosts: len(r.Stats.Hosts), Ports: ports,
		Probes: r.Stats.Probes, Retries: r.Stats.Retries, LocalWaits: r.Stats.LocalWait,
		ElapsedS: secs, PortsPerSec: pps, Interrupted: r.Interrupted})
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
