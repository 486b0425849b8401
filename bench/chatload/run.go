package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/netkit/netkit/bench/internal/benchproc"
)

// runOne runs the whole benchmark against one target and returns its
// report; the report is returned, as far as it got, with an error too.
func runOne(ctx context.Context, o *options, target string, srcs []netip.Addr, nofile uint64, tmp string, logf func(string, ...any)) (*report, error) {
	rep := &report{
		Target: target,
		Config: config{Clients: o.clients, Senders: o.senders, Messages: o.messages, Interval: o.interval.String(),
			Stagger: o.stagger, DialRate: o.dialRateFor(target), SourceAddrs: len(srcs)},
		Machine: machine{CPUs: runtime.NumCPU(), ClientProcs: runtime.GOMAXPROCS(0), NoFile: nofile, LoadStart: benchproc.LoadAvg()},
	}
	var srv *server
	var err error
	switch target {
	case targetNetkit:
		bin := o.bin
		if bin == "" {
			pkg := "./cmd/netkit"
			if o.pprofDir != "" {
				pkg = "./bench/nkprof"
			}
			logf("building %s", pkg)
			if bin, err = benchproc.Build(ctx, pkg, tmp, filepath.Base(pkg)); err != nil {
				return nil, err
			}
		}
		srv, err = startNetkit(ctx, bin, strings.Fields(o.serverArgs), o.serverEnv, 30*time.Second)
	case targetNcat:
		srv, err = startNcat(ctx, o.ncat, o.clients+10, 10*time.Second)
	}
	if err != nil {
		return nil, err
	}
	rep.Server = serverInfo{Bin: srv.Bin, Args: srv.Args, Env: srv.Env, PID: srv.PID, Addr: srv.addr.String()}
	logf("%s: pid %d on %s; load average %.2f", target, srv.PID, srv.addr, rep.Machine.LoadStart)
	var prof *profiler
	if target == targetNetkit && o.pprofDir != "" {
		if srv.pprof == "" {
			srv.Stop(o.grace)
			return nil, fmt.Errorf("-pprof: the server printed no pprof address (is -bin an nkprof build?)")
		}
		if err := os.MkdirAll(o.pprofDir, 0o755); err != nil {
			srv.Stop(o.grace)
			return nil, err
		}
		prof = &profiler{base: srv.pprof, dir: o.pprofDir}
	}

	var ctr counters
	var tearingDown atomic.Bool
	var clients []*client
	stopped := false
	// teardown runs whatever happened: stop the server with every client
	// still connected, as an operator would, then close the clients and
	// wait for their readers. With -hang-up-first the clients go first,
	// and the server announces each leave to everyone left, O(N²) work,
	// before and while it shuts down.
	teardown := func() {
		if stopped {
			return
		}
		stopped = true
		tearingDown.Store(true)
		if o.hangUp {
			for _, c := range clients {
				c.conn.Close()
			}
		}
		t0 := time.Now()
		rep.Server.Exit = srv.Stop(o.grace)
		rep.Server.ExitSeconds = time.Since(t0).Seconds()
		rep.Server.CPUAtExit = srv.CPUAtExit().Seconds()
		logf("%s: server %s in %.1fs", target, rep.Server.Exit, rep.Server.ExitSeconds)
		for _, c := range clients {
			c.conn.Close()
		}
		deadline := time.After(30 * time.Second)
		for _, c := range clients {
			select {
			case <-c.done:
			case <-deadline:
			}
		}
	}
	defer teardown()

	sleep(ctx, o.settle)
	if rep.Mem.Baseline, err = benchproc.ReadMem(srv.PID); err != nil {
		return rep, err
	}

	// Join.
	cfg := dialConfig{target: target, addr: srv.addr, n: o.clients, rate: o.dialRateFor(target), conc: o.dialConc, srcs: srcs,
		timeout: o.timeout, senders: o.senders, messages: o.messages, holdOnly: o.holdOnly}
	logf("%s: connecting %d clients, %.0f a second", target, o.clients, cfg.rate)
	var joinCPU waitFunc
	if prof != nil {
		joinCPU = prof.cpu(ctx, "cpu-join", min(time.Duration(float64(o.clients)/cfg.rate*float64(time.Second))+time.Second, 60*time.Second))
	}
	cpu0, mach0 := srvCPU(srv), machineBusy()
	dr := dialAll(ctx, cfg, &ctr, &tearingDown, func() bool { return !srv.Alive() }, func(launched, joined int) {
		m, _ := benchproc.ReadMem(srv.PID)
		logf("%s: %d launched, %d joined, %d join notices, server RSS %d MiB", target, launched, joined, ctr.joins.Load(), m.RSS>>10)
	})
	clients = dr.clients
	rep.Join.Requested, rep.Join.Joined, rep.Join.Retries = o.clients, len(clients), dr.retries
	rep.Join.Seconds = dr.elapsed.Seconds()
	rep.Join.PerSecond = float64(len(clients)) / dr.elapsed.Seconds()
	if dr.firstErr != nil {
		rep.Join.FirstError = dr.firstErr.Error()
		logf("%s: stopped connecting: %v", target, dr.firstErr)
	}
	var joinTimes []time.Duration
	for _, c := range clients {
		joinTimes = append(joinTimes, c.join)
	}
	rep.Join.Latency = durationStats(joinTimes)
	logf("%s: %d of %d joined in %.1fs", target, len(clients), o.clients, dr.elapsed.Seconds())
	if len(clients) == 0 {
		return rep, fmt.Errorf("no client joined: %v\nserver's last words:\n%s", dr.firstErr, srv.Tail)
	}

	// Everyone is told of every join: wait for those to arrive and the
	// server to go quiet before measuring its memory. Of each two
	// clients, the one there first hears of the other; netkit's batches
	// of joins also reach those who joined in the same window, itself
	// included, so on netkit this is a lower bound.
	j := int64(len(clients))
	rep.Join.NoticesExpected = j * (j - 1) / 2
	if o.holdOnly {
		rep.Join.NoticesExpected = 0
	}
	if target == targetNcat {
		// ncat also announces each newcomer to itself.
		rep.Join.NoticesExpected = j * (j + 1) / 2
	}
	settled, waited := waitQuiet(ctx, &ctr, o.settle, o.joinWait, srv, func() bool { return ctr.joins.Load() >= rep.Join.NoticesExpected })
	rep.Join.Settled, rep.Join.SettleSeconds = settled, waited.Seconds()
	rep.Join.Notices = ctr.joins.Load()
	rep.Join.LeaveNotices = ctr.leaves.Load()
	rep.Join.ClientsCut = ctr.ended.Load()
	busy := dr.elapsed + waited
	rep.Join.ServerCPUPct = pct(srvCPU(srv)-cpu0, busy)
	rep.Join.MachineCPUPct = pct(machineBusy()-mach0, busy)
	if joinCPU != nil {
		if err := joinCPU(); err != nil {
			logf("cpu profile of the joins: %v", err)
		}
	}
	if !srv.Alive() {
		rep.Survived = false
		rep.SurvivalNote = "exited during the joins: " + fmt.Sprint(srv.Err())
		return rep, fmt.Errorf("the server exited during the joins (%v); its last words:\n%s", srv.Err(), srv.Tail)
	}
	if rep.Mem.AfterJoins, err = benchproc.ReadMem(srv.PID); err != nil {
		return rep, err
	}
	rep.Mem.PerClientKiB = float64(rep.Mem.AfterJoins.RSS-rep.Mem.Baseline.RSS) / float64(len(clients))
	logf("%s: settled %v after the last join: %d/%d join notices; RSS %d MiB (%.1f KiB a client)", target, settled, rep.Join.Notices, rep.Join.NoticesExpected,
		rep.Mem.AfterJoins.RSS>>10, rep.Mem.PerClientKiB)
	if prof != nil {
		prof.save(ctx, "heap-joined.pprof", "/debug/pprof/heap")
		// The text form ends with runtime.MemStats: stacks against heap.
		prof.save(ctx, "heap-joined.txt", "/debug/pprof/heap?debug=1")
		prof.save(ctx, "goroutine-joined.txt", "/debug/pprof/goroutine?debug=1")
	}

	if o.holdOnly {
		rep.HoldOnly = true
		rep.Mem.AfterSends, rep.Mem.PeakKiB = rep.Mem.AfterJoins, rep.Mem.AfterJoins.HWM
		rep.Survived = srv.Alive()
		if err := srv.probe(o.timeout); err != nil {
			rep.Survived = false
			rep.SurvivalNote = "a new client got nowhere: " + err.Error()
		}
		rep.Machine.LoadEnd = benchproc.LoadAvg()
		teardown()
		return rep, nil
	}

	// Send.
	var live []*client
	for _, c := range clients {
		select {
		case <-c.done:
		default:
			live = append(live, c)
		}
	}
	if len(live) < o.senders {
		return rep, fmt.Errorf("only %d clients still connected, fewer than -senders", len(live))
	}
	recipients := int64(len(live))
	if target == targetNcat {
		recipients-- // ncat does not echo a message to its sender
	}
	logf("%s: %d senders × %d messages, %v apart, to %d clients", target, o.senders, o.messages, o.interval, len(live))
	var sendCPU waitFunc
	if prof != nil {
		sendCPU = prof.cpu(ctx, "cpu-send", time.Duration(o.messages)*o.interval+time.Second)
	}
	d0 := ctr.delivered.Load()
	cpu0, mach0, self0 := srvCPU(srv), machineBusy(), benchproc.SelfCPU()
	sr := sendAll(ctx, live, o.senders, o.messages, o.interval, o.stagger, o.timeout)
	expected := sr.sent * recipients
	drained := waitDrain(ctx, &ctr, d0+expected, o.drain, srv)
	cpu1, mach1, self1 := srvCPU(srv), machineBusy(), benchproc.SelfCPU()
	measured := time.Since(sr.start)
	if sendCPU != nil {
		if err := sendCPU(); err != nil {
			logf("cpu profile of the sends: %v", err)
		}
	}
	rep.Send.Sent, rep.Send.SendErrors = sr.sent, sr.errors
	if sr.firstErr != nil {
		rep.Send.FirstError = sr.firstErr.Error()
	}
	rep.Send.Recipients = recipients
	rep.Send.Expected = expected
	rep.Send.Drained = drained
	rep.Send.ClientsCut = ctr.ended.Load() - rep.Join.ClientsCut
	rep.Send.LeaveNotices = ctr.leaves.Load() - rep.Join.LeaveNotices

	// The server's state at the end, before anyone hangs up.
	if m, err := benchproc.ReadMem(srv.PID); err == nil {
		rep.Mem.AfterSends = m
		rep.Mem.PeakKiB = m.HWM
	}
	rep.Survived = srv.Alive()
	if rep.Survived {
		if err := srv.probe(o.timeout); err != nil {
			rep.Survived = false
			rep.SurvivalNote = "running, but a new client got nowhere: " + err.Error()
		}
	} else {
		rep.SurvivalNote = fmt.Sprintf("exited: %v", srv.Err())
	}
	rep.Machine.LoadEnd = benchproc.LoadAvg()

	teardownAt := time.Now()
	teardown()
	// Every reader is done (or stuck past teardown's bound): gather.
	var lat []int32
	var last int64
	for _, c := range clients {
		select {
		case <-c.done:
		default:
			continue
		}
		lat = append(lat, c.lat...)
		if c.endErr != nil && c.ended.Before(teardownAt) {
			rep.Ends = append(rep.Ends, fmt.Sprintf("client %d at %s: %v", c.id, c.ended.Format("15:04:05.000"), c.endErr))
		}
		rep.Send.Duplicates += c.dups
		rep.Send.Corrupt += c.bad
		last = max(last, c.last)
	}
	if len(rep.Ends) > 10 {
		rep.Ends = append(rep.Ends[:10], fmt.Sprintf("and %d more", len(rep.Ends)-10))
	}
	rep.Send.Delivered = int64(len(lat))
	if expected > 0 {
		rep.Send.DeliveredPct = 100 * float64(rep.Send.Delivered) / float64(expected)
	}
	window := time.Duration(last - sr.start.UnixNano())
	if last == 0 || window <= 0 {
		window = sr.end.Sub(sr.start)
	}
	rep.Send.WindowSeconds = window.Seconds()
	rep.Send.PerSecond = float64(rep.Send.Delivered) / window.Seconds()
	rep.Send.Latency = latencyStats(lat)
	// Over the sends and the drain, the span the CPU readings cover.
	rep.Send.ServerCPUPct = pct(cpu1-cpu0, measured)
	rep.Send.ClientCPUPct = pct(self1-self0, measured)
	rep.Send.MachineCPUPct = pct(mach1-mach0, measured)
	if target == targetNetkit {
		rep.Goals = evaluate(rep, o)
	}
	return rep, nil
}

