package rating

import (
	"math"
	"testing"
)

// TestPaperExample is the worked example of Glickman's paper: a 1500
// player (RD 200, volatility 0.06) beats a 1400 (RD 30) and loses to a
// 1550 (RD 100) and a 1700 (RD 300), with tau 0.5.
func TestPaperExample(t *testing.T) {
	r := Rating{Rating: 1500, Deviation: 200, Volatility: 0.06}
	got := r.Update([]Result{
		{Opponent: Rating{Rating: 1400, Deviation: 30, Volatility: 0.06}, Score: 1},
		{Opponent: Rating{Rating: 1550, Deviation: 100, Volatility: 0.06}, Score: 0},
		{Opponent: Rating{Rating: 1700, Deviation: 300, Volatility: 0.06}, Score: 0},
	}, 0.5)
	want := Rating{Rating: 1464.06, Deviation: 151.52, Volatility: 0.05999}
	if math.Abs(got.Rating-want.Rating) > 0.01 || math.Abs(got.Deviation-want.Deviation) > 0.01 || math.Abs(got.Volatility-want.Volatility) > 0.00001 {
		t.Errorf("got %+v, want %+v (the paper's figures)", got, want)
	}
}

func TestGame(t *testing.T) {
	a, b := New(), New()
	a2, b2 := Game(a, b, 1, 0)
	if a2.Rating <= a.Rating || b2.Rating >= b.Rating {
		t.Errorf("winner %v, loser %v", a2, b2)
	}
	if math.Abs((a2.Rating-1500)+(b2.Rating-1500)) > 1e-6 {
		t.Errorf("equal newcomers should move symmetrically: %v %v", a2, b2)
	}
	if a2.Deviation >= a.Deviation {
		t.Errorf("a game should narrow the deviation: %v", a2)
	}
	// A draw between equals changes no rating.
	c, d := Game(a, b, 0.5, 0)
	if math.Abs(c.Rating-1500) > 1e-6 || math.Abs(d.Rating-1500) > 1e-6 {
		t.Errorf("draw: %v %v", c, d)
	}
	// Beating a much stronger player gains more than beating an equal.
	strong := Rating{Rating: 1900, Deviation: 80, Volatility: 0.06}
	up, _ := Game(a, strong, 1, 0)
	if up.Rating-a.Rating <= a2.Rating-a.Rating {
		t.Errorf("upset %v not above %v", up, a2)
	}
}

func TestNoGames(t *testing.T) {
	r := Rating{Rating: 1600, Deviation: 50, Volatility: 0.06}
	got := r.Update(nil, 0)
	if got.Rating != 1600 || got.Deviation <= 50 || got.Volatility != 0.06 {
		t.Errorf("%+v", got)
	}
	if n := New().Update(nil, 0); n.Deviation != DefaultDeviation {
		t.Errorf("deviation past the default: %v", n)
	}
}

// TestManyGames keeps a long series finite and in bounds.
func TestManyGames(t *testing.T) {
	a, b := New(), New()
	for i := range 1000 {
		s := 1.0
		if i%4 == 0 {
			s = 0
		}
		a, b = Game(a, b, s, 0)
		for _, r := range []Rating{a, b} {
			if math.IsNaN(r.Rating) || math.IsInf(r.Rating, 0) || r.Deviation <= 0 || r.Deviation > DefaultDeviation || r.Volatility <= 0 {
				t.Fatalf("game %d: %+v", i, r)
			}
		}
	}
	if a.Rating <= b.Rating {
		t.Errorf("the player who wins 3 of 4 is rated below: %v %v", a, b)
	}
}
