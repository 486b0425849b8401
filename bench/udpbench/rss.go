package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

func (b *bench) partRSS(ctx context.Context, p *part) {
	fill := "random"
	if b.opt.rssSparse {
		fill = "sparse"
	}
	fmt.Fprintf(b.log, "  writing a %s %s file\n", fill, fmtBytes(b.opt.rssSize))
	src, err := makeSource(filepath.Join(b.root, "rss-src.bin"), b.opt.rssSize, b.opt.rssSparse)
	if err != nil {
		p.Err = err.Error()
		return
	}
	defer os.Remove(src.path)
	p.note("a %s %s file (%d bytes) in %s; the receiver runs with --max-size 0; peak RSS is each process's ru_maxrss (KiB) unless a note says sampled VmHWM, 64 MB = 64,000,000 bytes", fill, fmtBytes(src.size), src.size, b.opt.dir)
	r := b.netkitTransfer(ctx, xfer{what: "netkit extended, " + fmtBytes(src.size) + " (files)", src: src, forceVerify: true})
	r.Round = 1
	b.progress(p, r)
	p.add(r)
	if r.RSSSampled {
		p.note("a peak RSS is VmHWM of /proc/PID/status read every %v while the process ran: its ru_maxrss was no more than udpbench's own peak, which Linux hands to a child at exec", hwmEvery)
	}
	const goal = 64e6
	snd := float64(r.SenderMaxRSSKiB) * 1024 / 1e6
	rcv := float64(r.ReceiverMaxRSSKiB) * 1024 / 1e6
	p.Figures = append(p.Figures, figure{What: "rate", Value: num(r.MBps), Unit: "MB/s", N: btoi(r.ok())})
	p.goalFig("sender peak RSS", snd, "MB", "< 64 MB", r.SenderMaxRSSKiB > 0 && snd*1e6 < goal)
	p.goalFig("receiver peak RSS", rcv, "MB", "< 64 MB", r.ReceiverMaxRSSKiB > 0 && rcv*1e6 < goal)
	p.goalFig("received SHA-256 equals sent", float64(btoi(r.ok() && r.Verified == "sha256")), "yes=1", "1", r.ok() && r.Verified == "sha256")
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// fmtBytes shows n in the largest binary unit that divides it, or in
// MB.
func fmtBytes(n int64) string {
	for _, u := range []struct {
		s string
		n int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}} {
		if n%u.n == 0 {
			return fmt.Sprintf("%d %s", n/u.n, u.s)
		}
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}
