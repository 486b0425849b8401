package rps

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Defaults used where a Config field is zero.
const (
	DefaultTarget         = 3
	DefaultMoveTimeout    = 30 * time.Second
	DefaultReconnectGrace = 15 * time.Second
	DefaultMaxGames       = 8192
	DefaultMaxWaiting     = 1024
	DefaultRate           = 10 // lines a second a player may send, after the burst
	DefaultBurst          = 20
	// floodDrop is how many lines in a row over the rate get a player
	// disconnected.
	floodDrop = 40
)

// Config configures a Lobby. The zero value gives the defaults above; a
// negative duration or count means "none" (no move timeout, no grace, no
// limit).
type Config struct {
	// Target is how many round wins win a game (first to Target).
	Target int
	// MoveTimeout is how long a player has to move before losing the
	// game by forfeit.
	MoveTimeout time.Duration
	// ReconnectGrace is how long a player whose connection dropped has
	// to come back with its token before losing by forfeit.
	ReconnectGrace time.Duration
	// MaxGames bounds the games played at once; past it, players wait
	// for one to end.
	MaxGames int
	// MaxWaiting bounds the players waiting for an opponent.
	MaxWaiting int
	// Rate and Burst bound each player's lines.
	Rate  rate.Limit
	Burst int
	// Logger receives game logs; nil discards them.
	Logger *slog.Logger
	// Metrics counts games and waiting players; nil counts nothing.
	Metrics *Metrics
}

func orDefault[T int | time.Duration | rate.Limit](v, def T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

var (
	// ErrNameTaken is returned for a name a connected player has.
	ErrNameTaken = errors.New("rps: name is taken")
	// ErrTooManyWaiting is returned when MaxWaiting players wait already.
	ErrTooManyWaiting = errors.New("rps: too many players waiting")
	// ErrNoGame is returned for a resume token that names no game.
	ErrNoGame = errors.New("rps: no game for that token")
	// ErrClosed is returned once the lobby is shutting down.
	ErrClosed = errors.New("rps: server shutting down")
)

// Lobby pairs players into games: in arrival order, or two who name the
// same room. Every transport (TCP, WebSocket) shares one Lobby. It also
// keeps the names in use, the resume tokens and the standings. Create one
// with NewLobby; its methods are safe for concurrent use.
type Lobby struct {
	cfg       Config
	logger    *slog.Logger
	metrics   *Metrics
	standings *Standings

	mu      sync.Mutex
	queue   []*player           // waiting for anyone, in arrival order
	rooms   map[string]*player  // waiting in a room, by code
	pending [][2]*player        // pairs from rooms waiting for a free game
	names   map[string]*player  // every joined player, by folded name
	tokens  map[string]*player  // the same, by resume token
	matches map[*match]struct{} // games in play
	closed  bool
	started atomic.Int64 // games started, for the log
}

// NewLobby returns a lobby with cfg's settings.
func NewLobby(cfg Config) *Lobby {
	cfg.Target = max(orDefault(cfg.Target, DefaultTarget), 1)
	cfg.MoveTimeout = orDefault(cfg.MoveTimeout, DefaultMoveTimeout)
	cfg.ReconnectGrace = orDefault(cfg.ReconnectGrace, DefaultReconnectGrace)
	cfg.MaxGames = orDefault(cfg.MaxGames, DefaultMaxGames)
	cfg.MaxWaiting = orDefault(cfg.MaxWaiting, DefaultMaxWaiting)
	cfg.Rate = orDefault(cfg.Rate, DefaultRate)
	cfg.Burst = orDefault(cfg.Burst, DefaultBurst)
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Lobby{
		cfg: cfg, logger: logger, metrics: cfg.Metrics, standings: NewStandings(0),
		rooms: map[string]*player{}, names: map[string]*player{}, tokens: map[string]*player{},
		matches: map[*match]struct{}{},
	}
}

// Config returns the lobby's settings, with defaults filled in.
func (l *Lobby) Config() Config { return l.cfg }

// Standings returns the lobby's standings.
func (l *Lobby) Standings() *Standings { return l.standings }

// player is one joined player. Before its game starts, sess is guarded by
// the lobby's mu; from then on by the match's.
type player struct {
	name, token string
	code        string // the room it asked for, as typed; "" for anyone
	sess        *Session
	m           atomic.Pointer[match]
	side        int
}

func foldName(s string) string { return strings.ToLower(s) }

func newToken() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// waitingLocked counts the players waiting for an opponent or a game.
func (l *Lobby) waitingLocked() int { return len(l.queue) + len(l.rooms) + 2*len(l.pending) }

// join makes s a player named name, waiting in room (or for anyone).
func (l *Lobby) join(s *Session, name, room string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return ErrClosed
	case l.nameTakenLocked(name):
		return fmt.Errorf("%w: %q; pick another", ErrNameTaken, name)
	case l.cfg.MaxWaiting > 0 && l.waitingLocked() >= l.cfg.MaxWaiting:
		return fmt.Errorf("%w (limit %d); try again later", ErrTooManyWaiting, l.cfg.MaxWaiting)
	}
	p := &player{name: name, token: newToken(), sess: s}
	for l.tokens[p.token] != nil {
		p.token = newToken()
	}
	l.names[foldName(name)] = p
	l.tokens[p.token] = p
	s.p = p
	s.out.send(&Event{Kind: KindWelcome, Name: name, Token: p.token, Text: "send /resume " + p.token + " on a new connection to come back to your game if this one drops"})
	if room != "" {
		l.enterRoomLocked(p, room)
	} else {
		l.enqueueLocked(p)
	}
	l.updateWaitingLocked()
	return nil
}

