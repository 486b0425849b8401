package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/netkit/netkit/bench/internal/benchproc"
)

const (
	whatPlain     = "netkit extended (files)"
	whatSealed    = "netkit extended --secret (files)"
	whatQUIC      = "quic-go one stream (memory)"
	whatMemPlain  = "netkit extended (memory, go test -bench)"
	whatMemSealed = "netkit sealed (memory, go test -bench)"

	pairedSealedPlain = "paired netkit --secret / plain (files)"
)

// partQUIC runs, each round, netkit plain and sealed with files, each
// followed by quic-go in memory, then netkit's in-memory benchmark.
func (b *bench) partQUIC(ctx context.Context, p *part) {
	quicDir := b.opt.quicDir
	if quicDir == "" {
		quicDir = filepath.Join(b.modRoot, "..", "shared", "bench", "quicbench")
	}
	fmt.Fprintf(b.log, "  go build %s; go test -c ./internal/rudp\n", quicDir)
	quicBin := filepath.Join(b.root, "quicbench")
	if err := benchproc.Go(ctx, quicDir, "build", "-o", quicBin, "."); err != nil {
		p.Err = err.Error()
		return
	}
	testBin := filepath.Join(b.root, "rudp.test")
	if err := benchproc.Go(ctx, b.modRoot, "test", "-c", "-o", testBin, "./internal/rudp"); err != nil {
		p.note("no in-memory figure: %v", err)
		testBin = ""
	}
	src, err := b.fileSource()
	if err != nil {
		p.Err = err.Error()
		return
	}
	p.note("netkit: a %d MiB random file from %s (page cache) to a fresh receiver directory beside it; MB/s is netkit's own figure (1e6 bytes/s, session start to end, handshake included, process start not)", b.opt.mib, b.opt.dir)
	p.note("quic-go: %d MiB from one buffer to io.Discard in one process, timed after the handshake", b.opt.mib)

rounds:
	for round := 1; round <= b.opt.runs && ctx.Err() == nil; round++ {
		steps := []func() result{
			func() result { return b.netkitTransfer(ctx, xfer{what: whatPlain, src: src}) },
			func() result { return b.quicRun(ctx, quicBin, b.opt.mib) },
			func() result { return b.netkitTransfer(ctx, xfer{what: whatSealed, src: src, sealed: true}) },
			func() result { return b.quicRun(ctx, quicBin, b.opt.mib) },
		}
		var quics []result
		for _, step := range steps {
			if ctx.Err() != nil {
				break rounds
			}
			r := step()
			r.Round = round
			b.progress(p, r)
			p.add(r)
			if r.What == whatQUIC {
				quics = append(quics, r)
			}
		}
		// Each netkit run against the quic-go run right after it.
		for i, w := range []string{whatPlain, whatSealed} {
			a, ok := p.runValue(w, round, ownMBps)
			if ok && i < len(quics) && quics[i].ok() {
				lbl := "paired " + w + " / quic-go"
				p.paired[lbl] = append(p.paired[lbl], a/quics[i].MBps)
			}
		}
		p.pair(pairedSealedPlain, round, whatSealed, whatPlain, ownMBps)
		if testBin != "" && ctx.Err() == nil {
			for _, r := range b.inMemory(ctx, testBin) {
				r.Round = round
				b.progress(p, r)
				p.add(r)
			}
		}
	}
	plain := p.medianFig("median "+whatPlain, whatPlain, "MB/s", ownMBps)
	sealed := p.medianFig("median "+whatSealed, whatSealed, "MB/s", ownMBps)
	quic := p.medianFig("median "+whatQUIC, whatQUIC, "MB/s", ownMBps)
	var memPlain, memSealed figure
	if testBin != "" {
		memPlain = p.medianFig("median "+whatMemPlain, whatMemPlain, "MB/s", ownMBps)
		memSealed = p.medianFig("median "+whatMemSealed, whatMemSealed, "MB/s", ownMBps)
	}
	p.ratioFig("netkit extended (files) / quic-go", plain, quic, goal{})
	p.ratioFig("netkit --secret (files) / quic-go", sealed, quic, goal{})
	if testBin != "" {
		p.ratioFig("netkit extended (memory) / quic-go", memPlain, quic, goal{})
		p.ratioFig("netkit sealed (memory) / quic-go", memSealed, quic, goal{})
	}
	p.pairedFig("paired "+whatPlain+" / quic-go", goal{})
	p.pairedFig("paired "+whatSealed+" / quic-go", goal{})
	// The goal is on the paired ratio: a sealed run and the plain run of
	// the same round, a few seconds apart, see the same load.
	p.ratioFig("netkit --secret / plain (files)", sealed, plain, goal{})
	p.pairedFig(pairedSealedPlain, atLeast(0.9))
	// On two shared cores the rates are bounded by CPU: how much each
	// spends says why.
	for _, w := range []string{whatPlain, whatSealed, whatQUIC} {
		p.medianFig("median CPU of "+w, w, "cpu s/GB", cpuPerGB)
	}
	p.noteCached()
}

