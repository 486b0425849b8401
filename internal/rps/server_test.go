package rps

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/rps/game"
	"github.com/netkit/netkit/internal/service"
	"github.com/netkit/netkit/internal/testwait"
)

// waitTimeout bounds every wait for a line in these tests.
const waitTimeout = 10 * time.Second

// startServer serves a lobby with cfg on 127.0.0.1:0.
func startServer(t *testing.T, cfg Config) (*Lobby, string) {
	t.Helper()
	l := NewLobby(cfg)
	srv := &service.Server{Name: "rps", Handler: &Handler{Lobby: l}, Limits: service.Limits{MaxConnsPerIP: -1}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		l.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return l, ln.Addr().String()
}

// client is one player speaking the line protocol.
type client struct {
	t    *testing.T
	name string
	conn net.Conn
	r    *bufio.Reader
	log  []string
}

func dial(t *testing.T, addr, name string) *client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, waitTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &client{t: t, name: name, conn: conn, r: bufio.NewReader(conn)}
	if e := c.next(); e.Kind != KindWelcome || e.Target == 0 {
		t.Fatalf("%s: greeting %+v", name, e)
	}
	return c
}

// join dials and gives the name, returning the resume token.
func join(t *testing.T, addr, name string) (*client, string) {
	t.Helper()
	c := dial(t, addr, name)
	c.send(name)
	e := c.expect(KindWelcome)
	if e.Name != name || e.Token == "" {
		t.Fatalf("%s: welcome %+v", name, e)
	}
	return c, e.Token
}

func (c *client) send(line string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(waitTimeout))
	if _, err := fmt.Fprintf(c.conn, "%s\n", line); err != nil {
		c.t.Fatalf("%s: send %q: %v", c.name, line, err)
	}
}

// next reads one server line and parses it.
func (c *client) next() Event {
	c.t.Helper()
	e, err := c.read()
	if err != nil {
		c.t.Fatalf("%s: %v\nlines so far:\n%s", c.name, err, strings.Join(c.log, "\n"))
	}
	return e
}

func (c *client) read() (Event, error) {
	c.conn.SetReadDeadline(time.Now().Add(waitTimeout))
	line, err := c.r.ReadString('\n')
	if err != nil {
		return Event{}, fmt.Errorf("reading: %w", err)
	}
	c.log = append(c.log, strings.TrimSuffix(line, "\n"))
	e, err := ParseEvent([]byte(line))
	if err != nil {
		return Event{}, fmt.Errorf("line %q: %w", line, err)
	}
	return e, nil
}

// expect reads lines until one of kind, failing on an error line unless
// kind is KindError.
func (c *client) expect(kind string) Event {
	c.t.Helper()
	for {
		e := c.next()
		if e.Kind == kind {
			return e
		}
		if e.Kind == KindError {
			c.t.Fatalf("%s: error line %q while waiting for %s", c.name, e.Text, kind)
		}
	}
}

// expectGame reads until a "game" line in state.
func (c *client) expectGame(state string) Event {
	c.t.Helper()
	for {
		e := c.expect(KindGame)
		if e.State == state {
			return e
		}
	}
}

// expectEOF reads until the server hangs up.
func (c *client) expectEOF() {
	c.t.Helper()
	for range 100 {
		if _, err := c.read(); err != nil {
			return
		}
	}
	c.t.Fatalf("%s: the server did not hang up", c.name)
}

// pair joins two players who are matched with each other.
func pair(t *testing.T, addr, a, b string) (*client, *client, string, string) {
	t.Helper()
	ca, ta := join(t, addr, a)
	if e := ca.expect(KindWaiting); e.Waiting != 1 {
		t.Fatalf("%s waiting %+v", a, e)
	}
	cb, tb := join(t, addr, b)
	if e := ca.expect(KindMatched); e.Opponent != b {
		t.Fatalf("%s matched %+v", a, e)
	}
	if e := cb.expect(KindMatched); e.Opponent != a {
		t.Fatalf("%s matched %+v", b, e)
	}
	return ca, cb, ta, tb
}

// round plays one round, checking both players' results.
func round(t *testing.T, a, b *client, ma, mb string, want string) {
	t.Helper()
	a.expect(KindRound)
	b.expect(KindRound)
	a.send(ma)
	b.send(mb)
	ra := a.expect(KindResult)
	rb := b.expect(KindResult)
	if ra.Outcome != want {
		t.Fatalf("%s %s against %s: %+v, want %s", a.name, ma, mb, ra, want)
	}
	if rb.Mine != ra.Theirs || rb.Theirs != ra.Mine || rb.Round != ra.Round {
		t.Fatalf("results disagree: %+v %+v", ra, rb)
	}
}