// nameTakenLocked reports whether a player holds name. One whose game is
// over holds it no longer, though the lobby forgets the players of a game
// only a moment after they are told it is over (ended): whoever comes
// back at once under the same name must not be refused.
func (l *Lobby) nameTakenLocked(name string) bool {
	p := l.names[foldName(name)]
	if p == nil {
		return false
	}
	if m := p.m.Load(); m != nil && m.over() {
		l.forgetLocked(p)
		return false
	}
	return true
}

func (l *Lobby) enqueueLocked(p *player) {
	l.queue = append(l.queue, p)
	l.pairLocked()
	if p.m.Load() != nil {
		return
	}
	n := len(l.queue)
	text := "you are the only player waiting; you play the next to come"
	if n > 1 {
		text = strconv.Itoa(n) + " players waiting, you included; you play when a game ends"
	}
	l.fullNoticeLocked(p)
	p.sess.out.send(&Event{Kind: KindWaiting, Waiting: n, Text: text})
}

// fullNoticeLocked tells p, who cannot be matched now, if that is because
// of the limit on games.
func (l *Lobby) fullNoticeLocked(p *player) {
	if l.cfg.MaxGames > 0 && len(l.matches) >= l.cfg.MaxGames {
		p.sess.out.send(&Event{Kind: KindError, Text: fmt.Sprintf("all %d games the server plays at once are in play (--max-games); you wait for one to end", l.cfg.MaxGames)})
	}
}

func (l *Lobby) enterRoomLocked(p *player, code string) {
	key := foldName(code)
	p.code = code
	other := l.rooms[key]
	if other == nil {
		l.rooms[key] = p
		p.sess.out.send(&Event{Kind: KindWaiting, Room: code, Text: "you play whoever else sends /room " + code})
		return
	}
	delete(l.rooms, key)
	l.pending = append(l.pending, [2]*player{other, p})
	l.pairLocked()
	if p.m.Load() == nil {
		l.fullNoticeLocked(p)
		l.fullNoticeLocked(other)
	}
}

// toRoom moves p, waiting for anyone or in another room, to room code.
func (l *Lobby) toRoom(p *player, code string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p.m.Load() != nil {
		return fmt.Errorf("%w: you are in a game already", ErrUsage)
	}
	if slices.ContainsFunc(l.pending, func(pp [2]*player) bool { return pp[0] == p || pp[1] == p }) {
		return fmt.Errorf("%w: you have an opponent already; you play when a game ends", ErrUsage)
	}
	l.unwaitLocked(p)
	l.enterRoomLocked(p, code)
	l.updateWaitingLocked()
	return nil
}

// unwaitLocked takes p off the queue or out of its room.
func (l *Lobby) unwaitLocked(p *player) {
	if i := slices.Index(l.queue, p); i >= 0 {
		l.queue = slices.Delete(l.queue, i, i+1)
	}
	if p.code != "" && l.rooms[foldName(p.code)] == p {
		delete(l.rooms, foldName(p.code))
	}
}

