package chat

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"
)

// Bounds on guessing the admin token, per address across connections:
// DefaultAuthFree wrong tokens in a row are allowed, then each further
// try waits DefaultAuthWait, doubling every time, and after
// DefaultAuthBanAfter wrong tokens /auth is refused to the address for
// DefaultAuthBan. The count is forgotten DefaultAuthBan after the last
// wrong token, and when a right one is given. An IPv6 client counts by
// its /64, which one host usually holds whole.
const (
	DefaultAuthFree     = 3
	DefaultAuthWait     = time.Second
	DefaultAuthBanAfter = 10
	DefaultAuthBan      = 15 * time.Minute
	// maxAuthAddrs bounds the addresses counted apart; past it the others
	// share one count, so a spread attack is slowed all the more.
	maxAuthAddrs = 16384
)

// authGuard checks /auth tokens and bounds the guessing of them.
type authGuard struct {
	token  string
	clock  Clock
	logger *slog.Logger

	mu sync.Mutex
	by map[netip.Prefix]*authRecord
}

type authRecord struct {
	fails  int
	next   time.Time // no try before this
	banned time.Time // /auth refused until this
	last   time.Time // last wrong token
}

func newAuthGuard(token string, clock Clock, logger *slog.Logger) *authGuard {
	return &authGuard{token: token, clock: clock, logger: logger, by: make(map[netip.Prefix]*authRecord)}
}

// authKey is what an address's tries count under.
func authKey(a netip.Addr) netip.Prefix {
	if a.Is6() && !a.Is4In6() {
		p, _ := a.Prefix(64)
		return p
	}
	p, _ := a.Unmap().Prefix(32)
	return p
}

// check tries token from addr for nick, and returns nil if it is the
// admin token, or why not, to tell the user.
func (g *authGuard) check(addr netip.Addr, nick, token string) error {
	if g.token == "" {
		return fmt.Errorf("%w: remote admin is off on this server (it was started without --admin-token)", ErrNotAdmin)
	}
	now := g.clock.Now()
	key := authKey(addr)
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.record(key, now)
	switch {
	case now.Before(r.banned):
		return fmt.Errorf("%w: too many wrong admin tokens from %s; /auth is refused until %s", ErrNotAdmin, addr, r.banned.UTC().Format(time.RFC3339))
	case now.Before(r.next):
		return fmt.Errorf("%w: too many wrong admin tokens from %s; try again in %v", ErrNotAdmin, addr, r.next.Sub(now).Round(time.Millisecond))
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(g.token)) == 1 {
		delete(g.by, key)
		return nil
	}
	r.fails++
	r.last = now
	g.logger.Warn("wrong admin token", "peer", addr, "nick", nick, "failures", r.fails)
	if r.fails >= DefaultAuthBanAfter {
		r.banned = now.Add(DefaultAuthBan)
		g.logger.Warn("admin token guessing: /auth refused", "peer", addr, "failures", r.fails, "until", r.banned)
		return fmt.Errorf("%w: wrong admin token; too many from %s, /auth is refused until %s", ErrNotAdmin, addr, r.banned.UTC().Format(time.RFC3339))
	}
	if r.fails >= DefaultAuthFree {
		wait := DefaultAuthWait << (r.fails - DefaultAuthFree)
		r.next = now.Add(wait)
		return fmt.Errorf("%w: wrong admin token; next try from %s in %v", ErrNotAdmin, addr, wait)
	}
	return fmt.Errorf("%w: wrong admin token", ErrNotAdmin)
}

// record returns key's record, made if need be. The caller holds g.mu.
func (g *authGuard) record(key netip.Prefix, now time.Time) *authRecord {
	if r, ok := g.by[key]; ok {
		if now.Sub(r.last) < DefaultAuthBan || now.Before(r.banned) {
			return r
		}
		delete(g.by, key)
	}
	if len(g.by) >= maxAuthAddrs {
		for k, r := range g.by {
			if now.Sub(r.last) >= DefaultAuthBan && !now.Before(r.banned) {
				delete(g.by, k)
			}
		}
		if len(g.by) >= maxAuthAddrs {
			key = netip.Prefix{}
			if r, ok := g.by[key]; ok {
				return r
			}
		}
	}
	r := &authRecord{}
	g.by[key] = r
	return r
}