// quicRun runs the quic-go reference once.
func (b *bench) quicRun(ctx context.Context, bin string, mib int) result {
	r := result{What: whatQUIC, Bytes: int64(mib) << 20}
	p, err := b.runToEnd(ctx, b.budget(r.Bytes), "quicbench", "", bin, "-mib", strconv.Itoa(mib))
	if err != nil {
		r.Err = err.Error()
		return r
	}
	_, r.CPUSeconds = usage(p)
	r.WallSeconds = p.Wall().Seconds()
	for _, l := range p.lines() {
		if mbps, sec, ok := parseQUICLine(l); ok {
			r.MBps, r.Seconds = mbps, sec
			return r
		}
	}
	r.Err = fmt.Sprintf("quicbench printed no rate (%v)%s", p.Err(), p.tail())
	return r
}

// parseQUICLine reads "quic-go: 1024 MiB in 3.89s = 275.7 MB/s".
func parseQUICLine(l string) (mbps, sec float64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(l), "quic-go:")
	if !found {
		return 0, 0, false
	}
	var mib int
	if n, err := fmt.Sscanf(rest, " %d MiB in %fs = %f MB/s", &mib, &sec, &mbps); err != nil || n != 3 {
		return 0, 0, false
	}
	return mbps, sec, true
}

// inMemory runs BenchmarkExtendedLoopback once (2 transfers of memBytes
// each, plain and sealed) from a test binary built beforehand.
func (b *bench) inMemory(ctx context.Context, testBin string) []result {
	p, err := b.runToEnd(ctx, 5*time.Minute, "rudp.test", filepath.Join(b.modRoot, "internal", "rudp"), testBin,
		"-test.run", "^$", "-test.bench", "ExtendedLoopback", "-test.benchtime", "2x", "-test.count", "1")
	if err != nil {
		return []result{{What: whatMemPlain, Err: err.Error()}}
	}
	rs := memResults(p.lines())
	if len(rs) == 0 {
		return []result{{What: whatMemPlain, Err: fmt.Sprintf("no BenchmarkExtendedLoopback lines (%v)%s", p.Err(), p.tail())}}
	}
	return rs
}

// memBytes is what each transfer of BenchmarkExtendedLoopback moves (its
// size in internal/rudp/bench_test.go).
const memBytes = 1 << 30

// memResults reads the plain and sealed results of
// BenchmarkExtendedLoopback from the test binary's output.
func memResults(lines []string) []result {
	names := map[string]string{"extended": whatMemPlain, "sealed": whatMemSealed}
	var rs []result
	for _, l := range lines {
		name, m, ok := parseBenchLine(l)
		if !ok {
			continue
		}
		sub, _ := strings.CutPrefix(name, "BenchmarkExtendedLoopback/")
		what, ok := names[sub]
		if !ok {
			continue
		}
		r := result{What: what, MBps: m["MB/s"], Bytes: memBytes, Retransmissions: uint64(m["retx"]), LossEvents: uint64(m["loss-events"]), SRTTms: m["srtt-µs"] / 1000}
		if ns := m["ns/op"]; ns > 0 {
			r.Seconds = ns / 1e9
		}
		rs = append(rs, r)
	}
	return rs
}

// parseBenchLine reads a go test -bench result line: the benchmark's name
// without its -GOMAXPROCS suffix, and its metrics by unit.
func parseBenchLine(l string) (name string, metrics map[string]float64, ok bool) {
	f := strings.Fields(l)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
		return "", nil, false
	}
	if _, err := strconv.Atoi(f[1]); err != nil {
		return "", nil, false
	}
	name = f[0]
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	metrics = make(map[string]float64)
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return "", nil, false
		}
		metrics[f[i+1]] = v
	}
	return name, metrics, true
}
