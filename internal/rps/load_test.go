package rps

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// TestManyGames plays 500 games at once between --auto bots (the
// client's own Player) over real sockets: every game ends, with a winner
// for each, within a bound.
func TestManyGames(t *testing.T) {
	const games = 500
	l, addr := startServer(t, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, losses := 0, 0
	errs := make(chan error, 2*games)
	for i := range 2 * games {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			// Two that always play alike (two cycles) would never end:
			// the pairs in rooms are random against cycle, and those
			// paired in arrival order play at random.
			p := &Player{Name: fmt.Sprintf("bot%d", i), Auto: "random"}
			if i%3 == 0 {
				p.Room = fmt.Sprintf("room%d", i/6)
				p.Auto = []string{"random", "cycle"}[(i/3)%2]
			}
			e, err := p.Play(ctx, conn)
			if err != nil {
				errs <- fmt.Errorf("%s: %w", p.Name, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			switch e.Outcome {
			case Win:
				wins++
			case Lose:
				losses++
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if wins != games || losses != games {
		t.Errorf("%d wins and %d losses, want %d each", wins, losses, games)
	}
	if n := l.Playing(); n != 0 {
		t.Errorf("%d games still in play", n)
	}
	if top := l.Standings().Top(-1); len(top) != 2*games {
		t.Errorf("%d players in the standings, want %d", len(top), 2*games)
	}
}