func TestGameThreeToOne(t *testing.T) {
	l, addr := startServer(t, Config{})
	a, b, _, _ := pair(t, addr, "alice", "bob")
	round(t, a, b, "rock", "scissors", Win)
	round(t, a, b, "paper", "paper", Draw)
	round(t, a, b, "kamień", "papier", Lose)
	round(t, a, b, "NOŻYCE", "p", Win)
	if e := a.expect(KindScore); e.Score != [2]int{2, 1} {
		t.Fatalf("score %+v", e)
	}
	round(t, a, b, "k", "nozyce", Win)
	ea, eb := a.expectGame(GameOver), b.expectGame(GameOver)
	if ea.Outcome != Win || ea.Score != [2]int{3, 1} || ea.Forfeit != "" || ea.Opponent != "bob" {
		t.Errorf("alice: %+v", ea)
	}
	if eb.Outcome != Lose || eb.Score != [2]int{1, 3} {
		t.Errorf("bob: %+v", eb)
	}
	a.expectEOF()
	b.expectEOF()
	top := l.Standings().Top(2)
	if len(top) != 2 || top[0].Name != "alice" || top[0].Won != 1 || top[1].Lost != 1 || top[0].Rating <= top[1].Rating {
		t.Errorf("standings %+v", top)
	}
	// The names are free again.
	c, _ := join(t, addr, "alice")
	c.send("/top")
	if e := c.expect(KindTop); e.Rank != 1 || e.Name != "alice" || e.Won != 1 || e.Rating <= 1500 {
		t.Errorf("/top: %+v", e)
	}
}

func TestInvalidMoves(t *testing.T) {
	_, addr := startServer(t, Config{Target: 1})
	a, b, _, _ := pair(t, addr, "alice", "bob")
	a.expect(KindRound)
	for _, bad := range []string{"stone", "rocks", "/dance", "kamienie"} {
		a.send(bad)
		if e := a.expect(KindError); !strings.Contains(e.Text, "kamień") && !strings.Contains(e.Text, "unknown command") {
			t.Errorf("%q: %q", bad, e.Text)
		}
	}
	a.send("r")
	if e := a.expect(KindRound); e.Mine != game.Rock || e.Prompt {
		t.Errorf("after the move: %+v", e)
	}
	a.send("p")
	if e := a.expect(KindError); !strings.Contains(e.Text, "already") {
		t.Errorf("second move: %q", e.Text)
	}
	b.send("s")
	if e := a.expect(KindResult); e.Outcome != Win {
		t.Errorf("%+v", e)
	}
	if e := a.expectGame(GameOver); e.Score != [2]int{1, 0} {
		t.Errorf("%+v", e)
	}
}

func TestNames(t *testing.T) {
	_, addr := startServer(t, Config{})
	join(t, addr, "alice")
	c := dial(t, addr, "other")
	for _, bad := range []string{"Alice", "rock", "k", "a b", "-x", strings.Repeat("x", 25)} {
		c.send(bad)
		if e := c.expect(KindError); e.Text == "" {
			t.Errorf("%q accepted", bad)
		}
	}
	c.send("carol")
	if e := c.expect(KindWelcome); e.Name != "carol" {
		t.Errorf("%+v", e)
	}
}

func TestForfeitDisconnectNoGrace(t *testing.T) {
	l, addr := startServer(t, Config{ReconnectGrace: -1})
	a, b, _, _ := pair(t, addr, "alice", "bob")
	a.expect(KindRound)
	b.conn.Close()
	e := a.expectGame(GameOver)
	if e.Outcome != Win || e.Forfeit != string(game.Disconnected) {
		t.Errorf("%+v", e)
	}
	a.expectEOF()
	testwait.For(t, "the game to end", func() bool { return l.Playing() == 0 })
	if top := l.Standings().Top(2); top[1].Name != "bob" || top[1].Forfeited != 1 {
		t.Errorf("%+v", top)
	}
}

func TestForfeitTimeout(t *testing.T) {
	_, addr := startServer(t, Config{MoveTimeout: 200 * time.Millisecond})
	a, b, _, _ := pair(t, addr, "alice", "bob")
	round(t, a, b, "r", "s", Win)
	b.expect(KindRound)
	b.send("p")
	e := a.expectGame(GameOver)
	if e.Outcome != Lose || e.Forfeit != string(game.Timeout) || e.Score != [2]int{1, 0} {
		t.Errorf("alice: %+v", e)
	}
	if e := b.expectGame(GameOver); e.Outcome != Win || e.Forfeit != string(game.Timeout) {
		t.Errorf("bob: %+v", e)
	}
}

