package game

import (
	"errors"
	"fmt"
	"testing"
)

// spellings are every accepted way to type each move, in several cases,
// with Polish letters precomposed and decomposed.
var spellings = map[Move][]string{
	Rock:     {"rock", "ROCK", "Rock", "r", "R", "kamień", "KAMIEŃ", "Kamień", "kamien", "KAMIEN", "kamien\u0301", "k", "K", " rock ", "\tk"},
	Paper:    {"paper", "PAPER", "Paper", "p", "P", "papier", "PAPIER", "Papier", " papier\t"},
	Scissors: {"scissors", "SCISSORS", "Scissors", "s", "S", "nożyce", "NOŻYCE", "Nożyce", "nozyce", "NOZYCE", "noz\u0307yce", "n", "N"},
}

// wantWinner is who wins a round, by the moves of side 0 and side 1.
var wantWinner = map[[2]Move]int{
	{Rock, Rock}: Draw, {Rock, Paper}: 1, {Rock, Scissors}: 0,
	{Paper, Rock}: 0, {Paper, Paper}: Draw, {Paper, Scissors}: 1,
	{Scissors, Rock}: 1, {Scissors, Paper}: 0, {Scissors, Scissors}: Draw,
}

func TestParseMove(t *testing.T) {
	for want, words := range spellings {
		for _, w := range words {
			got, err := ParseMove(w)
			if err != nil || got != want {
				t.Errorf("ParseMove(%q) = %v, %v; want %v", w, got, err, want)
			}
		}
	}
	for _, w := range []string{"", "x", "rocks", "kamienie", "nożyczki", "ro", "pa", "/rock", "rock paper", "é", "\xff"} {
		if m, err := ParseMove(w); !errors.Is(err, ErrUnknownMove) || m != None {
			t.Errorf("ParseMove(%q) = %v, %v; want ErrUnknownMove", w, m, err)
		}
	}
}

// TestEveryPair plays one round for every pair of moves in every
// spelling, each side in turn moving first.
func TestEveryPair(t *testing.T) {
	n := 0
	for a, as := range spellings {
		for b, bs := range spellings {
			want := wantWinner[[2]Move{a, b}]
			for _, sa := range as {
				for _, sb := range bs {
					for first := range 2 {
						t.Run(fmt.Sprintf("%q-%q-first%d", sa, sb, first), func(t *testing.T) {
							ma, err := ParseMove(sa)
							if err != nil {
								t.Fatal(err)
							}
							mb, err := ParseMove(sb)
							if err != nil {
								t.Fatal(err)
							}
							g := New(3)
							moves := [2]Move{ma, mb}
							if _, done, err := g.Play(first, moves[first]); done || err != nil {
								t.Fatalf("first move: done %v, err %v", done, err)
							}
							r, done, err := g.Play(1-first, moves[1-first])
							if !done || err != nil {
								t.Fatalf("second move: done %v, err %v", done, err)
							}
							if r.Winner != want || r.Moves != [2]Move{a, b} || r.N != 1 {
								t.Errorf("round = %+v; want winner %d of %v", r, want, [2]Move{a, b})
							}
							wantScore := [2]int{}
							if want != Draw {
								wantScore[want] = 1
							}
							if g.Score() != wantScore || r.Score != wantScore {
								t.Errorf("score %v (round says %v), want %v", g.Score(), r.Score, wantScore)
							}
						})
						n++
					}
				}
			}
		}
	}
	t.Logf("%d pairs", n)
}

func TestGameToThree(t *testing.T) {
	g := New(3)
	play := func(a, b Move) Round {
		t.Helper()
		g.Play(0, a)
		r, done, err := g.Play(1, b)
		if !done || err != nil {
			t.Fatalf("round: done %v, err %v", done, err)
		}
		return r
	}
	play(Rock, Scissors)  // 1:0
	play(Rock, Rock)      // draw
	play(Paper, Scissors) // 1:1
	play(Scissors, Paper) // 2:1
	if r := play(Paper, Rock); !r.Over || r.Score != [2]int{3, 1} || r.N != 5 {
		t.Fatalf("last round %+v, want over at 3:1 in round 5", r)
	}
	if !g.Over() || g.Winner() != 0 {
		t.Fatalf("over %v winner %d; want side 0", g.Over(), g.Winner())
	}
	if _, _, err := g.Play(0, Rock); !errors.Is(err, ErrOver) {
		t.Errorf("move after the end: %v, want ErrOver", err)
	}
	if err := g.Resign(1, Quit); !errors.Is(err, ErrOver) {
		t.Errorf("resign after the end: %v, want ErrOver", err)
	}
}

func TestBadMoves(t *testing.T) {
	g := New(3)
	if _, _, err := g.Play(0, None); !errors.Is(err, ErrUnknownMove) {
		t.Errorf("None: %v", err)
	}
	if _, _, err := g.Play(2, Rock); !errors.Is(err, ErrSide) {
		t.Errorf("side 2: %v", err)
	}
	g.Play(0, Rock)
	if _, _, err := g.Play(0, Paper); !errors.Is(err, ErrAlreadyMoved) {
		t.Errorf("second move: %v", err)
	}
	if g.Moved(0) != Rock || g.Moved(1) != None {
		t.Errorf("moved %v %v", g.Moved(0), g.Moved(1))
	}
	// The bad moves cost nothing: the round goes on.
	r, done, _ := g.Play(1, Scissors)
	if !done || r.Winner != 0 || r.N != 1 {
		t.Errorf("round after bad moves: %+v", r)
	}
}

func TestResign(t *testing.T) {
	for _, tc := range []struct {
		side       int
		wantWinner int
	}{{0, 1}, {1, 0}, {Draw, Draw}} {
		g := New(3)
		g.Play(0, Rock)
		if err := g.Resign(tc.side, Timeout); err != nil {
			t.Fatal(err)
		}
		reason, loser := g.Forfeit()
		if !g.Over() || g.Winner() != tc.wantWinner || reason != Timeout || loser != tc.side {
			t.Errorf("resign %d: over %v winner %d forfeit %q by %d", tc.side, g.Over(), g.Winner(), reason, loser)
		}
	}
	if err := New(1).Resign(5, Quit); !errors.Is(err, ErrSide) {
		t.Errorf("resign side 5: %v", err)
	}
}

func TestFirstToOne(t *testing.T) {
	g := New(0)
	if g.Target() != 1 {
		t.Fatalf("target %d", g.Target())
	}
	g.Play(1, Paper)
	if r, _, _ := g.Play(0, Rock); !r.Over || g.Winner() != 1 {
		t.Errorf("%+v", r)
	}
}

func TestNames(t *testing.T) {
	for m, want := range map[Move][2]string{Rock: {"rock", "kamień"}, Paper: {"paper", "papier"}, Scissors: {"scissors", "nożyce"}, None: {"none", "brak"}} {
		if m.String() != want[0] || m.Polish() != want[1] {
			t.Errorf("%d: %s %s", m, m, m.Polish())
		}
	}
}
