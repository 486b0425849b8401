package rps

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/netkit/netkit/internal/rps/game"
)

// Session is one client connection, whatever the transport: it takes the
// client's lines one at a time and answers through the lobby. A Session
// is used by one reader goroutine; what it sends goes through a bounded
// queue with its own writer, so a client that does not read never holds
// up its opponent.
type Session struct {
	l         *Lobby
	out       *outbox
	lim       *rate.Limiter
	throttled int
	p         *player // once joined or resumed
	room      string  // asked for before the name
	done      bool
}

// NewSession starts a session on t and greets the client.
func (l *Lobby) NewSession(t Transport) *Session {
	s := &Session{l: l, out: newOutbox(t), lim: rate.NewLimiter(l.cfg.Rate, l.cfg.Burst)}
	s.out.send(&Event{Kind: KindWelcome, Target: l.cfg.Target, Text: "send your name (or /room CODE first to play a friend, /resume TOKEN to come back, /help)"})
	return s
}

// Handle takes one line from the client, without its "\n". It reports
// whether the session is over: the client quit or was cut off.
//
// The reader goroutine's stack is most of what a connected player costs
// (issue 9 asks for under 20 KB a player): Handle and what it calls on
// the way to a game's start or a round's result are kept shallow, with
// the rare commands in functions of their own, so that the stack stays
// at 4 KiB rather than growing to 8.
func (s *Session) Handle(line []byte) bool {
	if s.done {
		return true
	}
	if !s.lim.Allow() {
		return s.throttle()
	}
	s.throttled = 0
	cmd, err := ParseCommand(line)
	if err != nil {
		s.fail(err)
		return false
	}
	switch cmd.Op {
	case OpEmpty:
	case OpWord:
		return s.word(cmd.Arg)
	case OpQuit:
		s.quit()
		return true
	default:
		s.command(cmd)
	}
	return false
}

// throttle takes a line over the rate: ignored, with one error line, and
// the end of the session past floodDrop of them in a row.
func (s *Session) throttle() bool {
	s.throttled++
	switch {
	case s.throttled >= floodDrop:
		s.errorf("too many lines (limit %g a second); goodbye", float64(s.l.cfg.Rate))
		s.quit()
		return true
	case s.throttled == 1:
		s.errorf("too many lines (limit %g a second): this line and the next until you slow down are ignored", float64(s.l.cfg.Rate))
	}
	return false
}

// word takes a line that is no command: the name, then moves.
func (s *Session) word(w string) bool {
	if s.p == nil {
		if err := s.l.join(s, w, s.room); err != nil {
			s.fail(err)
			if errors.Is(err, ErrTooManyWaiting) || errors.Is(err, ErrClosed) {
				s.quit()
				return true
			}
		}
		return false
	}
	m := s.p.m.Load()
	if m == nil {
		s.errorf("no opponent yet: your move waits until you are matched")
		return false
	}
	mv, err := game.ParseMove(w)
	if err != nil {
		s.fail(err)
		return false
	}
	m.play(s.p, mv)
	return false
}

// command carries out /help, /top, /room and /resume.
func (s *Session) command(cmd Command) {
	switch cmd.Op {
	case OpHelp:
		for _, l := range strings.Split(HelpText, "\n") {
			s.out.send(&Event{Kind: KindHelp, Text: l})
		}
	case OpTop:
		top := s.l.standings.Top(cmd.N)
		if len(top) == 0 {
			s.out.send(&Event{Kind: KindTop, Text: "no game has finished yet"})
		}
		for i, st := range top {
			s.out.send(st.event(i + 1))
		}
	case OpRoom:
		switch {
		case s.p == nil:
			s.room = cmd.Arg
			s.out.send(&Event{Kind: KindWelcome, Room: cmd.Arg, Text: "now send your name"})
		default:
			if err := s.l.toRoom(s.p, cmd.Arg); err != nil {
				s.fail(err)
			}
		}
	case OpResume:
		if s.p != nil {
			s.fail(fmt.Errorf("%w: /resume comes instead of a name, on a new connection", ErrUsage))
			break
		}
		if err := s.l.resume(s, cmd.Arg); err != nil {
			s.fail(err)
		}
	}
}

// quit ends the session at the client's wish: a game in play is lost by
// forfeit.
func (s *Session) quit() {
	s.done = true
	if s.p != nil {
		if m := s.p.m.Load(); m != nil {
			m.resign(s.p, game.Quit)
			return
		}
		s.l.leave(s.p)
	}
	s.out.finish()
}

// Close ends the session once its connection is gone: a player waiting
// leaves the lobby, a player in a game gets the reconnect grace. It waits
// for lines still being written.
func (s *Session) Close() {
	s.done = true
	if p := s.p; p != nil && !s.l.leave(p) {
		p.m.Load().drop(p, s)
	}
	s.out.drain()
}

func (s *Session) errorf(format string, args ...any) {
	s.out.send(&Event{Kind: KindError, Text: fmt.Sprintf(format, args...)})
}

func (s *Session) fail(err error) { s.errorf("%s", trimPkg(err)) }

// trimPkg drops the package prefixes of an error for a player to read.
func trimPkg(err error) string {
	msg := err.Error()
	for _, p := range []string{"rps: ", "game: "} {
		msg = strings.ReplaceAll(msg, p, "")
	}
	return msg
}

// HelpText is what /help shows, one "help" line each.
const HelpText = `first to win 3 rounds (or as the server says) wins the game
moves: rock, paper, scissors (r, p, s) or kamień, papier, nożyce (k, p, n)
before your name: /room CODE plays the friend who sends the same code
/resume TOKEN (instead of a name) takes you back to your game after a dropped connection
/room CODE  while waiting: wait for a friend instead of anyone
/top [N]    the best players of this server
/quit       leave (in a game: lose it by forfeit)`

// graceSeconds is the grace in whole seconds, rounded up.
func graceSeconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }
