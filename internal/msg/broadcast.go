package msg

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// MaxUDPClients bounds the UDP clients that receive broadcasts; a
// handshake from a new address when the table is full and none has
// expired is answered but not subscribed.
const MaxUDPClients = 4096

// wsQueue is how many pushes a WebSocket client may have waiting; one
// that falls further behind is dropped, not waited for.
const wsQueue = 256

// subscribers are the clients broadcasts go to.
type subscribers struct {
	mu  sync.Mutex
	ws  map[*wsClient]struct{}
	udp map[netip.AddrPort]*udpClient
	pc  net.PacketConn // where UDP pushes leave from
}

type udpClient struct {
	sealer sealer
	until  time.Time
}

// wsClient is one WebSocket connection's outgoing queue.
type wsClient struct {
	queue  chan []byte
	sealer sealer
	mu     sync.Mutex // guards sealer
	drop   func()
	once   sync.Once
}

func (c *wsClient) push(tok []byte) bool {
	select {
	case c.queue <- tok:
		return true
	default:
		c.once.Do(c.drop)
		return false
	}
}

func (c *wsClient) setSealer(sl sealer) {
	c.mu.Lock()
	c.sealer = sl
	c.mu.Unlock()
}

func (c *wsClient) getSealer() sealer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sealer
}

func (b *subscribers) init() {
	b.ws = make(map[*wsClient]struct{})
	b.udp = make(map[netip.AddrPort]*udpClient)
}

func (b *subscribers) setPacketConn(pc net.PacketConn) {
	b.mu.Lock()
	b.pc = pc
	b.mu.Unlock()
}

func (b *subscribers) addWS(c *wsClient) {
	b.mu.Lock()
	b.ws[c] = struct{}{}
	b.mu.Unlock()
}

func (b *subscribers) removeWS(c *wsClient) {
	b.mu.Lock()
	delete(b.ws, c)
	b.mu.Unlock()
}

func (b *subscribers) addUDP(a netip.AddrPort, sl sealer, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.udp[a]; !ok && len(b.udp) >= MaxUDPClients {
		b.expireUDP(time.Now())
		if len(b.udp) >= MaxUDPClients {
			return
		}
	}
	b.udp[a] = &udpClient{sealer: sl, until: until}
}

func (b *subscribers) expireUDP(now time.Time) {
	for a, c := range b.udp {
		if now.After(c.until) {
			delete(b.udp, a)
		}
	}
}

func (b *subscribers) counts() (ws, udp int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.ws), len(b.udp)
}

// deliver seals plain for every subscriber (one Fernet token for all
// that share the key) and queues or sends it; it returns how many it
// went to.
func (b *subscribers) deliver(s *Server, plain []byte, now time.Time) int {
	b.mu.Lock()
	b.expireUDP(now)
	ws := make([]*wsClient, 0, len(b.ws))
	for c := range b.ws {
		ws = append(ws, c)
	}
	type target struct {
		addr netip.AddrPort
		sl   sealer
	}
	udp := make([]target, 0, len(b.udp))
	for a, c := range b.udp {
		udp = append(udp, target{a, c.sealer})
	}
	pc := b.pc
	b.mu.Unlock()

	var shared []byte
	sealFor := func(sl sealer) []byte {
		if sl.shared != nil {
			return s.seal(sl, plain)
		}
		if shared == nil {
			shared = s.seal(sl, plain)
		}
		return shared
	}
	n := 0
	for _, c := range ws {
		if c.push(sealFor(c.getSealer())) {
			n++
		}
	}
	if pc != nil {
		for _, t := range udp {
			if _, err := pc.WriteTo(sealFor(t.sl), net.UDPAddrFromAddrPort(t.addr)); err == nil {
				n++
			}
		}
	}
	return n
}
