// Package scan is netkit's port scanner: TCP connect and connected-UDP
// probes, without root or raw sockets, with nmap's states and reasons.
//
// The engine keeps thousands of non-blocking connects in flight from a few
// event loops (epoll on Linux), one per core, with no goroutine per port.
// Each host has its own round-trip estimate (RFC 6298) and window of probes
// in flight; local trouble such as running out of file descriptors or
// ephemeral ports slows the scan and retries that probe, and is never
// reported as an answer about the target.
//
// Target and port syntax (nmap's) is parsed by ParseTargets and ParsePorts;
// the writers for nmap's grepable and XML formats are in output.go.
package scan

import (
	"context"
	"errors"
	"iter"
	"net/netip"
	"runtime"
	"time"
)

// Target is one address to scan and the name it came from.
type Target struct {
	Name string // host name as given, or "" for a literal address
	Addr netip.Addr
}

// Host returns the name of t, or its address when it has none.
func (t Target) Host() string {
	if t.Name != "" {
		return t.Name
	}
	return t.Addr.String()
}

// Port is one port and the protocol to probe it over.
type Port struct {
	Number uint16
	Proto  Proto
}

// DefaultPingPorts are the ports host discovery tries: a host is up when
// any of them connects or refuses.
var DefaultPingPorts = []uint16{80, 443, 22, 445}

// Scanner scans ports. Its zero value works: normal timing (-T3), host
// discovery on DefaultPingPorts when there is more than one target, no
// rate cap, no banners. A Scanner may run several scans at once; its
// fields must not change while one runs.
type Scanner struct {
	// Timing tunes timeouts, retries and parallelism; zero fields take
	// the Normal preset's values.
	Timing Timing
	// Rate caps probes sent per second over the whole scan; 0 is no cap.
	Rate float64
	// NoPing treats every target as up (nmap's -Pn). Discovery is also
	// skipped when there is one target.
	NoPing bool
	// PingPorts replaces DefaultPingPorts for host discovery.
	PingPorts []uint16
	// Banner reads what each open TCP port says first (or answers to a
	// gentle probe) within BannerTimeout (default 2 s), at most BannerMax
	// bytes (default 256).
	Banner        bool
	BannerTimeout time.Duration
	BannerMax     int
	// Loops is how many event loops probe at once; default one per CPU,
	// at most 4.
	Loops int
	// AcceptAllShare is the share of scanned ports open above which a
	// host is flagged as accepting every connection (a firewall or proxy
	// that answers for all ports), when at least AcceptAllMin ports were
	// scanned. Defaults 0.5 and 200.
	AcceptAllShare float64
	AcceptAllMin   int
}

// Stats sums up a scan.
type Stats struct {
	Hosts     []HostStats
	Probes    int // probes sent, retries included
	Retries   int // probes sent again after silence
	LocalWait int // probes put back because of local trouble (descriptors, ephemeral ports, buffers)
	Elapsed   time.Duration
	FDLimit   int // probes in flight the open-file limit allowed
}

// HostStats is what a scan found about one target.
type HostStats struct {
	Target
	Up        bool
	Reason    Reason // why it was thought up or down
	Latency   time.Duration
	States    map[State]int
	AcceptAll bool // an implausible share of ports was open
}

// ErrNoTargets is returned for a scan of nothing.
var ErrNoTargets = errors.New("scan: no targets")

// Scan probes ports on targets and yields every result as it comes. It
// stops early when ctx is cancelled or the loop breaks. See Run for the
// summary.
func (s *Scanner) Scan(ctx context.Context, targets []Target, ports []Port) iter.Seq[Result] {
	return func(yield func(Result) bool) {
		_, _ = s.Run(ctx, targets, ports, yield)
	}
}

// Run probes ports on every target that is up and calls yield with each
// result, from one goroutine, until yield returns false or ctx is done.
// Host discovery runs first when there is more than one target, or when
// there are no ports (discovery alone, nmap's -sn), unless NoPing is set.
// It returns the summary; the error is ctx's when it was cancelled.
func (s *Scanner) Run(ctx context.Context, targets []Target, ports []Port, yield func(Result) bool) (Stats, error) {
	start := time.Now()
	var st Stats
	if len(targets) == 0 {
		return st, ErrNoTargets
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	up := targets
	hosts := make([]HostStats, len(targets))
	for i, t := range targets {
		hosts[i] = HostStats{Target: t, Up: true, States: map[State]int{}}
	}
	if (len(targets) > 1 || len(ports) == 0) && !s.NoPing {
		var err error
		up, err = s.discover(ctx, targets, hosts, &st)
		if err != nil {
			st.Hosts, st.Elapsed = hosts, time.Since(start)
			return st, err
		}
	}
	byAddr := make(map[netip.Addr]*HostStats, len(hosts))
	for i := range hosts {
		byAddr[hosts[i].Addr] = &hosts[i]
	}
	var after func([]Result) bool
	if s.Banner {
		after = func(opens []Result) bool { return s.banners(ctx, opens, yield) }
	}
	var err error
	if len(up) > 0 && len(ports) > 0 {
		err = s.probe(ctx, up, ports, &st, func(r Result) bool {
			h := byAddr[r.Addr]
			h.States[r.State]++
			if r.RTT > 0 && (h.Latency == 0 || r.RTT < h.Latency) {
				h.Latency = r.RTT
			}
			if s.Banner && r.State == Open && r.Proto == TCP {
				return true // yielded after the banner pass
			}
			return yield(r)
		}, after)
	}
	share, least := s.AcceptAllShare, s.AcceptAllMin
	if share <= 0 {
		share = 0.5
	}
	if least <= 0 {
		least = 200
	}
	for i := range hosts {
		h := &hosts[i]
		n := 0
		for _, c := range h.States {
			n += c
		}
		h.AcceptAll = n >= least && float64(h.States[Open]) > share*float64(n)
	}
	st.Hosts, st.Elapsed = hosts, time.Since(start)
	if err == nil {
		err = ctx.Err()
	}
	return st, err
}

// discover finds which targets are up: any ping port connecting or
// refusing means up.
func (s *Scanner) discover(ctx context.Context, targets []Target, hosts []HostStats, st *Stats) ([]Target, error) {
	pp := s.PingPorts
	if len(pp) == 0 {
		pp = DefaultPingPorts
	}
	ports := make([]Port, len(pp))
	for i, p := range pp {
		ports[i] = Port{Number: p}
	}
	idx := make(map[netip.Addr]int, len(targets))
	for i, t := range targets {
		idx[t.Addr] = i
		hosts[i].Up = false
		hosts[i].Reason = ReasonNoResponse
	}
	err := s.probe(ctx, targets, ports, st, func(r Result) bool {
		h := &hosts[idx[r.Addr]]
		if r.State == Open || r.State == Closed {
			if !h.Up || r.RTT < h.Latency {
				h.Latency = r.RTT
			}
			h.Up, h.Reason = true, r.Reason
		} else if !h.Up && r.Reason != ReasonNoResponse {
			h.Reason = r.Reason
		}
		return true
	}, nil)
	var up []Target
	for i := range hosts {
		if hosts[i].Up {
			up = append(up, targets[i])
		}
	}
	return up, err
}

func (s *Scanner) loops() int {
	if s.Loops > 0 {
		return s.Loops
	}
	return min(runtime.GOMAXPROCS(0), 4)
}
