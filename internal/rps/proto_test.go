package rps

import (
	"bytes"
	"errors"
	"testing"

	"github.com/netkit/netkit/internal/rps/game"
)

// sampleEvents are one of every line the server sends.
var sampleEvents = []Event{
	{Kind: KindWelcome, Target: 3, Text: "send your name"},
	{Kind: KindWelcome, Room: "Blue42", Text: "now send your name"},
	{Kind: KindWelcome, Name: "alice", Token: "0123456789abcdef", Text: "keep it"},
	{Kind: KindWaiting, Waiting: 1, Text: "you are the only player waiting"},
	{Kind: KindWaiting, Room: "Blue42"},
	{Kind: KindMatched, Opponent: "bob", Target: 3},
	{Kind: KindMatched, Opponent: "bob", Target: 5, Resumed: true, Score: [2]int{2, 1}},
	{Kind: KindRound, Round: 1, Prompt: true, Text: "rock, paper or scissors?"},
	{Kind: KindRound, Round: 2, Mine: game.Scissors, Text: "waiting for bob"},
	{Kind: KindResult, Round: 3, Mine: game.Rock, Theirs: game.Scissors, Outcome: Win, Text: "your rock beats bob's scissors"},
	{Kind: KindResult, Round: 4, Mine: game.Paper, Theirs: game.Paper, Outcome: Draw},
	{Kind: KindScore, Score: [2]int{1, 0}},
	{Kind: KindGame, State: GameOver, Opponent: "bob", Outcome: Win, Score: [2]int{3, 1}, Text: "you beat bob 3:1"},
	{Kind: KindGame, State: GameOver, Opponent: "bob", Outcome: Lose, Score: [2]int{0, 1}, Forfeit: "timeout"},
	{Kind: KindGame, State: GamePaused, Opponent: "bob", Grace: 15},
	{Kind: KindGame, State: GameResumed, Opponent: "bob"},
	{Kind: KindTop, Rank: 1, Name: "alice", Rating: 1662, Won: 3, Lost: 1, Forfeits: 2},
	{Kind: KindTop, Text: "no game has finished yet"},
	{Kind: KindHelp, Text: "moves: rock: paper"},
	{Kind: KindError, Text: "unknown move \"x\": say rock"},
}

func TestEventRoundTrip(t *testing.T) {
	for _, e := range sampleEvents {
		line := e.Line()
		got, err := ParseEvent(line)
		if err != nil {
			t.Errorf("ParseEvent(%q): %v", line, err)
			continue
		}
		if got != e {
			t.Errorf("ParseEvent(%q) = %+v, want %+v", line, got, e)
		}
	}
}

func TestEventLines(t *testing.T) {
	for _, tc := range []struct {
		e    Event
		want string
	}{
		{Event{Kind: KindResult, Round: 3, Mine: game.Rock, Theirs: game.Scissors, Outcome: Win, Text: "x"}, "result 3 rock scissors win: x\n"},
		{Event{Kind: KindGame, State: GameOver, Opponent: "bob", Outcome: Lose, Score: [2]int{0, 1}, Forfeit: "timeout"}, "game over bob lose 0 1 forfeit timeout\n"},
		{Event{Kind: KindScore, Score: [2]int{2, 1}}, "score 2 1\n"},
		{Event{Kind: KindError, Text: "bad"}, "error bad\n"},
	} {
		if got := string(tc.e.Line()); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.e, got, tc.want)
		}
	}
}

func TestParseEventBad(t *testing.T) {
	for _, s := range []string{"", "hello", "round", "round x move", "round 1", "round 1 chose stone", "score 1", "score 1 -1",
		"score 01 1", "result 1 rock", "result 1 rock paper maybe", "game over bob win 1", "game later bob", "welcome alice",
		"waiting", "waiting x", "matched bob", "top 1 alice", "score 1 2 3", "\xff"} {
		if e, err := ParseEvent([]byte(s)); !errors.Is(err, ErrBadLine) {
			t.Errorf("ParseEvent(%q) = %+v, %v; want ErrBadLine", s, e, err)
		}
	}
	// The service runtime's notices parse as errors.
	if e, err := ParseEvent([]byte("error: line too long (limit 4096 bytes); closing")); err != nil || e.Kind != KindError {
		t.Errorf("%+v %v", e, err)
	}
}

// TestTruncated: every prefix of a line with fields is rejected or parses
// to something else, never to the whole event.
func TestTruncated(t *testing.T) {
	for _, e := range sampleEvents {
		line := bytes.TrimSuffix(e.Line(), []byte("\n"))
		if e.Text != "" {
			continue
		}
		for i := range len(line) {
			got, err := ParseEvent(line[:i])
			if err == nil && got == e {
				t.Errorf("prefix %q of %q parses as the whole", line[:i], line)
			}
		}
	}
}

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Command
		err  error
	}{
		{"", Command{Op: OpEmpty}, nil},
		{"  rock ", Command{Op: OpWord, Arg: "rock"}, nil},
		{"/room abc", Command{Op: OpRoom, Arg: "abc"}, nil},
		{"/ROOM  abc ", Command{Op: OpRoom, Arg: "abc"}, nil},
		{"/room", Command{}, ErrBadRoom},
		{"/room a b", Command{}, ErrBadRoom},
		{"/resume 0123", Command{Op: OpResume, Arg: "0123"}, nil},
		{"/resume", Command{}, ErrUsage},
		{"/top", Command{Op: OpTop, N: DefaultTop}, nil},
		{"/top 3", Command{Op: OpTop, N: 3}, nil},
		{"/top 0", Command{}, ErrUsage},
		{"/top 51", Command{}, ErrUsage},
		{"/help", Command{Op: OpHelp}, nil},
		{"/quit", Command{Op: OpQuit}, nil},
		{"/dance", Command{}, ErrUnknownCommand},
		{"\xff", Command{}, ErrInvalidUTF8},
	} {
		got, err := ParseCommand([]byte(tc.in))
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("ParseCommand(%q) = %+v, %v; want %+v, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// FuzzParseEvent: no line crashes the parser, and whatever parses comes
// back the same from its own encoding.
func FuzzParseEvent(f *testing.F) {
	for _, e := range sampleEvents {
		f.Add(e.Line())
	}
	f.Add([]byte("game over bob win 3 1 forfeit quit: x"))
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := ParseEvent(line)
		if err != nil {
			return
		}
		again, err := ParseEvent(e.Line())
		if err != nil {
			t.Fatalf("%q parsed as %+v, whose line %q does not parse: %v", line, e, e.Line(), err)
		}
		if e.Kind != KindError && e.Kind != KindHelp && again != e {
			t.Fatalf("%q: %+v, then %+v", line, e, again)
		}
	})
}

// FuzzParseCommand: no line crashes the parser, and commands keep their
// arguments within bounds.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"rock", "kamień", "/room abc", "/resume 0123456789abcdef", "/top 5", "/help", "/quit", "alice", "", "/"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		c, err := ParseCommand(line)
		if err != nil {
			return
		}
		switch c.Op {
		case OpRoom:
			if CheckRoom(c.Arg) != nil {
				t.Fatalf("%q: room %q", line, c.Arg)
			}
		case OpTop:
			if c.N < 1 || c.N > MaxTop {
				t.Fatalf("%q: top %d", line, c.N)
			}
		}
	})
}
