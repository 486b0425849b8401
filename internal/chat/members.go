package chat

import (
	"context"
	"fmt"
	"math"
	"net/netip"
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
		h.unindex(m)
		if h.bus != nil {
			h.bus.Release(m.nick)
		}
	}
	m.gone = true
	m.q.close()
}

// index puts m in the room under nick: by its folded nick, under its look
// keys, and in the sorted names. The caller holds h.mu.
func (h *Hub) index(m *Member, nick string) {
	m.nick = nick
	h.members[foldNick(nick)] = m
	for _, k := range lookKeys(nick) {
		if _, ok := h.looks[k]; !ok {
			h.looks[k] = m
		}
	}
	h.names = insertName(h.names, nick)
}

// unindex takes m's nick out of the room's indexes. The caller holds h.mu.
func (h *Hub) unindex(m *Member) {
	delete(h.members, foldNick(m.nick))
	for _, k := range lookKeys(m.nick) {
		if h.looks[k] == m {
			delete(h.looks, k)
		}
	}
	h.names = deleteName(h.names, m.nick)
}

// taken returns why nick cannot be m's: someone else here has it, or one
// that looks like it. The caller holds h.mu.
func (h *Hub) taken(m *Member, nick string) error {
	if other, ok := h.members[foldNick(nick)]; ok && other != m {
		return fmt.Errorf("%w: %q", ErrNickTaken, nick)
	}
	for _, k := range lookKeys(nick) {
		if other, ok := h.looks[k]; ok && other != m {
			return fmt.Errorf("%w: %q looks like %q, who is here", ErrNickConfusable, nick, other.nick)
		}
	}
	return nil
}

// Join puts m in the room under nick, sends it the welcome, the history and
// who is here, and announces it to everyone else. The nickname is
// enforced as NormalizeNick says, and refused if someone has it or one
// that looks like it. With other instances, claiming it across them waits
// on the network, as long as ctx allows.
func (h *Hub) Join(ctx context.Context, m *Member, nick string) error {
	// Each instance's console is its own "admin": that name is not
	// claimed across instances.
	console := m.Admin && nick == AdminNick
	if !console {
		n, err := NormalizeNick(nick)
		if err != nil {
			return err
		}
		nick = n
		if err := h.claim(ctx, m, nick); err != nil {
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
	if b, ok := h.banned(m.Addr, nick); ok && !console {
		return bannedError(b, m.Addr)
	}
	if err := h.taken(m, nick); err != nil {
		return err
	}
	release = false
	h.announce(change{join: true, nick: nick})
	h.index(m, nick)
	users, count := h.whoLocked(welcomeNames)
	h.send(m, h.stamp(&Event{Type: TypeWelcome, Nick: nick, Users: users, Count: count}))
	for _, e := range h.history {
		h.send(m, e)
	}
	h.logger.Info("join", "nick", nick, "peer", m.Addr, "members", len(h.members))
	return nil
}

// claim reserves nick for m across instances when there is a bus, after
// checking that the nickname is not banned and that nobody here has it. It is called without h.mu: it may wait on the network, as
// long as ctx allows and at most claimTimeout.
func (h *Hub) claim(ctx context.Context, m *Member, nick string) error {
	h.mu.Lock()
	bus := h.bus
	err := h.taken(m, nick)
	if b, ok := h.banned(netip.Addr{}, nick); ok {
		// Said first: the nickname of someone just banned may still be
		// claimed by the instance that held it.
		err = bannedError(b, netip.Addr{})
	}
	h.mu.Unlock()
	if err != nil || bus == nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, claimTimeout)
	defer cancel()
	return bus.Claim(ctx, nick)
}

// claimTimeout bounds the wait for a claim across instances.
const claimTimeout = 5 * time.Second

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

// Rename changes m's nickname and announces it, with the checks of Join.
func (h *Hub) Rename(ctx context.Context, m *Member, nick string) error {
	nick, err := NormalizeNick(nick)
	if err != nil {
		return err
	}
	sameName := foldNick(nick) == foldNick(h.Nick(m))
	if !sameName {
		if err := h.claim(ctx, m, nick); err != nil {
			return err
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	err = h.taken(m, nick)
	if b, ok := h.banned(netip.Addr{}, nick); ok && err == nil {
		err = bannedError(b, netip.Addr{})
	}
	if err == nil && m.gone {
		err = fmt.Errorf("%w: %q", ErrNickTaken, nick)
	}
	if err != nil {
		if h.bus != nil && !sameName {
			h.bus.Release(nick)
		}
		return err
	}
	old := m.nick
	h.flushFor(old, nick)
	h.unindex(m)
	if h.bus != nil && !sameName {
		h.bus.Release(old)
	}
	h.index(m, nick)
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

// WhoFrom is Who for an admin: the event listing who is here, with where
// each connects from.
func (h *Hub) WhoFrom() *Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	names, _ := h.whoLocked(math.MaxInt)
	from := make(map[string]string, len(names))
	for _, n := range names {
		switch m, ok := h.members[foldNick(n)]; {
		case !ok:
			from[n] = "another server"
		case !m.Addr.IsValid():
			from[n] = "console"
		default:
			from[n] = m.Addr.String()
		}
	}
	return &Event{Type: TypeWho, Users: names, Addrs: from, Time: h.clock.Now()}
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
