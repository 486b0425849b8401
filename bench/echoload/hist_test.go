package main

import (
	"math"
	"testing"
	"time"
)

func TestHistIndexRoundTrip(t *testing.T) {
	vals := []uint64{0, 1, 255, 256, 257, 511, 512, 1000, 123456789, 1 << 40, math.MaxInt64}
	for _, v := range vals {
		i := histIndex(v)
		if i >= histBuckets {
			t.Fatalf("histIndex(%d) = %d, want < %d", v, i, histBuckets)
		}
		if up := histUpper(i); up < v {
			t.Errorf("histUpper(histIndex(%d)) = %d, want >= %d", v, up, v)
		}
		if i > 0 {
			if low := histUpper(i-1) + 1; low > v {
				t.Errorf("bucket %d starts at %d, above %d", i, low, v)
			}
		}
		if v >= 256 {
			if up := histUpper(i); float64(up-v) > float64(v)/128 {
				t.Errorf("bucket of %d ends at %d: error above 1/128", v, up)
			}
		}
	}
}

func TestHistQuantile(t *testing.T) {
	h := newHist()
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 500 * time.Microsecond},
		{0.9, 900 * time.Microsecond},
		{0.99, 990 * time.Microsecond},
		{0.999, 999 * time.Microsecond},
		{1, 1000 * time.Microsecond},
	}
	for _, tt := range tests {
		got := h.quantile(tt.q)
		if got < tt.want || float64(got-tt.want) > float64(tt.want)/128 {
			t.Errorf("quantile(%v) = %v, want %v (+0.8%%)", tt.q, got, tt.want)
		}
	}
	if h.min != time.Microsecond || h.max != time.Millisecond {
		t.Errorf("min, max = %v, %v; want 1µs, 1ms", h.min, h.max)
	}
}

func TestHistMerge(t *testing.T) {
	a, b := newHist(), newHist()
	a.record(time.Millisecond)
	b.record(3 * time.Millisecond)
	b.record(2 * time.Millisecond)
	a.merge(b)
	if a.n != 3 || a.min != time.Millisecond || a.max != 3*time.Millisecond || a.mean() != 2*time.Millisecond {
		t.Errorf("merged n=%d min=%v max=%v mean=%v; want 3 1ms 3ms 2ms", a.n, a.min, a.max, a.mean())
	}
}
