// Package game holds the rules of rock-paper-scissors with no networking:
// the moves in every spelling a player may type, who wins a round, the
// score of a first-to-N game, its end, and forfeits. The server in package
// rps runs one Game per pair of players.
package game

import (
	"errors"
	"fmt"
	"strings"
)

// Move is one player's choice in a round. The zero value, None, is no
// choice yet.
type Move uint8

// The moves.
const (
	None Move = iota
	Rock
	Paper
	Scissors
)

// String returns the move's English word ("rock"), or "none".
func (m Move) String() string {
	switch m {
	case Rock:
		return "rock"
	case Paper:
		return "paper"
	case Scissors:
		return "scissors"
	}
	return "none"
}

// Polish returns the move's Polish word ("kamień").
func (m Move) Polish() string {
	switch m {
	case Rock:
		return "kamień"
	case Paper:
		return "papier"
	case Scissors:
		return "nożyce"
	}
	return "brak"
}

// Beats reports whether m wins over o.
func (m Move) Beats(o Move) bool {
	return (m == Rock && o == Scissors) || (m == Scissors && o == Paper) || (m == Paper && o == Rock)
}

// Accepted lists the words ParseMove takes, for an error message.
const Accepted = "rock, paper, scissors (r, p, s) or kamień, papier, nożyce (k, p, n; kamien, nozyce), any case"

var (
	// ErrUnknownMove is returned by ParseMove for a word that is no move.
	ErrUnknownMove = errors.New("game: unknown move")
	// ErrOver is returned for a move or forfeit in a game that has ended.
	ErrOver = errors.New("game: the game is over")
	// ErrAlreadyMoved is returned for a second move in the same round.
	ErrAlreadyMoved = errors.New("game: already moved this round")
	// ErrSide is returned for a side other than 0 or 1.
	ErrSide = errors.New("game: no such side")
)

// words maps every accepted spelling, folded by fold, to its move.
var words = map[string]Move{
	"rock": Rock, "r": Rock, "kamien": Rock, "k": Rock,
	"paper": Paper, "p": Paper, "papier": Paper,
	"scissors": Scissors, "s": Scissors, "nozyce": Scissors, "n": Scissors,
}

// fold lower-cases s and takes the Polish letters to their ASCII bases,
// precomposed ("ń") or decomposed ("n" and a combining acute), so that
// "KAMIEŃ", "kamień" and "kamien" are one word.
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.ToLower(s) {
		switch {
		case r == 'ń':
			b.WriteByte('n')
		case r == 'ż' || r == 'ź':
			b.WriteByte('z')
		case r >= 0x300 && r <= 0x36f:
			// Combining diacritics: a decomposed "ń" or "ż".
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ParseMove reads a move in English or Polish, whole word or first letter,
// in any case, with surrounding space ignored.
func ParseMove(s string) (Move, error) {
	s = strings.TrimSpace(s)
	if m, ok := words[fold(s)]; ok {
		return m, nil
	}
	if len(s) > 32 {
		s = s[:32] + "…"
	}
	return None, fmt.Errorf("%w %q: say %s", ErrUnknownMove, s, Accepted)
}

// Reason is why a game ended early.
type Reason string

// The reasons a game is forfeited.
const (
	// NoForfeit: the game was played to its end.
	NoForfeit Reason = ""
	// Disconnected: the player's connection dropped and it did not come
	// back within the grace.
	Disconnected Reason = "disconnected"
	// Timeout: the player did not move within the move timeout.
	Timeout Reason = "timeout"
	// Quit: the player left with /quit.
	Quit Reason = "quit"
)

// Draw is the Winner of a drawn round, and of a game both players
// forfeited.
const Draw = -1

// Round is what one round came to.
type Round struct {
	// N is the round's number, from 1.
	N int
	// Moves are side 0's and side 1's moves.
	Moves [2]Move
	// Winner is the side that won the round, or Draw.
	Winner int
	// Score is the score after the round.
	Score [2]int
	// Over reports that the round ended the game.
	Over bool
}

// Game is one first-to-N game between side 0 and side 1. A Game is not
// safe for concurrent use; its zero value is not usable: call New.
type Game struct {
	target  int
	round   int
	score   [2]int
	moves   [2]Move
	over    bool
	winner  int
	forfeit Reason
	loser   int // who forfeited, or Draw when both did
}

// New starts a game won by the first side to win target rounds; target
// below 1 means 1.
func New(target int) *Game {
	return &Game{target: max(target, 1), round: 1, winner: Draw, loser: Draw}
}

// Target is the number of round wins that wins the game.
func (g *Game) Target() int { return g.target }

// RoundNumber is the number of the round being played, or of the last
// one once the game is over.
func (g *Game) RoundNumber() int { return g.round }

// Score is the rounds each side has won.
func (g *Game) Score() [2]int { return g.score }

// Moved returns side's move in the round being played, or None.
func (g *Game) Moved(side int) Move {
	if side != 0 && side != 1 {
		return None
	}
	return g.moves[side]
}

// Over reports whether the game has ended.
func (g *Game) Over() bool { return g.over }

// Winner is the side that won the game, or Draw while it is not over or
// when both sides forfeited.
func (g *Game) Winner() int { return g.winner }

// Forfeit reports why the game ended early and who forfeited (Draw for
// both), or NoForfeit.
func (g *Game) Forfeit() (Reason, int) { return g.forfeit, g.loser }

// Play records side's move. Once both sides have moved it returns the
// round's result and done is true; the next round then begins, unless the
// round ended the game. A move that is None, a second move in a round, or
// a move after the end is an error and changes nothing.
func (g *Game) Play(side int, m Move) (r Round, done bool, err error) {
	switch {
	case side != 0 && side != 1:
		return Round{}, false, ErrSide
	case g.over:
		return Round{}, false, ErrOver
	case m < Rock || m > Scissors:
		return Round{}, false, fmt.Errorf("%w: say %s", ErrUnknownMove, Accepted)
	case g.moves[side] != None:
		return Round{}, false, fmt.Errorf("%w: you chose %s", ErrAlreadyMoved, g.moves[side])
	}
	g.moves[side] = m
	if g.moves[1-side] == None {
		return Round{}, false, nil
	}
	r = Round{N: g.round, Moves: g.moves, Winner: Draw}
	switch {
	case g.moves[0].Beats(g.moves[1]):
		r.Winner = 0
	case g.moves[1].Beats(g.moves[0]):
		r.Winner = 1
	}
	if r.Winner != Draw {
		g.score[r.Winner]++
		if g.score[r.Winner] >= g.target {
			g.over, g.winner = true, r.Winner
		}
	}
	r.Score, r.Over = g.score, g.over
	g.moves = [2]Move{}
	if !g.over {
		g.round++
	}
	return r, true, nil
}

// Resign ends the game with side losing by forfeit for reason; side Draw
// means both sides forfeit, and nobody wins.
func (g *Game) Resign(side int, reason Reason) error {
	switch {
	case side != 0 && side != 1 && side != Draw:
		return ErrSide
	case g.over:
		return ErrOver
	}
	g.over, g.forfeit, g.loser = true, reason, side
	if side != Draw {
		g.winner = 1 - side
	}
	return nil
}

// MarshalText gives the move's English word, for JSON.
func (m Move) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads any spelling ParseMove takes, or "none".
func (m *Move) UnmarshalText(b []byte) error {
	if string(b) == "none" || len(b) == 0 {
		*m = None
		return nil
	}
	v, err := ParseMove(string(b))
	*m = v
	return err
}
