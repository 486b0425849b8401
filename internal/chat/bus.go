package chat

import (
	"context"
)

// The bridge between instances of one room: the Bus a Hub publishes to, and
// what it does with the events other instances publish.

// Bus links a Hub to the other instances of the same room (see NATSBus).
// Its methods must not call back into the Hub synchronously.
type Bus interface {
	// Publish sends an event that happened here to the other instances,
	// without blocking.
	Publish(e *Event)
	// Claim reserves nick across every instance: ErrNickTaken when another
	// instance holds it.
	Claim(ctx context.Context, nick string) error
	// Release gives a nick back, without blocking.
	Release(nick string)
	// Names lists the nicks held by the other instances.
	Names() []string
	// Holds reports whether another instance holds nick.
	Holds(nick string) bool
}

// Internal event types, passed between instances and never shown.
const (
	typeKickRequest = "kick-request" // By asks the instance holding Nick to kick it
	typeBan         = "ban"          // By banned the nickname Nick, or the addresses Text, until Until
	typeUnban       = "unban"        // the ban of the nickname Nick, or of the addresses Text, is lifted
)

// banEvent tells the other instances of a ban, so that it is in force on
// each, and the one holding a banned nickname kicks it.
func banEvent(b Ban) *Event {
	e := &Event{Type: typeBan, Nick: b.Nick, By: b.By, Until: b.Until}
	if b.Nick == "" {
		e.Text = b.Addrs.String()
	}
	return e
}

// banOf returns the ban a ban or unban event is about.
func banOf(e *Event) Ban {
	b := Ban{Nick: e.Nick, By: e.By, Until: e.Until}
	if b.Nick == "" {
		b.Addrs, _, _ = ParseBanTarget(e.Text)
	}
	return b
}

// unbanEvent tells the other instances that a ban is lifted.
func unbanEvent(b Ban) *Event {
	e := &Event{Type: typeUnban, Nick: b.Nick}
	if b.Nick == "" {
		e.Text = b.Addrs.String()
	}
	return e
}

// SetBus links the hub to other instances; call it before serving.
func (h *Hub) SetBus(b Bus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.bus = b
}

// Origin identifies this hub among instances.
func (h *Hub) Origin() string { return h.origin }

// Remote takes an event published by another instance and delivers it to
// the members here: everyone for room events, the addressee for a private
// message, the kicked member's instance for a kick request; bans are put
// in force. Events from this hub itself are ignored, so each event
// reaches each member once. An event that fails CheckRemote is refused
// with its error.
func (h *Hub) Remote(e *Event) error {
	if err := CheckRemote(e); err != nil {
		return err
	}
	h.remote(e)
	return nil
}

// remote is Remote for an event already checked.
func (h *Hub) remote(e *Event) {
	if e.Origin == h.origin || e.Origin == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	switch e.Type {
	case typeKickRequest:
		if m, ok := h.members[foldNick(e.Nick)]; ok {
			h.kickLocked(m, e.By, e.Text)
		}
	case typeBan:
		if b := banOf(e); h.clock.Now().Before(b.Until) {
			h.addBan(b, nil)
		}
	case typeUnban:
		target := e.Nick
		if target == "" {
			target = e.Text
		}
		h.unbanLocked(target)
	case TypePrivate:
		if m, ok := h.members[foldNick(e.To)]; ok && !h.send(m, e) {
			h.drop(m, leaveSlow)
		}
	default:
		h.deliver(e)
	}
}

// localNicks lists the nicknames of the members on this instance.
func (h *Hub) localNicks() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	names := make([]string, 0, len(h.members))
	for _, m := range h.members {
		names = append(names, m.nick)
	}
	return names
}
