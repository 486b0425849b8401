package main

import (
	"math"
	"testing"
)

func TestGoal(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		g    goal
		x    float64
		str  string
		want bool
	}{
		{atLeast(0.9), 0.95, ">= 0.9", true},
		{atLeast(0.9), 0.9, ">= 0.9", true},
		{atLeast(0.9), 0.89, ">= 0.9", false},
		{atLeast(0.9), nan, ">= 0.9", false},
		{atMost(1), 0.7, "<= 1", true},
		{atMost(1), 1, "<= 1", true},
		{atMost(1), 1.01, "<= 1", false},
		{atMost(1), nan, "<= 1", false},
		{goal{}, 5, "", false},
	}
	for _, tt := range tests {
		if got := tt.g.met(tt.x); got != tt.want {
			t.Errorf("goal %q met(%g) = %v, want %v", tt.g, tt.x, got, tt.want)
		}
		if got := tt.g.String(); got != tt.str {
			t.Errorf("goal %+v String() = %q, want %q", tt.g, got, tt.str)
		}
	}
}

// runs builds a part whose rounds each have one run named a and one
// named c with the given values of MBps and WallSeconds.
func runsPart(a, c string, av, cv []float64) *part {
	p := &part{paired: map[string][]float64{}}
	for i := range av {
		p.add(result{Round: i + 1, What: a, MBps: av[i], WallSeconds: av[i]})
		p.add(result{Round: i + 1, What: c, MBps: cv[i], WallSeconds: cv[i]})
	}
	return p
}

func TestPairedFigGoal(t *testing.T) {
	tests := []struct {
		name   string
		av, cv []float64
		failed int // round whose a run failed, 0 for none
		g      goal
		want   float64 // NaN for none
		n      int
		met    bool
	}{
		// Per-round ratios 0.5, 2, 0.8: the median is 0.8, not the
		// ratio of the medians (2/2.5).
		{"median of ratios", []float64{1, 4, 2}, []float64{2, 2, 2.5}, 0, atMost(1), 0.8, 3, true},
		{"missed", []float64{3, 3, 3}, []float64{2, 2, 2}, 0, atMost(1), 1.5, 3, false},
		{"at least", []float64{9, 8}, []float64{10, 10}, 0, atLeast(0.8), 0.85, 2, true},
		{"failed round left out", []float64{1, 9, 1}, []float64{2, 1, 2}, 2, atMost(1), 0.5, 2, true},
		{"nothing paired misses", []float64{1}, []float64{2}, 1, atMost(1), math.NaN(), 0, false},
		{"no goal", []float64{1}, []float64{2}, 0, goal{}, 0.5, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := runsPart("a", "c", tt.av, tt.cv)
			if tt.failed > 0 {
				p.Runs[2*(tt.failed-1)].Err = "boom"
			}
			for r := 1; r <= len(tt.av); r++ {
				p.pair("a/c", r, "a", "c", wallSeconds)
			}
			p.pairedFig("a/c", tt.g)
			f := p.Figures[len(p.Figures)-1]
			if v := float64(f.Value); !(v == tt.want || math.IsNaN(v) && math.IsNaN(tt.want)) && math.Abs(v-tt.want) > 1e-9 {
				t.Errorf("value %g, want %g", v, tt.want)
			}
			if f.N != tt.n {
				t.Errorf("n %d, want %d", f.N, tt.n)
			}
			switch {
			case tt.g.op == "" && (f.Met != nil || f.Goal != ""):
				t.Errorf("no goal, but Goal %q Met %v", f.Goal, f.Met)
			case tt.g.op != "" && (f.Met == nil || *f.Met != tt.met || f.Goal != tt.g.String()):
				t.Errorf("Goal %q Met %v, want %q %v", f.Goal, f.Met, tt.g, tt.met)
			}
		})
	}
}

func TestRatioFigGoal(t *testing.T) {
	p := &part{paired: map[string][]float64{}}
	plain := figure{Value: 400, N: 3}
	sealed := figure{Value: 340, N: 3}
	p.ratioFig("sealed/plain", sealed, plain, atLeast(0.9))
	p.ratioFig("none", sealed, figure{}, atLeast(0.5))
	if f := p.Figures[0]; math.Abs(float64(f.Value)-0.85) > 1e-9 || f.Met == nil || *f.Met {
		t.Errorf("340/400 against >= 0.9: %+v, want 0.85 missed", f)
	}
	if f := p.Figures[1]; !math.IsNaN(float64(f.Value)) || f.Met == nil || *f.Met {
		t.Errorf("ratio to a median of nothing: %+v, want NaN missed", f)
	}
	rep := report{Results: []*part{p}}
	if !rep.goalMissed() {
		t.Error("report with missed goals: goalMissed false")
	}
}
