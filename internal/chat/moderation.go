package chat

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Moderation: kicks and bans.
//
// A ban keeps out a nickname or a range of addresses, never both at once:
// /ban NICK bans the person by their nickname (its other cases and its
// look-alikes too, by its confusable skeleton) and kicks them, leaving
// their address alone, since a classroom behind one NAT, or everyone on
// 127.0.0.1, shares it; /ban ADDRESS or /ban CIDR bans the addresses and
// kicks everyone from them but the admin who asked. netkit knows no other
// identity of a session (no accounts, no client certificates), so the
// nickname is what a ban by name holds.

// Ban is one ban in force: of a nickname, or of addresses.
type Ban struct {
	// Nick is the nickname banned, as it was in the room; or "" for a
	// ban of Addrs.
	Nick string
	// Addrs are the addresses banned, a single one as a /32 or /128.
	Addrs netip.Prefix
	// By is who banned, and Until when the ban ends.
	By    string
	Until time.Time
}

// String says what is banned: "the nickname trent", "the address
// 192.0.2.7" or "the addresses 10.0.0.0/8".
func (b Ban) String() string {
	switch {
	case b.Nick != "":
		return "the nickname " + b.Nick
	case b.Addrs.IsSingleIP():
		return "the address " + b.Addrs.Addr().String()
	}
	return "the addresses " + b.Addrs.String()
}

// banKey is what a ban is held under: the nickname's look key with case
// folded (as the claim across instances), or the address range.
func (b Ban) key() string {
	if b.Nick != "" {
		return "n:" + lookKeys(b.Nick)[0]
	}
	return "a:" + b.Addrs.String()
}

// maxBans bounds the bans in force; past it the one ending first is
// forgotten. Only admins ban, so it is a guard, not a limit anyone meets.
const maxBans = 4096

// Kick removes the member called nick on behalf of by, telling everyone
// (the kicked member included) who did it and why.
func (h *Hub) Kick(by, nick, reason string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	m, ok := h.members[foldNick(nick)]
	if !ok {
		if h.bus != nil && h.bus.Holds(nick) {
			// The instance holding the member kicks it and announces it.
			h.bus.Publish(h.stamp(&Event{Type: typeKickRequest, Nick: nick, By: by, Text: reason}))
			return nil
		}
		return fmt.Errorf("%w: %q", ErrNoSuchUser, nick)
	}
	h.kickLocked(m, by, reason)
	return nil
}

func (h *Hub) kickLocked(m *Member, by, reason string) {
	h.flushFor(m.nick)
	e := h.stamp(&Event{Type: TypeKick, Nick: m.nick, By: by, Text: reason})
	// The kicked member hears it first, then its queue is closed so its
	// transport writes it and hangs up.
	h.send(m, e)
	h.remove(m)
	h.logger.Info("kick", "nick", m.nick, "peer", m.Addr, "by", by, "reason", reason)
	h.broadcast(e)
}

// ParseBanTarget reads what /ban and /unban name: an address or a CIDR
// range (an IPv4 address written as IPv6 is the IPv4 one), or else a
// nickname.
func ParseBanTarget(s string) (netip.Prefix, string, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), "", true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap().WithZone("")
		return netip.PrefixFrom(a, a.BitLen()), "", true
	}
	return netip.Prefix{}, s, false
}

