package impair

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

// decisions returns the fates of n datagrams of the given length.
func decisions(im Impairment, seed int64, stream uint64, n, length int) []decision {
	r := newRand(seed, stream)
	out := make([]decision, n)
	for i := range out {
		out[i] = im.decide(r, length)
	}
	return out
}

func TestDecideLoss(t *testing.T) {
	const n = 2000
	im := Impairment{Loss: 0.3}
	a := decisions(im, 42, streamUp, n, 100)
	lost := 0
	for _, d := range a {
		if d.lose {
			lost++
		}
	}
	// The mean is 600 and the standard deviation about 20.5: allow 4σ.
	if lost < 518 || lost > 682 {
		t.Errorf("lost %d of %d at 30%%, want about 600", lost, n)
	}
	if b := decisions(im, 42, streamUp, n, 100); !reflect.DeepEqual(a, b) {
		t.Error("the same seed gave different decisions")
	}
	if b := decisions(im, 43, streamUp, n, 100); reflect.DeepEqual(a, b) {
		t.Error("seeds 42 and 43 gave the same decisions")
	}
	if b := decisions(im, 42, streamDown, n, 100); reflect.DeepEqual(a, b) {
		t.Error("the two directions gave the same decisions")
	}
}

func TestDecideRates(t *testing.T) {
	const n = 20000
	im := Impairment{Loss: 0.1, Duplicate: 0.2, Corrupt: 0.05, Reorder: 0.3, Jitter: 5 * time.Millisecond}
	ds := decisions(im, 7, streamUp, n, 10)
	var lost, dup, corrupt, hold int
	for _, d := range ds {
		if d.lose {
			lost++
			continue
		}
		if d.dup {
			dup++
		}
		if d.bit >= 0 {
			corrupt++
			if d.bit >= 80 {
				t.Fatalf("bit %d outside a 10-byte datagram", d.bit)
			}
		}
		if d.hold {
			hold++
		}
		if d.jitter < -im.Jitter || d.jitter > im.Jitter {
			t.Fatalf("jitter %v outside ±%v", d.jitter, im.Jitter)
		}
	}
	kept := n - lost
	tests := []struct {
		name      string
		got, want float64
	}{
		{"loss", float64(lost) / n, 0.1},
		{"duplicate", float64(dup) / float64(kept), 0.2},
		{"corrupt", float64(corrupt) / float64(kept), 0.05},
		{"reorder", float64(hold) / float64(kept), 0.3},
	}
	for _, tt := range tests {
		if tt.got < tt.want*0.9 || tt.got > tt.want*1.1 {
			t.Errorf("%s rate %.4f, want about %.2f", tt.name, tt.got, tt.want)
		}
	}
	if !reflect.DeepEqual(ds, decisions(im, 7, streamUp, n, 10)) {
		t.Error("the same seed gave different decisions")
	}
}

func TestDecideEdges(t *testing.T) {
	tests := []struct {
		name string
		im   Impairment
		n    int
		want decision
	}{
		{"zero", Impairment{}, 10, decision{bit: -1}},
		{"all lost", Impairment{Loss: 1, Duplicate: 1}, 10, decision{lose: true, bit: -1}},
		{"always dup", Impairment{Duplicate: 1}, 10, decision{dup: true, bit: -1}},
		{"empty not corrupted", Impairment{Corrupt: 1}, 0, decision{bit: -1}},
		{"always held", Impairment{Reorder: 1}, 10, decision{hold: true, bit: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRand(1, streamUp)
			for range 100 {
				if got := tt.im.decide(r, tt.n); got != tt.want {
					t.Fatalf("decide = %+v, want %+v", got, tt.want)
				}
			}
		})
	}
}

func TestFlip(t *testing.T) {
	for i := range 64 {
		b := make([]byte, 8)
		flip(b, i)
		ones := 0
		for _, c := range b {
			ones += bits.OnesCount8(c)
		}
		if ones != 1 {
			t.Fatalf("flip(%d) set %d bits", i, ones)
		}
		flip(b, i)
		if !slices.Equal(b, make([]byte, 8)) {
			t.Fatalf("flip(%d) twice did not restore", i)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		im   Impairment
		ok   bool
	}{
		{"zero", Impairment{}, true},
		{"full", Impairment{Loss: 1, Duplicate: 1, Reorder: 1, Corrupt: 1, Delay: time.Minute, Jitter: time.Second, Rate: 1, Queue: 1, ReorderDelay: time.Second}, true},
		{"loss over 1", Impairment{Loss: 1.01}, false},
		{"negative dup", Impairment{Duplicate: -0.1}, false},
		{"nan", Impairment{Corrupt: math.NaN()}, false},
		{"negative delay", Impairment{Delay: -1}, false},
		{"long jitter", Impairment{Jitter: time.Hour}, false},
		{"negative rate", Impairment{Rate: -1}, false},
		{"negative queue", Impairment{Queue: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.im.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// TestHeap pushes packets due at random times, moves some, and checks they
// come out in (at, seq) order.
func TestHeap(t *testing.T) {
	d := newDirection(Impairment{Delay: 1}, 1, streamUp, 1<<30, newPools(DefaultMaxDatagram), nil)
	r := rand.New(rand.NewPCG(1, 2))
	var all []*packet
	for range 500 {
		all = append(all, d.enqueue([]byte("x"), nil, r.Int64N(100)))
	}
	for range 50 {
		p := all[r.IntN(len(all))]
		p.at, p.seq = r.Int64N(100), d.seq
		d.seq++
		d.fix(p.idx)
	}
	var prev *packet
	for len(d.heap) > 0 {
		p := d.pop()
		if prev != nil && (p.at < prev.at || p.at == prev.at && p.seq < prev.seq) {
			t.Fatalf("popped (%d,%d) after (%d,%d)", p.at, p.seq, prev.at, prev.seq)
		}
		prev = p
	}
}
