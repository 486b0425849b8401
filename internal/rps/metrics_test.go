package rps

import (
	"github.com/netkit/netkit/internal/testwait"

	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/netkit/netkit/internal/rps/game"
)

// TestMetrics counts a game forfeited by quitting, one played out, and a
// player waiting, as /metrics shows them.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	l, addr := startServer(t, Config{Target: 1, Metrics: m})
	want := func(what string, c prometheus.Collector, v float64) {
		t.Helper()
		if got := testutil.ToFloat64(c); got != v {
			t.Errorf("%s = %v, want %v", what, got, v)
		}
	}

	a, b, _, _ := pair(t, addr, "alice", "bob")
	want("games started", m.started, 1)
	want("games in play", m.playing, 1)
	// The gauge is set just after the match begins.
	testwait.For(t, "no one waiting", func() bool { return testutil.ToFloat64(m.waitingG) == 0 })
	a.send("/quit")
	b.expectGame(GameOver)
	testwait.For(t, "the game to end", func() bool { return l.Playing() == 0 })
	want("games finished", m.finishedC, 1)
	want("games forfeited by quitting", m.forfeited.WithLabelValues(string(game.Quit)), 1)
	want("games forfeited by timeout", m.forfeited.WithLabelValues(string(game.Timeout)), 0)
	want("games in play", m.playing, 0)

	c, d, _, _ := pair(t, addr, "carol", "dave")
	round(t, c, d, "rock", "scissors", Win)
	d.expectGame(GameOver)
	testwait.For(t, "the second game to end", func() bool { return l.Playing() == 0 })
	want("games started", m.started, 2)
	want("games finished", m.finishedC, 2)
	want("games forfeited by quitting", m.forfeited.WithLabelValues(string(game.Quit)), 1)

	join(t, addr, "erin")
	testwait.For(t, "erin counted waiting", func() bool { return testutil.ToFloat64(m.waitingG) == 1 })
}
