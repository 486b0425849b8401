package chat

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Membership: joining, leaving, renaming and who is here.

// remove takes m out of the room and closes its queue. The caller holds
// h.mu.
func (h *Hub) remove(m *Member) {
	if m.gone {
		return
	}
	if m.nick != "" && h.members[foldNick(m.nick)] == m {
		delete(h.members, foldNick(m.nick))
		h.names = deleteName(h.names, m.nick)
		if h.bus != nil {
			h.bus.Release(m.nick)
		}
	}
	m.gone = true
	m.q.close()
}

// Join puts m in the room under nick, sends it the welcome, the history and
// who is here, and announces it to everyone else.
func (h *Hub) Join(m *Member, nick string) error {
	if err := CheckNick(nick); err != nil && !(m.Admin && strings.EqualFold(nick, AdminNick)) {
		return err
	}
	// Each instance's console is its own "admin": that name is not
	// claimed across instances.
	console := m.Admin && strings.EqualFold(nick, AdminNick)
	if !console {
		if err := h.claim(nick); err != nil {
			return err
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	release := h.bus != nil && !console
	defer func() {
		if release && h.bus != nil {
			h.bus.Release(nick)
		}
	}()
	if h.closed {
		return fmt.Errorf("chat: %s", leaveServerClosed)
	}
	if until, ok := h.bans[m.Addr]; ok && m.Addr.IsValid() {
		if time.Now().Before(until) {
			return fmt.Errorf("%w until %s", ErrBanned, until.Format(time.RFC3339))
		}
		delete(h.bans, m.Addr)
	}
	if _, taken := h.members[foldNick(nick)]; taken {
		return fmt.Errorf("%w: %q", ErrNickTaken, nick)
	}
	release = false
	h.announce(change{join: true, nick: nick})
	m.nick = nick
	h.members[foldNick(nick)] = m
	h.names = insertName(h.names, nick)
	users, count := h.whoLocked(welcomeNames)
	h.send(m, h.stamp(&Event{Type: TypeWelcome, Nick: nick, Users: users, Count: count}))
	for _, e := range h.history {
		h.send(m, e)
	}
	h.logger.Info("join", "nick", nick, "peer", m.Addr, "members", len(h.members))
	return nil
}

// claim reserves nick across instances when there is a bus. It is called
// without h.mu: it may wait on the network.
func (h *Hub) claim(nick string) error {
	h.mu.Lock()
	bus := h.bus
	_, local := h.members[foldNick(nick)]
	h.mu.Unlock()
	if local {
		return fmt.Errorf("%w: %q", ErrNickTaken, nick)
	}
	if bus == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return bus.Claim(ctx, nick)
}

// Leave takes m out of the room and tells everyone why. Leaving twice, or
// after being kicked, does nothing.
func (h *Hub) Leave(m *Member, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m.gone {
		return
	}
	if m.nick == "" {
		h.remove(m)
		return
	}
	h.remove(m)
	h.logger.Info("leave", "nick", m.nick, "peer", m.Addr, "reason", reason)
	h.announce(change{nick: m.nick, reason: reason})
}

// Rename changes m's nickname and announces it.
func (h *Hub) Rename(m *Member, nick string) error {
	if err := CheckNick(nick); err != nil {
		return err
	}
	sameName := strings.EqualFold(nick, h.Nick(m))
	if !sameName {
		if err := h.claim(nick); err != nil {
			return err
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if other, taken := h.members[foldNick(nick)]; (taken && other != m) || m.gone {
		if h.bus != nil && !sameName {
			h.bus.Release(nick)
		}
		return fmt.Errorf("%w: %q", ErrNickTaken, nick)
	}
	old := m.nick
	h.flushFor(old, nick)
	delete(h.members, foldNick(old))
	h.names = deleteName(h.names, old)
	if h.bus != nil && !sameName {
		h.bus.Release(old)
	}
	m.nick = nick
	h.members[foldNick(nick)] = m
	h.names = insertName(h.names, nick)
	h.broadcast(&Event{Type: TypeNick, Nick: old, NewNick: nick})
	return nil
}

// Who returns the nicknames in the room, sorted.
func (h *Hub) Who() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	names, _ := h.whoLocked(math.MaxInt)
	return names
}

// whoLocked returns the first limit nicknames in the room, here and on
// the other instances, in nickOrder, and how many there are in all. The
// caller holds h.mu.
func (h *Hub) whoLocked(limit int) ([]string, int) {
	var remote []string
	if h.bus != nil {
		remote = h.bus.Names()
		slices.SortFunc(remote, nickOrder)
	}
	count := len(h.names) + len(remote)
	names := make([]string, 0, min(limit, count))
	local := h.names
	for len(names) < limit && (len(local) > 0 || len(remote) > 0) {
		if len(remote) == 0 || len(local) > 0 && nickOrder(local[0], remote[0]) <= 0 {
			names = append(names, local[0])
			local = local[1:]
		} else {
			names = append(names, remote[0])
			remote = remote[1:]
		}
	}
	return names, count
}

// nickOrder sorts nicknames the way they are compared, so that the names
// shown first are stable and findable.
func nickOrder(a, b string) int { return strings.Compare(foldNick(a), foldNick(b)) }

// insertName adds nick to names, kept in nickOrder: a room of 10,000 keeps
// its list sorted as people come and go rather than sorting it for each
// newcomer's welcome.
func insertName(names []string, nick string) []string {
	i, _ := slices.BinarySearchFunc(names, nick, nickOrder)
	return slices.Insert(names, i, nick)
}

// deleteName removes nick from names, kept in nickOrder.
func deleteName(names []string, nick string) []string {
	if i, ok := slices.BinarySearchFunc(names, nick, nickOrder); ok {
		return slices.Delete(names, i, i+1)
	}
	return names
}
