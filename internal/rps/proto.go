package rps

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/netkit/netkit/internal/rps/game"
)

// The keyword every server line starts with.
const (
	KindWelcome = "welcome"
	KindWaiting = "waiting"
	KindMatched = "matched"
	KindRound   = "round"
	KindResult  = "result"
	KindScore   = "score"
	KindGame    = "game"
	KindTop     = "top"
	KindHelp    = "help"
	KindError   = "error"
)

// Outcomes of a round or a game, as the lines name them.
const (
	Win  = "win"
	Lose = "lose"
	Draw = "draw"
)

// What a "game" line says.
const (
	GameOver    = "over"
	GamePaused  = "paused"
	GameResumed = "resumed"
)

// Event is one line the server sends, parsed: Kind, and the fields that
// kind has. The zero value of a field is "not said". Append and
// ParseEvent are inverses on the fields; the text after ": " is for
// people, and ParseEvent keeps it in Text.
type Event struct {
	Kind     string    `json:"type"`
	Name     string    `json:"name,omitempty"`     // welcome (yours), top
	Token    string    `json:"token,omitempty"`    // welcome
	Target   int       `json:"first_to,omitempty"` // welcome (greeting), matched
	Waiting  int       `json:"waiting,omitempty"`  // waiting: players waiting, you included
	Room     string    `json:"room,omitempty"`     // waiting, welcome (room chosen)
	Opponent string    `json:"opponent,omitempty"` // matched, game, result
	Resumed  bool      `json:"resumed,omitempty"`  // matched: back in a game after a reconnect
	Round    int       `json:"round,omitempty"`    // round, result
	Prompt   bool      `json:"prompt,omitempty"`   // round: your move is asked for
	Mine     game.Move `json:"mine,omitempty"`     // round (chosen), result
	Theirs   game.Move `json:"theirs,omitempty"`   // result
	Outcome  string    `json:"outcome,omitempty"`  // result, game over: win, lose or draw
	Score    [2]int    `json:"score,omitzero"`     // score, game over, matched (resumed): yours, theirs
	State    string    `json:"state,omitempty"`    // game: over, paused, resumed
	Forfeit  string    `json:"forfeit,omitempty"`  // game over: disconnected, timeout or quit
	Grace    int       `json:"grace,omitempty"`    // game paused: seconds the opponent has to come back
	Rank     int       `json:"rank,omitempty"`     // top
	Rating   int       `json:"rating,omitempty"`   // top
	Won      int       `json:"won,omitempty"`      // top
	Lost     int       `json:"lost,omitempty"`     // top
	Forfeits int       `json:"forfeited,omitempty"`
	Text     string    `json:"text,omitempty"` // the part for people; all of an error or help line
}

// ErrBadLine is returned by ParseEvent for a line that is no server line.
var ErrBadLine = errors.New("rps: not a server line")

// Append appends e as one line, with its "\n".
func (e *Event) Append(b []byte) []byte {
	b = append(b, e.Kind...)
	num := func(n int) { b = append(b, ' '); b = strconv.AppendInt(b, int64(n), 10) }
	word := func(s string) { b = append(b, ' '); b = append(b, s...) }
	switch e.Kind {
	case KindWelcome:
		switch {
		case e.Token != "":
			word(e.Name)
			word("token")
			word(e.Token)
		case e.Room != "":
			word("room")
			word(e.Room)
		default:
			word("rps")
			word("first-to")
			num(e.Target)
		}
	case KindWaiting:
		if e.Room != "" {
			word("room")
			word(e.Room)
		} else {
			num(e.Waiting)
		}
	case KindMatched:
		word(e.Opponent)
		word("first-to")
		num(e.Target)
		if e.Resumed {
			word("resumed")
			num(e.Score[0])
			num(e.Score[1])
		}
	case KindRound:
		num(e.Round)
		if e.Prompt {
			word("move")
		} else {
			word("chose")
			word(e.Mine.String())
		}
	case KindResult:
		num(e.Round)
		word(e.Mine.String())
		word(e.Theirs.String())
		word(e.Outcome)
	case KindScore:
		num(e.Score[0])
		num(e.Score[1])
	case KindGame:
		word(e.State)
		word(e.Opponent)
		switch e.State {
		case GameOver:
			word(e.Outcome)
			num(e.Score[0])
			num(e.Score[1])
			if e.Forfeit != "" {
				word("forfeit")
				word(e.Forfeit)
			}
		case GamePaused:
			num(e.Grace)
		}
	case KindTop:
		if e.Rank == 0 {
			word("none")
		} else {
			num(e.Rank)
			word(e.Name)
			num(e.Rating)
			num(e.Won)
			num(e.Lost)
			num(e.Forfeits)
		}
	case KindError, KindHelp:
		if e.Text != "" {
			word(e.Text)
		}
		return append(b, '\n')
	}
	if e.Text != "" {
		b = append(b, ':', ' ')
		b = append(b, e.Text...)
	}
	return append(b, '\n')
}

