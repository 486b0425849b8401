package rps

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"time"
)

// Strategies a Player may play by itself.
var Strategies = []string{"random", "rock", "paper", "scissors", "cycle"}

var (
	// ErrConnectionLost is returned by Play when the connection ends
	// before the game does.
	ErrConnectionLost = errors.New("rps: connection lost before the game ended")
	// ErrRefused is returned by Play when the server refuses the player
	// before the game: a name taken, an unknown token, the server full.
	ErrRefused = errors.New("rps: refused")
	// ErrNotRPS is returned by Play when the peer is no rps server.
	ErrNotRPS = errors.New("rps: not a netkit rps server")
)

// NotRPSError is returned by Play when the peer's first answer is no
// rps greeting. It unwraps to ErrNotRPS.
type NotRPSError struct {
	// Answer is what the peer sent first, if anything.
	Answer []byte
	// Err is the read error, if any.
	Err error
}

func (e *NotRPSError) Error() string {
	if len(e.Answer) == 0 {
		return fmt.Sprintf("%v: no greeting (%v)", ErrNotRPS, e.Err)
	}
	return fmt.Sprintf("%v: it said %q", ErrNotRPS, clip(strings.TrimSpace(string(e.Answer))))
}

func (e *NotRPSError) Unwrap() error { return ErrNotRPS }

// Player is the client side of one game: netkit rps, the tests' and the
// benchmark's bots.
type Player struct {
	// Name is the player's name, unless Resume is set.
	Name string
	// Room, when set, is the room code to play a friend in.
	Room string
	// Resume, when set, is the token of a game to come back to.
	Resume string
	// Auto, when set, is the strategy that picks the moves (one of
	// Strategies); otherwise each move is the next line of Moves, and
	// the end of Moves gives up the game.
	Auto  string
	Moves <-chan string
	// OnEvent, when set, sees every line the server sends, parsed.
	OnEvent func(Event)
	// Timeout bounds the wait for the greeting and each write (default
	// 10 s).
	Timeout time.Duration

	n int // moves made, for cycle
}

// Play plays one game on conn, from the greeting to the game's end, and
// returns its last line. It returns ErrConnectionLost if the server goes
// away first.
func (p *Player) Play(ctx context.Context, conn net.Conn) (Event, error) {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	r := bufio.NewReaderSize(conn, 1024)
	send := func(line string) error {
		conn.SetWriteDeadline(time.Now().Add(timeout))
		_, err := io.WriteString(conn, line+"\n")
		return err
	}
	// The first lines go out at once, before the greeting: the server
	// reads them after greeting, and a server that is not an rps server
	// (or a TLS one, which waits for a handshake) answers at once with
	// something else instead of leaving both sides waiting.
	var first []string
	switch {
	case p.Resume != "":
		first = append(first, "/resume "+p.Resume)
	case p.Room != "":
		first = append(first, "/room "+p.Room, p.Name)
	default:
		first = append(first, p.Name)
	}
	if err := send(strings.Join(first, "\n")); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrConnectionLost, err)
	}
	conn.SetReadDeadline(time.Now().Add(timeout))
	line, err := r.ReadString('\n')
	if err != nil && line == "" {
		if ctx.Err() != nil {
			return Event{}, ctx.Err()
		}
		return Event{}, &NotRPSError{Err: err}
	}
	if e, err := ParseEvent([]byte(line)); err != nil || e.Kind != KindWelcome || e.Target == 0 {
		return Event{}, &NotRPSError{Answer: []byte(line), Err: err}
	}
	conn.SetReadDeadline(time.Time{})
	joined, asked := false, false
	ask := make(chan struct{}, 1)
	if p.Auto == "" {
		done := make(chan struct{})
		defer close(done)
		go p.relay(ask, done, send)
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if ctx.Err() != nil {
				return Event{}, ctx.Err()
			}
			return Event{}, ErrConnectionLost
		}
		e, err := ParseEvent([]byte(line))
		if err != nil {
			continue
		}
		if p.OnEvent != nil {
			p.OnEvent(e)
		}
		switch {
		case e.Kind == KindWelcome && e.Token != "":
			joined = true
		case e.Kind == KindError && !joined:
			return e, fmt.Errorf("%w: %s", ErrRefused, e.Text)
		case e.Kind == KindGame && e.State == GameOver:
			return e, nil
		case e.Kind == KindRound:
			asked = e.Prompt
		case e.Kind == KindError && asked:
			// The move was refused: try again.
		default:
			continue
		}
		if !asked {
			continue
		}
		if p.Auto == "" {
			// A person's move may take a while: the server's lines are
			// read meanwhile.
			select {
			case ask <- struct{}{}:
			default: // asked already
			}
			continue
		}
		// The reader sees a failed write as the end.
		send(p.next())
	}
}

// relay sends the next line of Moves each time it is asked, until done.
func (p *Player) relay(ask, done <-chan struct{}, send func(string) error) {
	for {
		select {
		case <-ask:
		case <-done:
			return
		}
		var mv string
		select {
		case line, ok := <-p.Moves:
			mv = line
			if !ok {
				mv = "/quit"
				p.Moves = nil
			}
		case <-done:
			return
		}
		send(mv)
	}
}

// next returns the next move of the Auto strategy.
func (p *Player) next() string {
	moves := [3]string{"rock", "paper", "scissors"}
	defer func() { p.n++ }()
	switch p.Auto {
	case "rock", "paper", "scissors":
		return p.Auto
	case "cycle":
		return moves[p.n%3]
	}
	return moves[rand.IntN(3)]
}