func TestTimeoutBoth(t *testing.T) {
	_, addr := startServer(t, Config{MoveTimeout: 100 * time.Millisecond})
	a, b, _, _ := pair(t, addr, "alice", "bob")
	for _, c := range []*client{a, b} {
		if e := c.expectGame(GameOver); e.Outcome != Lose || e.Forfeit != string(game.Timeout) {
			t.Errorf("%s: %+v", c.name, e)
		}
	}
}

func TestQuit(t *testing.T) {
	_, addr := startServer(t, Config{})
	a, b, _, _ := pair(t, addr, "alice", "bob")
	a.send("/quit")
	if e := b.expectGame(GameOver); e.Outcome != Win || e.Forfeit != string(game.Quit) {
		t.Errorf("%+v", e)
	}
	if e := a.expectGame(GameOver); e.Outcome != Lose {
		t.Errorf("%+v", e)
	}
}

func TestReconnectWithinGrace(t *testing.T) {
	_, addr := startServer(t, Config{ReconnectGrace: 5 * time.Second})
	a, b, _, tb := pair(t, addr, "alice", "bob")
	round(t, a, b, "r", "s", Win)
	a.expect(KindRound)
	a.send("paper")
	a.expect(KindRound) // chose paper
	b.conn.Close()
	if e := a.expectGame(GamePaused); e.Opponent != "bob" || e.Grace != 5 {
		t.Errorf("%+v", e)
	}
	// Someone else cannot take the name meanwhile.
	x := dial(t, addr, "x")
	x.send("bob")
	x.expect(KindError)
	x.send("/resume 0000")
	x.expect(KindError)

	b2 := dial(t, addr, "bob again")
	b2.send("/resume " + tb)
	if e := b2.expect(KindWelcome); e.Name != "bob" || e.Token != tb {
		t.Errorf("%+v", e)
	}
	if e := b2.expect(KindMatched); !e.Resumed || e.Score != [2]int{0, 1} || e.Opponent != "alice" {
		t.Errorf("%+v", e)
	}
	if e := b2.expect(KindRound); !e.Prompt || e.Round != 2 {
		t.Errorf("%+v", e)
	}
	a.expectGame(GameResumed)
	b2.send("s")
	if e := a.expect(KindResult); e.Outcome != Lose || e.Round != 2 {
		t.Errorf("%+v", e)
	}
	// A resume while the old connection is still open takes over.
	b3 := dial(t, addr, "bob third")
	b3.send("/resume " + tb)
	b3.expect(KindMatched)
	if e := b3.expect(KindRound); !e.Prompt || e.Round != 3 {
		t.Errorf("%+v", e)
	}
	b2.expectEOF()
	a.expectGame(GameResumed)
	a.send("r")
	b3.send("rock")
	if e := b3.expect(KindResult); e.Outcome != Draw {
		t.Errorf("%+v", e)
	}
}

func TestReconnectAfterGrace(t *testing.T) {
	_, addr := startServer(t, Config{ReconnectGrace: 150 * time.Millisecond})
	a, b, _, tb := pair(t, addr, "alice", "bob")
	b.conn.Close()
	a.expectGame(GamePaused)
	if e := a.expectGame(GameOver); e.Outcome != Win || e.Forfeit != string(game.Disconnected) {
		t.Errorf("%+v", e)
	}
	b2 := dial(t, addr, "bob")
	b2.send("/resume " + tb)
	if e := b2.expect(KindError); !strings.Contains(e.Text, "no game for that token") {
		t.Errorf("%+v", e)
	}
	// The name is free again, and a new game can begin.
	b2.send("bob")
	b2.expect(KindWelcome)
	b2.expect(KindWaiting)
}

func TestRooms(t *testing.T) {
	_, addr := startServer(t, Config{})
	// A player waiting for anyone is not matched with one in a room.
	x, _ := join(t, addr, "stranger")
	x.expect(KindWaiting)
	a := dial(t, addr, "alice")
	a.send("/room Blue42")
	if e := a.expect(KindWelcome); e.Room != "Blue42" {
		t.Fatalf("%+v", e)
	}
	a.send("alice")
	a.expect(KindWelcome)
	if e := a.expect(KindWaiting); e.Room != "Blue42" {
		t.Fatalf("%+v", e)
	}
	// The friend picks the room after joining, from the queue.
	b, _ := join(t, addr, "bob")
	if e := b.expect(KindMatched); e.Opponent != "stranger" {
		t.Fatalf("bob should meet the stranger first: %+v", e)
	}
	c, _ := join(t, addr, "carol")
	c.expect(KindWaiting)
	c.send("/room blue42")
	if e := c.expect(KindMatched); e.Opponent != "alice" {
		t.Fatalf("%+v", e)
	}
	if e := a.expect(KindMatched); e.Opponent != "carol" {
		t.Fatalf("%+v", e)
	}
}