// Line returns e as one line, with its "\n".
func (e *Event) Line() []byte { return e.Append(nil) }

// ParseEvent parses one server line, without or with its "\n".
func ParseEvent(line []byte) (Event, error) {
	s := strings.TrimRight(string(line), "\r\n")
	if !utf8.ValidString(s) || strings.ContainsAny(s, "\r\n") {
		return Event{}, fmt.Errorf("%w: %q", ErrBadLine, clip(s))
	}
	kind, rest, _ := strings.Cut(s, " ")
	// The service runtime's notices ("error: line too long") are errors
	// too.
	kind = strings.TrimSuffix(kind, ":")
	e := Event{Kind: kind}
	if kind == KindError || kind == KindHelp {
		e.Text = rest
		return e, nil
	}
	head, text, _ := strings.Cut(rest, ": ")
	e.Text = text
	f := strings.Fields(head)
	bad := func() (Event, error) { return Event{}, fmt.Errorf("%w: %q", ErrBadLine, clip(s)) }
	nums := func(dst ...*int) bool {
		if len(f) < len(dst) {
			return false
		}
		for i, d := range dst {
			n, err := strconv.Atoi(f[i])
			if err != nil || n < 0 || f[i] != strconv.Itoa(n) {
				return false
			}
			*d = n
		}
		f = f[len(dst):]
		return true
	}
	words := func(dst ...*string) bool {
		if len(f) < len(dst) {
			return false
		}
		for i, d := range dst {
			*d = f[i]
		}
		f = f[len(dst):]
		return true
	}
	lit := func(w string) bool {
		if len(f) == 0 || f[0] != w {
			return false
		}
		f = f[1:]
		return true
	}
	move := func(dst *game.Move) bool {
		if len(f) == 0 {
			return false
		}
		m, ok := moveNames[f[0]]
		if !ok {
			return false
		}
		*dst = m
		f = f[1:]
		return true
	}
	switch kind {
	case KindWelcome:
		switch {
		case lit("rps"):
			if !lit("first-to") || !nums(&e.Target) {
				return bad()
			}
		case lit("room"):
			if !words(&e.Room) {
				return bad()
			}
		default:
			if !words(&e.Name) || !lit("token") || !words(&e.Token) {
				return bad()
			}
		}
	case KindWaiting:
		if lit("room") {
			if !words(&e.Room) {
				return bad()
			}
		} else if !nums(&e.Waiting) {
			return bad()
		}
	case KindMatched:
		if !words(&e.Opponent) || !lit("first-to") || !nums(&e.Target) {
			return bad()
		}
		if lit("resumed") {
			e.Resumed = true
			if !nums(&e.Score[0], &e.Score[1]) {
				return bad()
			}
		}
	case KindRound:
		if !nums(&e.Round) {
			return bad()
		}
		switch {
		case lit("move"):
			e.Prompt = true
		case lit("chose"):
			if !move(&e.Mine) {
				return bad()
			}
		default:
			return bad()
		}
	case KindResult:
		if !nums(&e.Round) || !move(&e.Mine) || !move(&e.Theirs) || !words(&e.Outcome) || !isOutcome(e.Outcome) {
			return bad()
		}
	case KindScore:
		if !nums(&e.Score[0], &e.Score[1]) {
			return bad()
		}
	case KindGame:
		if !words(&e.State, &e.Opponent) {
			return bad()
		}
		switch e.State {
		case GameOver:
			if !words(&e.Outcome) || !isOutcome(e.Outcome) || !nums(&e.Score[0], &e.Score[1]) {
				return bad()
			}
			if lit("forfeit") && !words(&e.Forfeit) {
				return bad()
			}
		case GamePaused:
			if !nums(&e.Grace) {
				return bad()
			}
		case GameResumed:
		default:
			return bad()
		}
	case KindTop:
		if !lit("none") && !(nums(&e.Rank) && e.Rank > 0 && words(&e.Name) && nums(&e.Rating, &e.Won, &e.Lost, &e.Forfeits)) {
			return bad()
		}
	default:
		return bad()
	}
	if len(f) != 0 {
		return bad()
	}
	return e, nil
}

