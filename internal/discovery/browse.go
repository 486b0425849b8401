package discovery

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/netkit/netkit/internal/fernet"
)

// Browser finds netkit servers: it sends a one-shot mDNS query (from an
// ephemeral port, so responders answer it directly, RFC 6762 section
// 5.1) on every interface that is up and multicast-capable, repeats it
// after 100 ms, 300 ms and then every second, and reports each instance
// as soon as an answer describes it. The zero value is usable.
type Browser struct {
	// Keys check the TXT records' hmac; nil marks every signed record
	// unverified.
	Keys []*fernet.Key
}

// Browse calls found with each instance heard, once per instance and
// interface address, until ctx is done or found returns false. It
// returns nil when ctx ends, or an error if no socket could be opened.
func (b *Browser) Browse(ctx context.Context, found func(Service) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c4, err4 := listen4(ctx, 0)
	c6, err6 := listen6(ctx, 0)
	if err4 != nil && err6 != nil {
		return errors.Join(err4, err6)
	}
	query, err := Query(false)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	stop := false
	handle := func(p packet) {
		svcs, err := ParseResponse(p.b)
		if err != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, s := range svcs {
			if stop || s.TTL == 0 {
				continue
			}
			s.From = p.from
			s.Verification = Verify(s.TXT, b.Keys)
			key := s.FQDN() + "|" + s.Addr().String()
			if seen[key] {
				continue
			}
			seen[key] = true
			if !found(s) {
				stop = true
				cancel()
			}
		}
	}
	var wg sync.WaitGroup
	read := func(r func([]byte) (packet, error)) {
		buf := make([]byte, 9000)
		for {
			p, err := r(buf)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				continue
			}
			handle(p)
		}
	}
	if c4 != nil {
		wg.Go(func() { read(c4.read) })
	}
	if c6 != nil {
		wg.Go(func() { read(c6.read) })
	}
	send := func() {
		for _, ifi := range Interfaces(nil) {
			if c4 != nil {
				c4.send(query, ifi.Index, group4)
			}
			if c6 != nil {
				c6.send(query, ifi.Index, netip.AddrPortFrom(group6.Addr().WithZone(ifi.Name), group6.Port()))
			}
		}
	}
	send()
	for _, d := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond} {
		select {
		case <-ctx.Done():
		case <-time.After(d):
			send()
		}
	}
	t := time.NewTicker(time.Second)
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-t.C:
			send()
		}
	}
	t.Stop()
	if c4 != nil {
		c4.c.Close()
	}
	if c6 != nil {
		c6.c.Close()
	}
	wg.Wait()
	return nil
}
