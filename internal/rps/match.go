package rps

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/netkit/netkit/internal/rps/game"
)

// match is one game in play between two players, with its timers: the
// move timeout of the round, and each player's reconnect grace. Every
// method takes mu; what a match tells the lobby once over it tells after
// letting go of mu.
type match struct {
	l       *Lobby
	mu      sync.Mutex
	g       *game.Game
	p       [2]*player
	moveT   *time.Timer
	gen     int // counts the move timers armed; a stale one does nothing
	graceT  [2]*time.Timer
	started time.Time
	stopped bool // shut down without a result
}

// over reports whether the game has ended, or was stopped.
func (m *match) over() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.doneLocked()
}

// doneLocked reports whether the game has ended, or was stopped.
func (m *match) doneLocked() bool { return m.stopped || m.g.Over() }

func newMatch(l *Lobby, a, b *player) *match {
	a.side, b.side = 0, 1
	return &match{l: l, g: game.New(l.cfg.Target), p: [2]*player{a, b}, started: time.Now()}
}

// send tells side's player e, if it is connected.
func (m *match) send(side int, e *Event) {
	if s := m.p[side].sess; s != nil {
		s.out.send(e)
	}
}

// begin tells both players who they play and asks for the first move.
func (m *match) begin() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for side := range 2 {
		m.send(side, &Event{Kind: KindMatched, Opponent: m.p[1-side].name, Target: m.g.Target(),
			Text: "you play " + m.p[1-side].name + ", first to " + strconv.Itoa(m.g.Target()) + " wins"})
	}
	m.promptLocked(0)
	m.promptLocked(1)
	m.armLocked()
}

func (m *match) promptLocked(side int) {
	m.send(side, &Event{Kind: KindRound, Round: m.g.RoundNumber(), Prompt: true, Text: "rock, paper or scissors? (kamień, papier, nożyce)"})
}

// armLocked starts the round's move timer, when both players are there to
// move.
func (m *match) armLocked() {
	m.gen++
	if m.moveT != nil {
		m.moveT.Stop()
		m.moveT = nil
	}
	d := m.l.cfg.MoveTimeout
	if d <= 0 || m.p[0].sess == nil || m.p[1].sess == nil || m.g.Over() {
		return
	}
	gen := m.gen
	m.moveT = time.AfterFunc(d, func() { m.timeout(gen) })
}

// play takes side's move.
func (m *match) play(p *player, mv game.Move) {
	m.mu.Lock()
	rec, over := m.playLocked(p, mv)
	m.mu.Unlock()
	if over {
		m.l.ended(m, rec)
	}
}

func (m *match) playLocked(p *player, mv game.Move) (Record, bool) {
	side := p.side
	if m.doneLocked() {
		return Record{}, false
	}
	r, done, err := m.g.Play(side, mv)
	if err != nil || !done {
		m.choseLocked(side, mv, err)
		return Record{}, false
	}
	m.tellLocked(0, r)
	m.tellLocked(1, r)
	if r.Over {
		return m.endLocked(), true
	}
	m.promptLocked(0)
	m.promptLocked(1)
	m.armLocked()
	return Record{}, false
}

// choseLocked tells side's player that its move is in, waiting for the
// opponent's, or why it was refused. (Apart from playLocked, as
// tellLocked, to keep the reader's stack small: see Session.Handle.)
func (m *match) choseLocked(side int, mv game.Move, err error) {
	if err != nil {
		m.send(side, &Event{Kind: KindError, Text: trimPkg(err) + "; waiting for " + m.p[1-side].name})
		return
	}
	m.send(side, &Event{Kind: KindRound, Round: m.g.RoundNumber(), Mine: mv, Text: "waiting for " + m.p[1-side].name})
}

