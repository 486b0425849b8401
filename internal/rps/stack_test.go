package rps

import (
	"bufio"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestStackPerPlayer checks what most of a connected player's memory is:
// its reader goroutine's stack (issue 9 asks for under 20 KB of server
// RSS a player). 200 players join, are matched, and play a round; the
// stacks in use grow by under stackBudget a player. Playing a move once
// took the stack from 4 to 8 KiB; with -race every stack is 8 KiB from
// the greeting on, and the test then only catches a growth to 16. The
// clients are all
// driven from the test's goroutine, so only the server's goroutines grow
// with the players.
func TestStackPerPlayer(t *testing.T) {
	const players = 200
	_, addr := startServer(t, Config{MoveTimeout: -1})
	stacks := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.StackInuse
	}
	before := stacks()
	conns := make([]net.Conn, players)
	readers := make([]*bufio.Reader, players)
	// until reads p's lines until one starts with one of prefixes.
	until := func(i int, prefixes ...string) {
		t.Helper()
		conns[i].SetReadDeadline(time.Now().Add(waitTimeout))
		for {
			line, err := readers[i].ReadString('\n')
			if err != nil {
				t.Fatalf("p%d: waiting for %q: %v", i, prefixes, err)
			}
			for _, p := range prefixes {
				if strings.HasPrefix(line, p) {
					return
				}
			}
		}
	}
	for i := range conns {
		c, err := net.DialTimeout("tcp", addr, waitTimeout)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns[i], readers[i] = c, bufio.NewReader(c)
		fmt.Fprintf(c, "p%d\n", i)
		until(i, "welcome p")
	}
	for i := range conns {
		until(i, "round 1 move")
	}
	for _, c := range conns {
		fmt.Fprintf(c, "rock\n")
	}
	for i := range conns {
		until(i, "round 2 move")
	}
	grown := stacks() - before
	perPlayer := float64(grown) / players
	t.Logf("stacks in use grew by %d bytes: %.0f a player", grown, perPlayer)
	if perPlayer > stackBudget {
		t.Errorf("stacks grew by %.0f bytes a player, want at most %d", perPlayer, stackBudget)
	}
}
