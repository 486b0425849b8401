package service

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
)

// Gate counts the connections a server has open, in all and per client
// address, against Limits' MaxConns and MaxConnsPerIP. The TCP Server
// uses one, and so does any server that must keep the same limits over
// another stack (the web service's HTTP server). Admitting never blocks:
// a client over a limit is refused at once, so that one address at its
// limit cannot keep the others waiting behind it in the accept queue.
//
// Create one with NewGate. Its methods are safe for concurrent use.
type Gate struct {
	max, perIP int // 0: no limit

	mu    sync.Mutex
	total int
	by    map[netip.Addr]int
}

// NewGate returns a Gate for l's MaxConns and MaxConnsPerIP, defaults
// filled in as for a Server.
func NewGate(l Limits) *Gate {
	n := l.normalized()
	return &Gate{max: n.MaxConns, perIP: n.MaxConnsPerIP, by: make(map[netip.Addr]int)}
}

// Admit counts one more connection from peer if the limits allow it, or
// returns why not, in words to show the client.
func (g *Gate) Admit(peer netip.Addr) (ok bool, reason string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.max > 0 && g.total >= g.max:
		return false, fmt.Sprintf("server full (%d connections)", g.max)
	case g.perIP > 0 && g.by[peer] >= g.perIP:
		return false, fmt.Sprintf("too many connections from %s (limit %d)", peer, g.perIP)
	}
	g.total++
	g.by[peer]++
	return true, ""
}

// Release uncounts a connection from peer that Admit admitted.
func (g *Gate) Release(peer netip.Addr) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.total--
	if n := g.by[peer] - 1; n > 0 {
		g.by[peer] = n
	} else {
		delete(g.by, peer)
	}
}

// Open reports how many connections are counted now.
func (g *Gate) Open() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.total
}

// PeerAddr returns the IP address of a connection's remote end, IPv4 in
// its 4-byte form, or the zero Addr when it has none.
func PeerAddr(c net.Conn) netip.Addr { return addrOf(c.RemoteAddr()) }