// tellLocked tells side's player the round's moves, outcome and score.
func (m *match) tellLocked(s int, r game.Round) {
	mine, theirs := r.Moves[s], r.Moves[1-s]
	opp := m.p[1-s].name
	e := Event{Kind: KindResult, Round: r.N, Mine: mine, Theirs: theirs, Outcome: Draw, Opponent: opp, Text: "both chose " + mine.String()}
	switch r.Winner {
	case s:
		e.Outcome, e.Text = Win, "your "+mine.String()+" beats "+opp+"'s "+theirs.String()
	case 1 - s:
		e.Outcome, e.Text = Lose, opp+"'s "+theirs.String()+" beats your "+mine.String()
	}
	m.send(s, &e)
	e = Event{Kind: KindScore, Score: [2]int{r.Score[s], r.Score[1-s]}}
	m.send(s, &e)
}

// timeout ends the game by forfeit of whoever has not moved in the round
// the timer gen was armed for.
func (m *match) timeout(gen int) {
	m.mu.Lock()
	if gen != m.gen || m.doneLocked() {
		m.mu.Unlock()
		return
	}
	loser := game.Draw
	switch {
	case m.g.Moved(0) == game.None && m.g.Moved(1) != game.None:
		loser = 0
	case m.g.Moved(1) == game.None && m.g.Moved(0) != game.None:
		loser = 1
	}
	m.g.Resign(loser, game.Timeout)
	rec := m.endLocked()
	m.mu.Unlock()
	m.l.ended(m, rec)
}

// resign ends the game with p losing by forfeit.
func (m *match) resign(p *player, why game.Reason) {
	m.mu.Lock()
	if m.doneLocked() {
		m.mu.Unlock()
		return
	}
	m.g.Resign(p.side, why)
	rec := m.endLocked()
	m.mu.Unlock()
	m.l.ended(m, rec)
}

// drop is called when s, p's connection, has ended. Past the grace, or at
// once without one, p loses by forfeit.
func (m *match) drop(p *player, s *Session) {
	m.mu.Lock()
	if m.doneLocked() || p.sess != s {
		// Over, or replaced by a newer connection already.
		m.mu.Unlock()
		return
	}
	p.sess = nil
	grace := m.l.cfg.ReconnectGrace
	if grace <= 0 {
		m.g.Resign(p.side, game.Disconnected)
		rec := m.endLocked()
		m.mu.Unlock()
		m.l.ended(m, rec)
		return
	}
	m.armLocked() // stops the move timer: nobody waits on a player who is not there
	side := p.side
	if m.graceT[side] != nil {
		m.graceT[side].Stop()
	}
	m.graceT[side] = time.AfterFunc(grace, func() { m.graceOver(p) })
	secs := graceSeconds(grace)
	m.send(1-side, &Event{Kind: KindGame, State: GamePaused, Opponent: p.name, Grace: secs,
		Text: fmt.Sprintf("%s lost the connection and has %ds to come back, or loses by forfeit", p.name, secs)})
	m.mu.Unlock()
}

func (m *match) graceOver(p *player) {
	m.mu.Lock()
	if m.doneLocked() || p.sess != nil {
		m.mu.Unlock()
		return
	}
	m.g.Resign(p.side, game.Disconnected)
	rec := m.endLocked()
	m.mu.Unlock()
	m.l.ended(m, rec)
}