func TestMaxWaiting(t *testing.T) {
	_, addr := startServer(t, Config{MaxWaiting: 1})
	a := dial(t, addr, "a")
	a.send("/room r1")
	a.expect(KindWelcome)
	a.send("a")
	a.expect(KindWaiting)
	b := dial(t, addr, "b")
	b.send("b")
	if e := b.expect(KindError); !strings.Contains(e.Text, "too many players waiting (limit 1)") {
		t.Errorf("%q", e.Text)
	}
	b.expectEOF()
}

func TestMaxGames(t *testing.T) {
	l, addr := startServer(t, Config{MaxGames: 1, Target: 1})
	a, b, _, _ := pair(t, addr, "a", "b")
	c, _ := join(t, addr, "c")
	c.expect(KindError)
	c.expect(KindWaiting)
	d, _ := join(t, addr, "d")
	if e := d.expect(KindError); !strings.Contains(e.Text, "max-games") {
		t.Errorf("%q", e.Text)
	}
	if e := d.expect(KindWaiting); e.Waiting != 2 {
		t.Errorf("%+v", e)
	}
	if l.Playing() != 1 || l.Waiting() != 2 {
		t.Errorf("playing %d waiting %d", l.Playing(), l.Waiting())
	}
	round(t, a, b, "r", "s", Win)
	// The game over frees a game for c and d.
	if e := c.expect(KindMatched); e.Opponent != "d" {
		t.Errorf("%+v", e)
	}
	d.expect(KindMatched)
}

func TestFlood(t *testing.T) {
	_, addr := startServer(t, Config{Rate: 1, Burst: 2})
	c, _ := join(t, addr, "flooder")
	c.expect(KindWaiting)
	var sawLimit bool
	c.send(strings.Repeat("/help\n", floodDrop+5))
	for {
		e, err := c.read()
		if err != nil {
			break
		}
		if e.Kind == KindError && strings.Contains(e.Text, "too many lines") {
			sawLimit = true
		}
	}
	if !sawLimit {
		t.Errorf("no error line about the rate:\n%s", strings.Join(c.log, "\n"))
	}
}

func TestWaitingPlayerLeaves(t *testing.T) {
	l, addr := startServer(t, Config{})
	a, _ := join(t, addr, "alice")
	a.expect(KindWaiting)
	a.conn.Close()
	testwait.For(t, "alice to leave", func() bool { return l.Waiting() == 0 })
	b, _ := join(t, addr, "bob")
	if e := b.expect(KindWaiting); e.Waiting != 1 {
		t.Errorf("%+v", e)
	}
	c, _ := join(t, addr, "alice")
	if e := c.expect(KindMatched); e.Opponent != "bob" {
		t.Errorf("%+v", e)
	}
}

func TestShutdown(t *testing.T) {
	l, addr := startServer(t, Config{})
	a, _, _, _ := pair(t, addr, "alice", "bob")
	w, _ := join(t, addr, "waiter")
	w.expect(KindWaiting)
	l.Close()
	for _, c := range []*client{a, w} {
		if e := c.expect(KindError); !strings.Contains(e.Text, "shutting down") {
			t.Errorf("%s: %+v", c.name, e)
		}
		c.expectEOF()
	}
	c := dial(t, addr, "late")
	c.send("late")
	if e := c.expect(KindError); !errors.Is(ErrClosed, ErrClosed) || !strings.Contains(e.Text, "shutting down") {
		t.Errorf("%+v", e)
	}
}

// TestNameFreeOnceGameOver: the players of a game are told it is over a
// moment before the lobby forgets them; in that moment their names are
// free already. (TestReconnectAfterGrace, coming back as bob at once,
// was refused now and then with "name is taken".)
func TestNameFreeOnceGameOver(t *testing.T) {
	l := NewLobby(Config{})
	a, b := l.NewSession(&discard{}), l.NewSession(&discard{})
	a.Handle([]byte("alice"))
	b.Handle([]byte("bob"))
	m := b.p.m.Load()
	if m == nil {
		t.Fatal("no game")
	}
	// What match.resign does, but for telling the lobby.
	m.mu.Lock()
	m.g.Resign(1, game.Quit)
	m.endLocked()
	m.mu.Unlock()

	c := l.NewSession(&discard{})
	c.Handle([]byte("bob"))
	if c.p == nil {
		t.Fatal("bob, whose game is over, could not join again")
	}
	if l.Waiting() != 1 {
		t.Errorf("%d waiting, want the new bob", l.Waiting())
	}
	// The lobby now forgets the old game's players: the new bob stays.
	l.ended(m, Record{Winner: "alice", Loser: "bob", Forfeit: game.Quit})
	d := l.NewSession(&discard{})
	d.Handle([]byte("Bob"))
	if d.p != nil {
		t.Error("a second bob joined beside the new one")
	}
}
