package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// losses are the loss rates of the impair part, in percent, both ways.
var losses = []float64{0, 1, 10}

func lossWhat(loss float64) string {
	return fmt.Sprintf("netkit extended, %g%% loss (files)", loss)
}

func (b *bench) partImpair(ctx context.Context, p *part) {
	size := int64(b.opt.impairMiB) << 20
	src, err := makeSource(filepath.Join(b.root, "impair-src.bin"), size, false)
	if err != nil {
		p.Err = err.Error()
		return
	}
	defer os.Remove(src.path)
	p.note("netkit udp send -> netkit impair --loss X%% --seed S (both directions) -> netkit udp recv; %d MiB random file; round r uses seed %d+r-1", b.opt.impairMiB, b.opt.seed)
	p.note("every datagram crosses the relay, one more process on 2 cores: the 0%% rate is the relay's ceiling, not the direct loopback rate of the quic part")
rounds:
	for round := 1; round <= b.opt.runs && ctx.Err() == nil; round++ {
		for _, loss := range losses {
			if ctx.Err() != nil {
				break rounds
			}
			r := b.netkitTransfer(ctx, xfer{what: lossWhat(loss), src: src, impair: true, loss: loss, seed: b.opt.seed + int64(round) - 1})
			r.Round = round
			b.progress(p, r)
			p.add(r)
		}
		p.pair("paired 1% / 0% loss", round, lossWhat(1), lossWhat(0), ownMBps)
	}
	var meds []figure
	for _, loss := range losses {
		meds = append(meds, p.medianFig("median "+lossWhat(loss), lossWhat(loss), "MB/s", ownMBps))
	}
	p.ratioFig("1% loss / 0% loss", meds[1], meds[0], atLeast(0.5))
	p.pairedFig("paired 1% / 0% loss", goal{})
	done, tried := 0, 0
	for _, r := range p.Runs {
		if r.What == lossWhat(10) {
			tried++
			if r.ok() {
				done++
			}
		}
	}
	p.goalFig("10% loss: transfers completed and verified", float64(done), fmt.Sprintf("of %d", tried), "all", done == tried && tried > 0)
}