// resume puts p back in the game on connection s, cutting off an older
// connection of p's still open.
func (m *match) resume(p *player, s *Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.doneLocked() {
		return ErrNoGame
	}
	if old := p.sess; old != nil {
		old.out.kill()
	}
	p.sess = s
	s.p = p
	side := p.side
	if m.graceT[side] != nil {
		m.graceT[side].Stop()
		m.graceT[side] = nil
	}
	score := m.g.Score()
	opp := m.p[1-side]
	s.out.send(&Event{Kind: KindWelcome, Name: p.name, Token: p.token, Text: "welcome back"})
	s.out.send(&Event{Kind: KindMatched, Opponent: opp.name, Target: m.g.Target(), Resumed: true, Score: [2]int{score[side], score[1-side]},
		Text: fmt.Sprintf("back in your game against %s", opp.name)})
	if mv := m.g.Moved(side); mv != game.None {
		s.out.send(&Event{Kind: KindRound, Round: m.g.RoundNumber(), Mine: mv, Text: "waiting for " + opp.name})
	} else {
		m.promptLocked(side)
	}
	m.send(1-side, &Event{Kind: KindGame, State: GameResumed, Opponent: p.name, Text: p.name + " is back"})
	if opp.sess == nil {
		s.out.send(&Event{Kind: KindGame, State: GamePaused, Opponent: opp.name, Grace: graceSeconds(m.l.cfg.ReconnectGrace),
			Text: opp.name + " lost the connection too; waiting for them to come back"})
	}
	m.armLocked()
	return nil
}

// endLocked tells both players the final result, hangs up on them, stops
// the timers, and returns the game's record for the standings.
func (m *match) endLocked() Record {
	m.gen++
	if m.moveT != nil {
		m.moveT.Stop()
	}
	for _, t := range m.graceT {
		if t != nil {
			t.Stop()
		}
	}
	reason, loser := m.g.Forfeit()
	score := m.g.Score()
	winner := m.g.Winner()
	for s := range 2 {
		opp := m.p[1-s].name
		e := &Event{Kind: KindGame, State: GameOver, Opponent: opp, Score: [2]int{score[s], score[1-s]}, Forfeit: string(reason)}
		switch {
		case winner == s:
			e.Outcome = Win
		default:
			e.Outcome = Lose
		}
		e.Text = overText(e, reason, loser, s, opp, m.l.cfg.MoveTimeout)
		if ps := m.p[s].sess; ps != nil {
			ps.out.send(e)
			ps.out.finish()
		}
	}
	rec := Record{Forfeit: reason, Both: reason != game.NoForfeit && loser == game.Draw}
	switch {
	case rec.Both:
		rec.Winner, rec.Loser = m.p[0].name, m.p[1].name
	default:
		rec.Winner, rec.Loser = m.p[winner].name, m.p[1-winner].name
	}
	return rec
}

func overText(e *Event, reason game.Reason, loser, side int, opp string, moveTimeout time.Duration) string {
	score := fmt.Sprintf("%d:%d", e.Score[0], e.Score[1])
	if reason == game.NoForfeit {
		if e.Outcome == Win {
			return fmt.Sprintf("you beat %s %s", opp, score)
		}
		return fmt.Sprintf("%s beat you %d:%d", opp, e.Score[1], e.Score[0])
	}
	who := opp
	if loser == side {
		who = "you"
	}
	switch {
	case loser == game.Draw:
		return fmt.Sprintf("neither of you moved within %s; you both lose by forfeit", moveTimeout)
	case reason == game.Timeout:
		return fmt.Sprintf("%s did not move within %s; %s by forfeit at %s", who, moveTimeout, winLose(e.Outcome), score)
	case reason == game.Disconnected:
		return fmt.Sprintf("%s lost the connection and did not come back; %s by forfeit at %s", who, winLose(e.Outcome), score)
	}
	return fmt.Sprintf("%s quit; %s by forfeit at %s", who, winLose(e.Outcome), score)
}

func winLose(outcome string) string {
	if outcome == Win {
		return "you win"
	}
	return "you lose"
}

// shutdown ends the game without a result: the server is going away.
func (m *match) shutdown(bye *Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.doneLocked() {
		return
	}
	m.stopped = true
	m.gen++
	if m.moveT != nil {
		m.moveT.Stop()
	}
	for s := range 2 {
		if t := m.graceT[s]; t != nil {
			t.Stop()
		}
		if ps := m.p[s].sess; ps != nil {
			ps.out.send(bye)
			ps.out.finish()
		}
	}
}