// waitQuiet waits until no line has arrived for quiet and done reports
// true, or no line for 5×quiet whatever done says, or limit passes. It
// reports whether done was true, and how long it waited.
func waitQuiet(ctx context.Context, ctr *counters, quiet, limit time.Duration, srv *server, done func() bool) (bool, time.Duration) {
	start := time.Now()
	last, lastChange := ctr.total(), start
	for {
		sleep(ctx, 50*time.Millisecond)
		now := time.Now()
		if n := ctr.total(); n != last {
			last, lastChange = n, now
		}
		still := now.Sub(lastChange)
		switch {
		case still >= quiet && done():
			return true, now.Sub(start)
		case still >= 5*quiet, now.Sub(start) >= limit, ctx.Err() != nil, !srv.Alive():
			return done(), now.Sub(start)
		}
	}
}

// waitDrain waits until want messages have been delivered, or none has
// arrived for stall. It reports whether all arrived.
func waitDrain(ctx context.Context, ctr *counters, want int64, stall time.Duration, srv *server) bool {
	last, lastChange := ctr.delivered.Load(), time.Now()
	for {
		n := ctr.delivered.Load()
		if n >= want {
			return true
		}
		now := time.Now()
		if n != last {
			last, lastChange = n, now
		}
		if now.Sub(lastChange) >= stall || ctx.Err() != nil || !srv.Alive() {
			return false
		}
		sleep(ctx, 10*time.Millisecond)
	}
}

