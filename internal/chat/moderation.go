package chat

import (
	"fmt"
	"net/netip"
	"time"
)

// Moderation: kicks and bans.

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

// Ban keeps an address out for d (DefaultBanTime when zero). target is a
// nickname, whose address is banned and who is kicked, or an IP address,
// whose members are all kicked.
func (h *Hub) Ban(by, target string, d time.Duration) (netip.Addr, error) {
	if d <= 0 {
		d = DefaultBanTime
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	addr, err := netip.ParseAddr(target)
	if err != nil {
		m, ok := h.members[foldNick(target)]
		if !ok {
			return netip.Addr{}, fmt.Errorf("%w: %q is neither here nor an IP address", ErrNoSuchUser, target)
		}
		if !m.Addr.IsValid() {
			return netip.Addr{}, fmt.Errorf("%w: %q has no address to ban", ErrUsage, target)
		}
		addr = m.Addr
	}
	addr = addr.Unmap()
	h.bans[addr] = time.Now().Add(d)
	var out []*Member
	for _, m := range h.members {
		if m.Addr == addr {
			out = append(out, m)
		}
	}
	for _, m := range out {
		h.kickLocked(m, by, "banned for "+d.String())
	}
	return addr, nil
}

// Unban lets addr back in.
func (h *Hub) Unban(addr netip.Addr) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.bans[addr.Unmap()]
	delete(h.bans, addr.Unmap())
	return ok
}