var moveNames = map[string]game.Move{"rock": game.Rock, "paper": game.Paper, "scissors": game.Scissors}

func isOutcome(s string) bool { return s == Win || s == Lose || s == Draw }

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// Op is what a client's line asks for.
type Op uint8

// The operations of a client's line.
const (
	// OpWord is a line that is no command: a name before joining, a move
	// in a game.
	OpWord Op = iota
	OpEmpty
	OpRoom
	OpResume
	OpTop
	OpHelp
	OpQuit
)

// Command is one client line, parsed.
type Command struct {
	Op  Op
	Arg string // the word, room code or token
	N   int    // how many lines /top shows
}

var (
	// ErrUnknownCommand is returned for a /command the server does not know.
	ErrUnknownCommand = errors.New("rps: unknown command")
	// ErrUsage is returned for a known command used wrongly.
	ErrUsage = errors.New("rps: wrong use of command")
	// ErrInvalidUTF8 is returned for a line that is not UTF-8.
	ErrInvalidUTF8 = errors.New("rps: line is not valid UTF-8")
	// ErrBadName is returned for a name that cannot be used.
	ErrBadName = errors.New("rps: bad name")
	// ErrBadRoom is returned for a room code that cannot be used.
	ErrBadRoom = errors.New("rps: bad room code")
)

// Bounds on what clients send.
const (
	MaxNameLen = 24
	MaxRoomLen = 32
	MaxTop     = 50
	DefaultTop = 10
)

// ParseCommand parses one line from a client, without its "\n".
func ParseCommand(line []byte) (Command, error) {
	if !utf8.Valid(line) {
		return Command{}, ErrInvalidUTF8
	}
	s := strings.TrimSpace(string(line))
	if s == "" {
		return Command{Op: OpEmpty}, nil
	}
	if !strings.HasPrefix(s, "/") {
		return Command{Op: OpWord, Arg: s}, nil
	}
	name, arg, _ := strings.Cut(s[1:], " ")
	arg = strings.TrimSpace(arg)
	switch strings.ToLower(name) {
	case "room":
		if err := CheckRoom(arg); err != nil {
			return Command{}, err
		}
		return Command{Op: OpRoom, Arg: arg}, nil
	case "resume":
		if arg == "" || strings.ContainsAny(arg, " \t") || len(arg) > 64 {
			return Command{}, fmt.Errorf("%w: /resume TOKEN, the token of your welcome line", ErrUsage)
		}
		return Command{Op: OpResume, Arg: arg}, nil
	case "top":
		n := DefaultTop
		if arg != "" {
			var err error
			if n, err = strconv.Atoi(arg); err != nil || n < 1 || n > MaxTop {
				return Command{}, fmt.Errorf("%w: /top [N], N from 1 to %d", ErrUsage, MaxTop)
			}
		}
		return Command{Op: OpTop, N: n}, nil
	case "help", "?":
		return Command{Op: OpHelp}, nil
	case "quit", "exit":
		return Command{Op: OpQuit}, nil
	}
	return Command{}, fmt.Errorf("%w /%s; try /help", ErrUnknownCommand, clip(name))
}

// CheckName reports whether name may be used: 1 to 24 letters, digits,
// '-', '_' or '.', starting with a letter or digit.
func CheckName(name string) error {
	if n := utf8.RuneCountInString(name); n < 1 || n > MaxNameLen {
		return fmt.Errorf("%w: use 1 to %d letters, digits, '-', '_' or '.'", ErrBadName, MaxNameLen)
	}
	if !wordOK(name) {
		return fmt.Errorf("%w %q: use letters, digits, '-', '_' or '.', starting with a letter or digit", ErrBadName, name)
	}
	if _, err := game.ParseMove(name); err == nil || name == "none" {
		return fmt.Errorf("%w %q: that is a move; pick another name", ErrBadName, name)
	}
	return nil
}

// CheckRoom reports whether code may name a room: 1 to 32 of the
// characters a name may have.
func CheckRoom(code string) error {
	if code == "" || utf8.RuneCountInString(code) > MaxRoomLen || !wordOK(code) {
		return fmt.Errorf("%w: /room CODE, 1 to %d letters, digits, '-', '_' or '.'", ErrBadRoom, MaxRoomLen)
	}
	return nil
}

func wordOK(s string) bool {
	for i, r := range s {
		ok := r == '-' || r == '_' || r == '.'
		ok = (ok && i > 0) || isLetterOrDigit(r)
		if !ok {
			return false
		}
	}
	return true
}

func isLetterOrDigit(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
