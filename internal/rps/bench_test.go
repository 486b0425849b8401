package rps

import (
	"sync"
	"testing"
)

// discard is a Transport that drops what is written, counting writes.
type discard struct {
	mu     sync.Mutex
	writes int
}

func (d *discard) Write([]byte) error {
	d.mu.Lock()
	d.writes++
	d.mu.Unlock()
	return nil
}
func (d *discard) Hangup() {}
func (d *discard) Close()  {}

// BenchmarkRound plays rounds between two sessions on transports that
// drop what they are sent: the server's own work for a round (parsing
// both moves, the rules, the lines to both, the move timer), without the
// network. Every round is a draw, so the game never ends.
func BenchmarkRound(b *testing.B) {
	l := NewLobby(Config{Rate: 1e9, Burst: 1 << 30})
	a := l.NewSession(&discard{})
	c := l.NewSession(&discard{})
	a.Handle([]byte("alice"))
	c.Handle([]byte("bob"))
	if l.Playing() != 1 {
		b.Fatal("no game")
	}
	rock := []byte("rock")
	b.ReportAllocs()
	for b.Loop() {
		a.Handle(rock)
		c.Handle(rock)
	}
}
