package rudp

import (
	"testing"
	"time"
)

func TestCongestionAck(t *testing.T) {
	tests := []struct {
		name      string
		c         congestion
		newly     int
		largest   uint32
		limit     uint32
		wantCwnd  float64
		recovered bool
	}{
		{"slow start adds one per fragment", newCongestion(), 8, 1, 4096, initialCwnd + 8, true},
		{"slow start stops at the limit", newCongestion(), 8, 1, 36, 36, true},
		{"avoidance adds one per window", congestion{cwnd: 40, ssthresh: 20, recovered: true}, 20, 1, 4096, 40.5, true},
		{"in recovery nothing grows", congestion{cwnd: 40, ssthresh: 20, recovery: 100}, 20, 100, 4096, 40, false},
		{"an ack past the recovery ends it", congestion{cwnd: 40, ssthresh: 20, recovery: 100}, 20, 101, 4096, 40.5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			c.onAck(tt.newly, tt.largest, tt.limit)
			if c.cwnd != tt.wantCwnd || c.recovered != tt.recovered {
				t.Errorf("cwnd %v recovered %v, want %v %v", c.cwnd, c.recovered, tt.wantCwnd, tt.recovered)
			}
		})
	}
}

func TestCongestionLossEvent(t *testing.T) {
	c := newCongestion()
	// lossFloor losses in one round trip are tolerated.
	for i := range lossFloor {
		if c.onLoss(uint32(10+i), 20, 50) {
			t.Fatalf("loss %d began a loss event", i+1)
		}
	}
	if !c.onLoss(12, 20, 50) {
		t.Fatal("loss past the floor began no loss event")
	}
	if want := initialCwnd * beta; c.cwnd != want || c.ssthresh != want || c.recovery != 49 || c.recovered {
		t.Fatalf("after the event cwnd %v ssthresh %v recovery %d recovered %v, want %v %v 49 false", c.cwnd, c.ssthresh, c.recovery, c.recovered, want, want)
	}
	// Packets sent before the event began belong to it: no second cut.
	for i := range 10 {
		if c.onLoss(uint32(13+i), 20, 50) {
			t.Fatalf("loss of packet %d, inside the recovery, began another event", 13+i)
		}
	}
	if want := initialCwnd * beta; c.cwnd != want {
		t.Fatalf("cwnd %v after losses inside the recovery, want %v", c.cwnd, want)
	}
}

func TestCongestionTimeout(t *testing.T) {
	c := congestion{cwnd: 100, ssthresh: 200, recovered: true}
	c.onTimeout(30)
	if c.cwnd != minCwnd || c.ssthresh != 70 || c.recovered || c.recovery != 29 {
		t.Fatalf("cwnd %v ssthresh %v recovered %v recovery %d, want %d 70 false 29", c.cwnd, c.ssthresh, c.recovered, c.recovery, minCwnd)
	}
	c = congestion{cwnd: 4, ssthresh: 8}
	if c.onTimeout(1); c.ssthresh != minCwnd {
		t.Fatalf("ssthresh %v, want at least %d", c.ssthresh, minCwnd)
	}
}

func TestPacer(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var p pacer
	c := newCongestion() // 32 fragments, slow start
	r := newRTO(time.Second, time.Millisecond, time.Minute)
	p.refill(t0, &c, &r)
	if p.tokens != maxBurst {
		t.Fatalf("before an RTT sample: %v tokens, want a full bucket of %d", p.tokens, maxBurst)
	}
	r.sample(10 * time.Millisecond)
	p.tokens = 0
	p.refill(t0.Add(time.Millisecond), &c, &r)
	// 2 * 32 fragments per 10 ms: 6.4 in 1 ms.
	if p.tokens < 6.3 || p.tokens > 6.5 {
		t.Fatalf("%v tokens after 1 ms at 6400/s, want 6.4", p.tokens)
	}
	p.refill(t0.Add(time.Second), &c, &r)
	if p.tokens != maxBurst {
		t.Fatalf("%v tokens after a second, want the bucket's %d", p.tokens, maxBurst)
	}
	if d := p.deadline(&c, &r); !d.IsZero() {
		t.Fatalf("deadline %v of a pacer that blocked nothing, want zero", d)
	}
	p.tokens, p.blocked = 0.5, true
	want := p.at.Add(time.Duration(0.5 / 6400 * float64(time.Second)))
	if d := p.deadline(&c, &r); d.Sub(want).Abs() > time.Microsecond {
		t.Fatalf("deadline %v, want %v", d, want)
	}
}
