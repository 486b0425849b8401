package main

import (
	"math/bits"
	"time"
)

// histSubBits sets the histogram's precision: each power of two is split
// into 1<<histSubBits buckets, so a reported percentile is at most 1/128
// (0.8%) above the true value. Values below 256ns are exact.
const histSubBits = 7

// histBuckets covers every non-negative int64.
const histBuckets = (64-histSubBits-1)*(1<<histSubBits) + 2<<histSubBits

// hist is a log-linear latency histogram of fixed size, so recording
// millions of round trips costs no memory and no allocation. The zero
// value is not usable; make one with newHist. A hist is not safe for
// concurrent use: each worker keeps its own and they are merged at the end.
type hist struct {
	counts   []uint64
	n        int64
	sum      time.Duration
	min, max time.Duration
}

func newHist() *hist { return &hist{counts: make([]uint64, histBuckets)} }

// histIndex maps v >= 0 to its bucket. Below 2<<histSubBits the bucket is
// v itself; above, v is shifted right by e bits to leave histSubBits+1
// significant bits, and the bucket is e*(1<<histSubBits) plus that mantissa.
func histIndex(v uint64) int {
	const sub = 1 << histSubBits
	if v < 2*sub {
		return int(v)
	}
	e := bits.Len64(v) - (histSubBits + 1)
	return e*sub + int(v>>e)
}

// histUpper is the largest value that falls in bucket i.
func histUpper(i int) uint64 {
	const sub = 1 << histSubBits
	if i < 2*sub {
		return uint64(i)
	}
	e := i/sub - 1
	m := uint64(i - e*sub)
	return (m+1)<<e - 1
}

func (h *hist) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[histIndex(uint64(d))]++
	if h.n == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.n++
	h.sum += d
}

func (h *hist) merge(o *hist) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// quantile returns the q-quantile (0 < q <= 1): the smallest recorded
// value v such that at least q of the samples are <= v, rounded up to its
// bucket's upper bound and clipped to the maximum seen.
func (h *hist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.999999)
	rank = min(max(rank, 1), uint64(h.n))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(histUpper(i)), h.max)
		}
	}
	return h.max
}

func (h *hist) mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}
