package discovery

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Advertiser answers mDNS queries for one netkit instance, on every
// interface that is up and multicast-capable (those Only accepts, when
// set), each answer carrying only that interface's addresses. It answers
// at once (the records are unique to it), to the querier directly for a
// legacy (port other than 5353) or QU query, else to the group; it
// announces itself twice on start, a second apart (RFC 6762 section 8.3),
// and says goodbye (TTL 0) when it stops. It does not probe for name
// conflicts: the instance name carries the port when it is not 7700.
type Advertiser struct {
	// Instance is what is advertised.
	Instance Instance
	// Only, when set, picks the interfaces by their addresses: the ones
	// the servers listen on.
	Only func(netip.Addr) bool
	// Logger receives logs; nil discards them.
	Logger *slog.Logger

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Start opens the sockets and serves until Close. With no interface to
// advertise on (a server on loopback only) it does nothing and returns nil.
func (a *Advertiser) Start() error {
	logger := a.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ifs := Interfaces(a.Only)
	if len(ifs) == 0 {
		logger.Debug("discovery: no multicast interface to advertise on")
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	c4, err4 := listen4(ctx, mdnsPort)
	c6, err6 := listen6(ctx, mdnsPort)
	if err4 != nil && err6 != nil {
		cancel()
		return errors.Join(err4, err6)
	}
	joined := 0
	for _, ifi := range ifs {
		if c4 != nil && c4.pc.JoinGroup(&ifi, &net.UDPAddr{IP: group4.Addr().AsSlice()}) == nil {
			joined++
		}
		if c6 != nil && c6.pc.JoinGroup(&ifi, &net.UDPAddr{IP: group6.Addr().AsSlice()}) == nil {
			joined++
		}
	}
	logger.Info("discovery: advertising", "instance", a.Instance.FQDN(), "interfaces", len(ifs))
	a.mu.Lock()
	a.cancel, a.done = cancel, make(chan struct{})
	a.mu.Unlock()
	var wg sync.WaitGroup
	byIndex := map[int]net.Interface{}
	for _, ifi := range ifs {
		byIndex[ifi.Index] = ifi
	}
	r := &responder{in: &a.Instance, ifs: byIndex, only: a.Only, logger: logger, c4: c4, c6: c6}
	if c4 != nil {
		wg.Go(func() { r.serve(ctx, c4.read) })
	}
	if c6 != nil {
		wg.Go(func() { r.serve(ctx, c6.read) })
	}
	wg.Go(func() { r.announce(ctx) })
	go func() {
		<-ctx.Done()
		r.goodbye()
		if c4 != nil {
			c4.c.Close()
		}
		if c6 != nil {
			c6.c.Close()
		}
		wg.Wait()
		close(a.done)
	}()
	return nil
}

// Close says goodbye and stops.
func (a *Advertiser) Close() error {
	a.mu.Lock()
	cancel, done := a.cancel, a.done
	a.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	<-done
	return nil
}

type responder struct {
	in     *Instance
	ifs    map[int]net.Interface
	only   func(netip.Addr) bool
	logger *slog.Logger
	c4     *conn4
	c6     *conn6
}

func (r *responder) serve(ctx context.Context, read func([]byte) (packet, error)) {
	buf := make([]byte, 9000)
	for {
		p, err := read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			continue
		}
		ifi, ok := r.ifs[p.ifIndex]
		if !ok {
			continue
		}
		var q dns.Msg
		if q.Unpack(p.b) != nil {
			continue
		}
		match, unicast := Matches(&q, r.in)
		if !match {
			continue
		}
		legacy := p.from.Port() != mdnsPort
		var id uint16
		var questions []dns.Question
		if legacy {
			id, questions = q.Id, q.Question
		}
		b, err := Response(r.in, r.addrsFor(ifi, p.v6), DefaultTTL, id, questions)
		if err != nil {
			continue
		}
		to := group4
		if p.v6 {
			to = group6
		}
		if legacy || unicast {
			to = p.from
		}
		r.logger.Debug("discovery: answering", "from", p.from, "interface", ifi.Name, "unicast", legacy || unicast)
		r.send(p.v6, b, ifi.Index, to)
	}
}

// addrsFor lists the addresses of ifi that a querier over that family
// can use: IPv4 ones for IPv4 queries, IPv6 ones for IPv6 queries, and
// each family's too when the interface has them (RFC 6762 section 6.2).
func (r *responder) addrsFor(ifi net.Interface, _ bool) []netip.Addr {
	return r.addrs(ifi)
}

// addrs lists the addresses of ifi the servers listen on: all of them
// for servers on 0.0.0.0 or ::, else only those Only accepts (a server
// bound to one of an interface's addresses is not on the others).
func (r *responder) addrs(ifi net.Interface) []netip.Addr {
	as := ifaceAddrs(ifi)
	if r.only == nil {
		return as
	}
	out := as[:0]
	for _, a := range as {
		if r.only(a) {
			out = append(out, a)
		}
	}
	return out
}

func (r *responder) send(v6 bool, b []byte, ifIndex int, to netip.AddrPort) {
	var err error
	if v6 {
		if r.c6 != nil {
			err = r.c6.send(b, ifIndex, to)
		}
	} else if r.c4 != nil {
		err = r.c4.send(b, ifIndex, to)
	}
	if err != nil {
		r.logger.Debug("discovery: send", "to", to, "err", err)
	}
}

func (r *responder) multicastAll(ttl uint32) {
	for _, ifi := range r.ifs {
		b, err := Response(r.in, r.addrs(ifi), ttl, 0, nil)
		if err != nil {
			continue
		}
		r.send(false, b, ifi.Index, group4)
		r.send(true, b, ifi.Index, group6)
	}
}

func (r *responder) announce(ctx context.Context) {
	for i := range 2 {
		if i > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
		r.multicastAll(DefaultTTL)
	}
}

func (r *responder) goodbye() { r.multicastAll(0) }