// pairLocked starts games while there are pairs and free games.
func (l *Lobby) pairLocked() {
	for l.cfg.MaxGames <= 0 || len(l.matches) < l.cfg.MaxGames {
		var a, b *player
		switch {
		case len(l.pending) > 0:
			a, b = l.pending[0][0], l.pending[0][1]
			l.pending = slices.Delete(l.pending, 0, 1)
		case len(l.queue) >= 2:
			a, b = l.queue[0], l.queue[1]
			l.queue = slices.Delete(l.queue, 0, 2)
		default:
			return
		}
		m := newMatch(l, a, b)
		l.matches[m] = struct{}{}
		a.m.Store(m)
		b.m.Store(m)
		l.started.Add(1)
		l.metrics.startedGame()
		m.begin()
	}
}

// leave forgets p, who left before its game began; it reports false if
// p's game has begun, which then must be told.
func (l *Lobby) leave(p *player) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p.m.Load() != nil {
		return false
	}
	l.unwaitLocked(p)
	if i := slices.IndexFunc(l.pending, func(pp [2]*player) bool { return pp[0] == p || pp[1] == p }); i >= 0 {
		pair := l.pending[i]
		l.pending = slices.Delete(l.pending, i, i+1)
		other := pair[0]
		if other == p {
			other = pair[1]
		}
		// The friend waits in the room again.
		code := other.code
		l.rooms[foldName(code)] = other
		other.sess.out.send(&Event{Kind: KindWaiting, Room: code, Text: p.name + " left before the game began; you play whoever else sends /room " + code})
	}
	l.forgetLocked(p)
	l.updateWaitingLocked()
	return true
}

func (l *Lobby) forgetLocked(p *player) {
	if l.names[foldName(p.name)] == p {
		delete(l.names, foldName(p.name))
	}
	if l.tokens[p.token] == p {
		delete(l.tokens, p.token)
	}
}

// ended is called by a match once it is over, outside its lock: the
// players' names are free again, and the freed game goes to whoever
// waits.
func (l *Lobby) ended(m *match, rec Record) {
	l.standings.Record(rec)
	l.metrics.finished(rec.Forfeit)
	l.mu.Lock()
	delete(l.matches, m)
	for _, p := range m.p {
		l.forgetLocked(p)
	}
	l.pairLocked()
	l.updateWaitingLocked()
	l.mu.Unlock()
	l.logger.Debug("game over", "players", rec.Winner+","+rec.Loser, "forfeit", string(rec.Forfeit))
}

// resume attaches s to the game of the player with token.
func (l *Lobby) resume(s *Session, token string) error {
	l.mu.Lock()
	p := l.tokens[token]
	var m *match
	if p != nil {
		m = p.m.Load()
	}
	l.mu.Unlock()
	if m == nil {
		return fmt.Errorf("%w (a token is good until its game ends, and for %s after a connection drops); send a name to play a new game", ErrNoGame, l.cfg.ReconnectGrace)
	}
	return m.resume(p, s)
}

func (l *Lobby) updateWaitingLocked() { l.metrics.waiting(l.waitingLocked()) }

// Playing reports the games in play now.
func (l *Lobby) Playing() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.matches)
}

// Waiting reports the players waiting for an opponent or a free game.
func (l *Lobby) Waiting() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waitingLocked()
}

// Close refuses new players and tells everyone waiting or playing that
// the server is going away, then hangs up on them. Games in play end
// without a result.
func (l *Lobby) Close() {
	l.mu.Lock()
	l.closed = true
	var sessions []*Session
	for _, p := range l.names {
		if p.m.Load() == nil && p.sess != nil {
			sessions = append(sessions, p.sess)
		}
	}
	matches := make([]*match, 0, len(l.matches))
	for m := range l.matches {
		matches = append(matches, m)
	}
	l.mu.Unlock()
	bye := &Event{Kind: KindError, Text: "server shutting down; goodbye"}
	for _, s := range sessions {
		s.out.send(bye)
		s.out.finish()
	}
	for _, m := range matches {
		m.shutdown(bye)
	}
}