// Ban keeps target out for d (DefaultBanTime when zero) on behalf of the
// admin by, and says what it did, to tell by. target is a nickname, whose
// holder is kicked, here or on another instance, and whose nickname is
// banned (not its address); or an address or CIDR range, from which
// everyone is kicked but by. Nobody bans themselves.
func (h *Hub) Ban(by *Member, target string, d time.Duration) (string, error) {
	if d <= 0 {
		d = DefaultBanTime
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	b := Ban{By: by.nick, Until: h.clock.Now().Add(d)}
	if b.By == "" {
		b.By = AdminNick
	}
	prefix, nick, isAddr := ParseBanTarget(target)
	if isAddr {
		b.Addrs = prefix
	} else {
		m, here := h.members[foldNick(nick)]
		switch {
		case here && m == by:
			return "", fmt.Errorf("%w: you cannot ban yourself", ErrUsage)
		case here:
			b.Nick = m.nick
		case h.bus != nil && h.bus.Holds(nick):
			// Its instance kicks it when the ban reaches it.
			b.Nick = nick
			if n, err := NormalizeNick(nick); err == nil {
				b.Nick = n
			}
		default:
			return "", fmt.Errorf("%w: %q; to ban an address, name it (/ban 192.0.2.7 or /ban 192.0.2.0/24)", ErrNoSuchUser, nick)
		}
	}
	h.addBan(b, by)
	if h.bus != nil {
		h.bus.Publish(h.stamp(banEvent(b)))
	}
	done := "banned " + b.String() + " for " + d.String()
	if isAddr && by.Addr.IsValid() && prefix.Contains(by.Addr) {
		done += " (your own address is in it: you stay, but could not join again from it)"
	}
	return done, nil
}

// addBan puts b in force and kicks the members here it bans, but spare
// (the admin who banned, or nil). The caller holds h.mu.
func (h *Hub) addBan(b Ban, spare *Member) {
	if h.bans == nil {
		h.bans = make(map[string]Ban)
	}
	h.pruneBans()
	if len(h.bans) >= maxBans {
		var first string
		for k, old := range h.bans {
			if first == "" || old.Until.Before(h.bans[first].Until) {
				first = k
			}
		}
		delete(h.bans, first)
	}
	h.bans[b.key()] = b
	d := b.Until.Sub(h.clock.Now()).Round(time.Second)
	h.logger.Info("ban", "what", b.String(), "by", b.By, "for", d)
	var out []*Member
	for _, m := range h.members {
		if m != spare && b.bans(m.Addr, m.nick) {
			out = append(out, m)
		}
	}
	for _, m := range out {
		h.kickLocked(m, b.By, "banned for "+d.String())
	}
}

// bans reports whether b keeps out someone from addr called nick.
func (b Ban) bans(addr netip.Addr, nick string) bool {
	if b.Nick != "" {
		return nick != "" && lookKeys(nick)[0] == lookKeys(b.Nick)[0]
	}
	return addr.IsValid() && b.Addrs.Contains(addr.Unmap())
}

// banned returns the ban that keeps out someone from addr called nick, if
// one does. The caller holds h.mu.
func (h *Hub) banned(addr netip.Addr, nick string) (Ban, bool) {
	now := h.clock.Now()
	for k, b := range h.bans {
		if !now.Before(b.Until) {
			delete(h.bans, k)
			continue
		}
		if b.bans(addr, nick) {
			return b, true
		}
	}
	return Ban{}, false
}

// bannedError is the error telling someone kept out by b.
func bannedError(b Ban, addr netip.Addr) error {
	what := b.String()
	if b.Nick == "" && !b.Addrs.IsSingleIP() {
		what = "the address " + addr.String() + " (in " + b.Addrs.String() + ")"
	}
	return fmt.Errorf("%w: %s until %s", ErrBanned, what, b.Until.UTC().Format(time.RFC3339))
}

// pruneBans forgets the bans that have ended. The caller holds h.mu.
func (h *Hub) pruneBans() {
	now := h.clock.Now()
	for k, b := range h.bans {
		if !now.Before(b.Until) {
			delete(h.bans, k)
		}
	}
}

// Unban lifts the ban of target, a nickname, address or CIDR range as
// Ban takes, here and on every other instance, and says what it did.
func (h *Hub) Unban(target string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, ok := h.unbanLocked(target)
	if !ok {
		return target + " was not banned", false
	}
	if h.bus != nil {
		h.bus.Publish(h.stamp(unbanEvent(b)))
	}
	return "unbanned " + b.String(), true
}

// unbanLocked lifts the ban of target, reporting which. The caller holds
// h.mu.
func (h *Hub) unbanLocked(target string) (Ban, bool) {
	h.pruneBans()
	prefix, nick, isAddr := ParseBanTarget(target)
	key := Ban{Nick: nick, Addrs: prefix}.key()
	if !isAddr && nick == "" {
		return Ban{}, false
	}
	b, ok := h.bans[key]
	if ok {
		delete(h.bans, key)
		h.logger.Info("unban", "what", b.String())
	}
	return b, ok
}

// unbanKey lifts the ban held under key (see Ban.key), if there is one.
func (h *Hub) unbanKey(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if b, ok := h.bans[key]; ok {
		delete(h.bans, key)
		h.logger.Info("unban", "what", b.String())
	}
}

// Bans returns the bans in force, addresses first, each kind in order.
func (h *Hub) Bans() []Ban {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pruneBans()
	out := make([]Ban, 0, len(h.bans))
	for _, b := range h.bans {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b Ban) int {
		if (a.Nick == "") != (b.Nick == "") {
			if a.Nick == "" {
				return -1
			}
			return 1
		}
		if a.Nick != "" {
			return nickOrder(a.Nick, b.Nick)
		}
		if c := a.Addrs.Addr().Compare(b.Addrs.Addr()); c != 0 {
			return c
		}
		return a.Addrs.Bits() - b.Addrs.Bits()
	})
	return out
}

// bansEvent lists bans for an admin, with the time each has left.
func bansEvent(bans []Ban, now time.Time) *Event {
	if len(bans) == 0 {
		return &Event{Type: TypeSystem, Text: "no bans in force", Time: now}
	}
	lines := []string{fmt.Sprintf("bans in force (%d):", len(bans))}
	for _, b := range bans {
		left := b.Until.Sub(now).Round(time.Second)
		lines = append(lines, fmt.Sprintf("  %s, by %s, %v left", b, b.By, left))
	}
	return &Event{Type: TypeBans, Text: strings.Join(lines, "\n"), Time: now}
}
