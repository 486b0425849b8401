package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

const (
	whatDD = "dd if=/dev/zero bs=1M conv=fsync"

	pairedDD     = "paired netkit / dd (own timers)"
	pairedDDWall = "paired netkit / dd (wall clock)"
)

// partDD runs, each round, netkit extended from the -mib file into a
// fresh receiver directory, then dd writing as many bytes to a file
// beside it and fsyncing it: the most the disk takes.
func (b *bench) partDD(ctx context.Context, p *part) {
	src, err := b.fileSource()
	if err != nil {
		p.Err = err.Error()
		return
	}
	p.note("netkit: a %d MiB random file from %s (page cache) to a new file beside it; MB/s is netkit's own figure (session start to the DONE the receiver sends after fsync)", b.opt.mib, b.opt.dir)
	p.note("dd: env LC_ALL=C dd if=/dev/zero of=OUT bs=1M count=%d conv=fsync in %s; MB/s is what dd prints (bytes over its time, the fsync included), recomputed from its bytes and seconds", b.opt.mib, b.opt.dir)
	p.note("the goal is on the paired ratio of the programs' own rates (process start excluded on both sides); the wall-clock ratio is shown beside it")

rounds:
	for round := 1; round <= b.opt.runs && ctx.Err() == nil; round++ {
		for _, step := range []func() result{
			func() result { return b.netkitTransfer(ctx, xfer{what: whatFiles, src: src}) },
			func() result { return b.ddRun(ctx, src.size) },
		} {
			if ctx.Err() != nil {
				break rounds
			}
			r := step()
			r.Round = round
			b.progress(p, r)
			p.add(r)
		}
		p.pair(pairedDD, round, whatFiles, whatDD, ownMBps)
		p.pair(pairedDDWall, round, whatFiles, whatDD, wallMBps)
	}
	nk := p.medianFig("median "+whatFiles, whatFiles, "MB/s", ownMBps)
	dd := p.medianFig("median "+whatDD, whatDD, "MB/s", ownMBps)
	p.medianFig("median "+whatFiles+", wall clock", whatFiles, "MB/s", wallMBps)
	p.medianFig("median "+whatDD+", wall clock", whatDD, "MB/s", wallMBps)
	p.ratioFig("netkit / dd (medians)", nk, dd, goal{})
	p.pairedFig(pairedDD, atLeast(0.8))
	p.pairedFig(pairedDDWall, goal{})
	p.noteCached()
}

// ddRun writes size bytes of zeros with dd into a file under the
// temporary directory and fsyncs it.
func (b *bench) ddRun(ctx context.Context, size int64) result {
	r := result{What: whatDD, Bytes: size}
	out := filepath.Join(b.root, "dd-out.bin")
	defer os.Remove(out)
	// bs=1M is 1 MiB; sizes here are whole MiB.
	count := strconv.FormatInt(size>>20, 10)
	// LC_ALL=C: dd's figures in the C locale's number format.
	p, err := b.runToEnd(ctx, b.budget(size), "dd", "", "env", "LC_ALL=C", "dd", "if=/dev/zero", "of="+out, "bs=1M", "count="+count, "conv=fsync")
	if err != nil {
		r.Err = err.Error()
		return r
	}
	_, r.CPUSeconds = usage(p)
	r.WallSeconds = p.Wall().Seconds()
	r.WallMBps = float64(size) / 1e6 / r.WallSeconds
	if p.Err() != nil {
		r.Err = fmt.Sprintf("dd: %v%s", p.Err(), p.tail())
		return r
	}
	var n int64
	var sec float64
	found := false
	for _, l := range p.all() {
		if n, sec, found = parseDDLine(l); found {
			break
		}
	}
	switch {
	case !found:
		r.Err = "dd printed no \"bytes ... copied\" line" + p.tail()
	case n != size:
		r.Err = fmt.Sprintf("dd copied %d bytes, want %d", n, size)
	default:
		r.Seconds = sec
		r.MBps = float64(n) / 1e6 / sec
		r.Verified = "size"
		if fi, err := os.Stat(out); err != nil || fi.Size() != size {
			r.Verified, r.Err = "", fmt.Sprintf("dd's file is not %d bytes (%v)", size, err)
		}
	}
	return r
}

// parseDDLine reads GNU dd's last line in the C locale,
// "536870912 bytes (537 MB, 512 MiB) copied, 1.14 s, 470 MB/s": the bytes
// and the seconds. The rate dd prints is rounded to two or three digits;
// it is recomputed from these.
func parseDDLine(l string) (n int64, sec float64, ok bool) {
	count, rest, found := strings.Cut(strings.TrimSpace(l), " bytes ")
	if !found {
		return 0, 0, false
	}
	n, err := strconv.ParseInt(count, 10, 64)
	if err != nil || n < 0 {
		return 0, 0, false
	}
	_, rest, found = strings.Cut(rest, "copied, ")
	if !found {
		return 0, 0, false
	}
	secs, _, found := strings.Cut(rest, " s")
	if !found {
		return 0, 0, false
	}
	sec, err = strconv.ParseFloat(secs, 64)
	if err != nil || !(sec > 0) {
		return 0, 0, false
	}
	return n, sec, true
}
