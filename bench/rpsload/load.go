package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netkit/netkit/internal/rps"
)

// loadConfig is one load run's shape, apart from the server.
type loadConfig struct {
	games    int
	dialConc int
	timeout  time.Duration // on each dial, and on each phase
	// think, when positive, is the most a bot waits before each move
	// (uniformly from 0): players who do not all move in the same
	// instant.
	think time.Duration
}

// phases are the moments of a run the caller acts on: held is called once
// every player is matched and before any moves (all games in play at
// once); it returns when the moves may begin.
type phases struct {
	held func()
}

// bot is one player of the load: it joins, waits for the word to move,
// then moves at random as soon as asked, timing each round's result
// against the later of the two moves.
type bot struct {
	name string
	idx  int
	opp  atomic.Pointer[bot]

	mu    sync.Mutex
	sends []time.Time // when it sent its move for round i+1
}

func (b *bot) sent(round int, at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.sends) < round {
		b.sends = append(b.sends, time.Time{})
	}
	b.sends[round-1] = at
}

func (b *bot) sentAt(round int) time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	if round < 1 || round > len(b.sends) {
		return time.Time{}
	}
	return b.sends[round-1]
}

// loadResult is what one load run saw from the clients' side.
type loadResult struct {
	Players, Matched, Finished int
	Wins, Losses               int
	Forfeits                   int
	Errors                     int
	FirstError                 string
	ConnectSeconds             float64
	PlaySeconds                float64
	Rounds                     int
	// Latency of each round's result, to each player, from the later of
	// the two moves; Round1 is the first round, whose moves all go at
	// once.
	Latency, Round1, Later []time.Duration
	Unpaired               int // results whose opponent's move time was unknown
}

// runLoad connects 2*games players to addr, paired by the server in
// arrival order, holds them until all are matched (calling ph.held), then
// lets them play to the end.
func runLoad(ctx context.Context, addr string, cfg loadConfig, ph phases) loadResult {
	n := 2 * cfg.games
	bots := make([]*bot, n)
	byName := make(map[string]*bot, n)
	for i := range bots {
		bots[i] = &bot{name: "p" + strconv.Itoa(i), idx: i}
		byName[bots[i].name] = bots[i]
	}
	res := loadResult{Players: n}
	var mu sync.Mutex // guards res from the players
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		res.Errors++
		if res.FirstError == "" {
			res.FirstError = err.Error()
		}
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	release := make(chan struct{})
	var matched, done sync.WaitGroup
	matched.Add(n)
	sem := make(chan struct{}, max(cfg.dialConc, 1))
	start := time.Now()
	for _, b := range bots {
		done.Add(1)
		go func() {
			defer done.Done()
			isMatched := false
			defer func() {
				if !isMatched {
					matched.Done()
				}
			}()
			select {
			case sem <- struct{}{}:
			case <-runCtx.Done():
				fail(runCtx.Err())
				return
			}
			d := net.Dialer{Timeout: cfg.timeout}
			conn, err := d.DialContext(runCtx, "tcp", addr)
			<-sem
			if err != nil {
				fail(err)
				return
			}
			defer conn.Close()
			stop := context.AfterFunc(runCtx, func() { conn.Close() })
			defer stop()
			out, err := b.play(conn, byName, release, cfg.think, func() { isMatched = true; matched.Done() })
			if err != nil {
				fail(fmt.Errorf("%s: %w", b.name, err))
				return
			}
			mu.Lock()
			defer mu.Unlock()
			res.Finished++
			res.Rounds += out.rounds
			res.Latency = append(res.Latency, out.lat...)
			res.Round1 = append(res.Round1, out.lat[:min(1, len(out.lat))]...)
			if len(out.lat) > 1 {
				res.Later = append(res.Later, out.lat[1:]...)
			}
			res.Unpaired += out.unpaired
			switch {
			case out.end.Outcome == rps.Win:
				res.Wins++
			default:
				res.Losses++
			}
			if out.end.Forfeit != "" {
				res.Forfeits++
			}
		}()
	}

	// Every player matched, or the time is up.
	allMatched := make(chan struct{})
	go func() { matched.Wait(); close(allMatched) }()
	select {
	case <-allMatched:
	case <-time.After(cfg.timeout):
	case <-ctx.Done():
	}
	res.ConnectSeconds = time.Since(start).Seconds()
	for _, b := range bots {
		if b.opp.Load() != nil {
			res.Matched++
		}
	}
	ph.held()
	playStart := time.Now()
	close(release)
	finished := make(chan struct{})
	go func() { done.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(cfg.timeout):
		cancel()
		<-finished
	case <-ctx.Done():
		<-finished
	}
	res.PlaySeconds = time.Since(playStart).Seconds()
	// Each game's rounds were counted by both players.
	res.Rounds /= 2
	res.Finished /= 2
	return res
}

// gameOut is one player's game.
type gameOut struct {
	end      rps.Event
	rounds   int
	lat      []time.Duration // one per round, in order
	unpaired int
}

var errLost = errors.New("connection lost before the game ended")

// play runs one player's game on conn: the name, the match (then
// onMatched), the wait for release, and the rounds.
func (b *bot) play(conn net.Conn, byName map[string]*bot, release <-chan struct{}, think time.Duration, onMatched func()) (gameOut, error) {
	var out gameOut
	r := bufio.NewReaderSize(conn, 512)
	w := func(line string) error {
		_, err := conn.Write([]byte(line))
		return err
	}
	if err := w(b.name + "\n"); err != nil {
		return out, err
	}
	moves := [3]string{"rock\n", "paper\n", "scissors\n"}
	released := false
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return out, fmt.Errorf("%w: %v", errLost, err)
		}
		now := time.Now()
		e, err := rps.ParseEvent(line)
		if err != nil {
			return out, err
		}
		switch e.Kind {
		case rps.KindMatched:
			opp := byName[e.Opponent]
			if opp == nil {
				return out, fmt.Errorf("matched with %q, no player of this run", e.Opponent)
			}
			b.opp.Store(opp)
			onMatched()
		case rps.KindRound:
			if !e.Prompt {
				continue
			}
			if !released {
				<-release
				released = true
			}
			if think > 0 {
				time.Sleep(rand.N(think))
			}
			t := time.Now()
			b.sent(e.Round, t)
			if err := w(moves[rand.IntN(3)]); err != nil {
				return out, err
			}
		case rps.KindResult:
			out.rounds++
			mine := b.sentAt(e.Round)
			var theirs time.Time
			if opp := b.opp.Load(); opp != nil {
				theirs = opp.sentAt(e.Round)
			}
			if mine.IsZero() || theirs.IsZero() {
				out.unpaired++
				continue
			}
			out.lat = append(out.lat, now.Sub(later(mine, theirs)))
		case rps.KindGame:
			if e.State == rps.GameOver {
				out.end = e
				return out, nil
			}
		case rps.KindError:
			return out, fmt.Errorf("server: %s", e.Text)
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// percentile returns the p-th percentile (0 < p <= 100) of d, sorting it.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(float64(len(d))*p/100+0.5) - 1
	return d[min(max(i, 0), len(d)-1)]
}
