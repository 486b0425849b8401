package main

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/rps"
	"github.com/netkit/netkit/internal/service"
)

// TestRunLoad plays a small load against an in-process server: every
// game is held in play before any move, then finishes, and every round's
// result is timed at both players.
func TestRunLoad(t *testing.T) {
	const games = 20
	l := rps.NewLobby(rps.Config{Rate: 1000, Burst: 1000})
	srv := &service.Server{Name: "rps", Handler: &rps.Handler{Lobby: l}, Limits: service.Limits{MaxConnsPerIP: -1}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	heldGames := -1
	res := runLoad(ctx, ln.Addr().String(), loadConfig{games: games, dialConc: 8, timeout: 30 * time.Second, think: time.Millisecond},
		phases{held: func() { heldGames = l.Playing() }})
	if heldGames != games {
		t.Errorf("%d games in play while held, want %d", heldGames, games)
	}
	if res.Errors != 0 || res.Matched != 2*games || res.Finished != games || res.Wins != games || res.Losses != games {
		t.Fatalf("got %+v, want every game finished", res)
	}
	if res.Unpaired != 0 || len(res.Latency) != 2*res.Rounds || len(res.Round1) != 2*games || len(res.Later) != 2*(res.Rounds-games) {
		t.Errorf("%d rounds, %d results timed (%d round 1, %d later), %d untimed", res.Rounds, len(res.Latency), len(res.Round1), len(res.Later), res.Unpaired)
	}
	if n := l.Playing(); n != 0 {
		t.Errorf("%d games still in play", n)
	}
}

func TestPercentileMedian(t *testing.T) {
	d := []time.Duration{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 5}, {90, 9}, {99, 10}, {100, 10}, {10, 1}} {
		if got := percentile(d, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median of 3 = %v, want 2", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median of 4 = %v, want 2.5", got)
	}
}