func pct(cpu, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return 100 * cpu.Seconds() / wall.Seconds()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// profiler fetches profiles from nkprof's pprof handlers.
type profiler struct {
	base string
	dir  string
}

// waitFunc waits for a profile being taken and saved.
type waitFunc func() error

func (p *profiler) save(ctx context.Context, name, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", p.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	f, err := os.Create(filepath.Join(p.dir, name))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// cpu starts a CPU profile of d and returns a function that waits for it.
func (p *profiler) cpu(ctx context.Context, name string, d time.Duration) waitFunc {
	errc := make(chan error, 1)
	secs := max(1, int(d.Round(time.Second)/time.Second))
	go func() { errc <- p.save(ctx, name+".pprof", fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs)) }()
	return func() error { return <-errc }
}

// durationStats summarises join times.
func durationStats(ds []time.Duration) latency {
	lat := make([]int32, len(ds))
	for i, d := range ds {
		lat[i] = int32(min(d.Microseconds(), 1<<31-1))
	}
	return latencyStats(lat)
}

// latencyStats returns exact percentiles of samples in µs; it sorts them.
func latencyStats(us []int32) latency {
	if len(us) == 0 {
		return latency{}
	}
	slices.Sort(us)
	q := func(p float64) float64 {
		i := int(p*float64(len(us))+0.999999) - 1
		return float64(us[min(max(i, 0), len(us)-1)]) / 1000
	}
	var sum int64
	for _, v := range us {
		sum += int64(v)
	}
	return latency{P50: q(0.50), P90: q(0.90), P99: q(0.99), Max: float64(us[len(us)-1]) / 1000,
		Mean: float64(sum) / float64(len(us)) / 1000}
}

// srvCPU returns the CPU time the server has used, zero if it cannot tell.
func srvCPU(s *server) time.Duration {
	d, _ := benchproc.CPUTime(s.PID)
	return d
}

// machineBusy returns the machine-wide busy CPU time.
func machineBusy() time.Duration { return benchproc.ReadMachineCPU().Busy }
