package chat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for Hub, used where a field is zero.
const (
	DefaultHistory    = 50
	DefaultQueueLen   = 4096
	DefaultBanTime    = time.Hour
	AdminNick         = "admin"
	leaveQuit         = "quit"
	leaveSlow         = "too slow: did not read its messages"
	leaveFlood        = "flooding"
	leaveServerClosed = "server shutting down"
	// welcomeNames bounds the names listed in a welcome: in a room of
	// 10,000 a full list in every welcome would cost O(n²) bytes.
	welcomeNames = 50
)

// Hub is one chat room: who is here, the recent history, bans, and the
// delivery of every event to every member. Transports (TCP, WebSocket, the
// admin console) create Members and call the Hub; the Hub never blocks on a
// member: each has a bounded queue, and one that overflows is dropped.
//
// The zero value is not usable; call NewHub. Its methods are safe for
// concurrent use.
type Hub struct {
	logger   *slog.Logger
	queueLen int
	origin   string
	seq      atomic.Uint64

	mu      sync.Mutex
	members map[string]*Member // by folded nick
	history []*Event           // ring of the last events worth replaying
	histCap int
	bans    map[netip.Addr]time.Time
	closed  bool
	bus     Bus
}

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
)

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
// message, the kicked member's instance for a kick request. Events from
// this hub itself are ignored, so each event reaches each member once.
func (h *Hub) Remote(e *Event) {
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
	case TypePrivate:
		if m, ok := h.members[foldNick(e.To)]; ok && !h.send(m, e) {
			h.drop(m, leaveSlow)
		}
	default:
		h.deliver(e)
	}
}

// HubConfig configures NewHub.
type HubConfig struct {
	// History is how many messages a newcomer is shown (default 50; -1
	// for none).
	History int
	// QueueLen bounds each member's queue of undelivered events (default
	// 4096: a burst from many senders fits, a client that stopped reading
	// does not). A member whose queue is full is dropped.
	QueueLen int
	// Logger receives joins, leaves and drops; nil discards them.
	Logger *slog.Logger
}

// NewHub returns an empty room.
func NewHub(cfg HubConfig) *Hub {
	h := &Hub{
		logger:   cfg.Logger,
		queueLen: cfg.QueueLen,
		histCap:  cfg.History,
		members:  make(map[string]*Member),
		bans:     make(map[netip.Addr]time.Time),
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if h.queueLen <= 0 {
		h.queueLen = DefaultQueueLen
	}
	switch {
	case h.histCap == 0:
		h.histCap = DefaultHistory
	case h.histCap < 0:
		h.histCap = 0
	}
	var b [6]byte
	rand.Read(b[:])
	h.origin = hex.EncodeToString(b[:])
	return h
}

// Member is one person in the room, as a transport holds them. Events for
// the member arrive on Events until it is closed, which happens when the
// member leaves, is kicked or dropped; the transport then writes what is
// left and hangs up.
type Member struct {
	// Addr is where the member connects from, for bans and logs.
	Addr netip.Addr
	// Admin members may kick and ban.
	Admin bool

	nick   string // guarded by the hub's mu
	q      *queue
	hangup func()
	gone   bool // guarded by the hub's mu
}

// NewMember returns a member that is not yet in the room. hangup, if not
// nil, is called when the hub drops the member for being too slow, to cut
// the connection at once.
func (h *Hub) NewMember(addr netip.Addr, hangup func()) *Member {
	return &Member{Addr: addr, q: newQueue(h.queueLen), hangup: hangup}
}

// Take waits for events for the member, appends every queued one to dst
// and returns it; it reports false once the member is out of the room and
// everything queued has been taken. One goroutine, the member's writer,
// calls it.
func (m *Member) Take(dst []*Event) ([]*Event, bool) { return m.q.take(dst) }

// Nick returns the member's nickname ("" before joining).
func (h *Hub) Nick(m *Member) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return m.nick
}

// send queues e for m without blocking, and reports whether it fit. The
// caller holds h.mu.
func (h *Hub) send(m *Member, e *Event) bool {
	return !m.gone && m.q.push(e)
}

// Tell sends e to m alone (errors, help, who). A member whose queue is full
// misses it.
func (h *Hub) Tell(m *Member, e *Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.send(m, e) && !m.gone {
		h.drop(m, leaveSlow)
	}
}

func (h *Hub) stamp(e *Event) *Event {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if e.Origin == "" {
		e.Origin = h.origin
		e.Seq = h.seq.Add(1)
	}
	return e
}

// broadcast delivers e to everyone here and publishes it to the other
// instances. The caller holds h.mu.
func (h *Hub) broadcast(e *Event) {
	h.stamp(e)
	h.deliver(e)
	if h.bus != nil {
		h.bus.Publish(e)
	}
}

// deliver gives e to every member here and keeps it in the history if it
// is a message. Members whose queues are full are dropped, and their
// leaving is announced in turn. The caller holds h.mu.
func (h *Hub) deliver(e *Event) {
	if h.histCap > 0 && (e.Type == TypeMsg || e.Type == TypeMe) {
		if len(h.history) == h.histCap {
			copy(h.history, h.history[1:])
			h.history = h.history[:h.histCap-1]
		}
		h.history = append(h.history, e)
	}
	var slow []*Member
	for _, m := range h.members {
		if !h.send(m, e) {
			slow = append(slow, m)
		}
	}
	for _, m := range slow {
		h.drop(m, leaveSlow)
	}
}

// drop removes m, closes its queue and announces why. The caller holds h.mu.
func (h *Hub) drop(m *Member, reason string) {
	if m.gone {
		return
	}
	h.remove(m)
	if m.hangup != nil && reason == leaveSlow {
		go m.hangup()
	}
	h.logger.Info("dropped", "nick", m.nick, "peer", m.Addr, "reason", reason)
	h.broadcast(&Event{Type: TypeLeave, Nick: m.nick, Text: reason})
}

// remove takes m out of the room and closes its queue. The caller holds
// h.mu.
func (h *Hub) remove(m *Member) {
	if m.gone {
		return
	}
	if m.nick != "" && h.members[foldNick(m.nick)] == m {
		delete(h.members, foldNick(m.nick))
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
	h.broadcast(&Event{Type: TypeJoin, Nick: nick})
	m.nick = nick
	h.members[foldNick(nick)] = m
	users := h.whoLocked()
	h.send(m, h.stamp(&Event{Type: TypeWelcome, Nick: nick, Users: users[:min(len(users), welcomeNames)], Count: len(users)}))
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
	h.broadcast(&Event{Type: TypeLeave, Nick: m.nick, Text: reason})
}

// Say sends a message from m to everyone.
func (h *Hub) Say(m *Member, text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !m.gone {
		h.broadcast(&Event{Type: TypeMsg, From: m.nick, Text: text})
	}
}

// Me sends an action from m to everyone.
func (h *Hub) Me(m *Member, text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !m.gone {
		h.broadcast(&Event{Type: TypeMe, From: m.nick, Text: text})
	}
}

// Private sends text from m to the member called to, and a copy to m.
func (h *Hub) Private(m *Member, to, text string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	dst, ok := h.members[foldNick(to)]
	if !ok {
		if h.bus != nil && h.bus.Holds(to) {
			e := h.stamp(&Event{Type: TypePrivate, From: m.nick, To: to, Text: text})
			h.bus.Publish(e)
			h.send(m, e)
			return nil
		}
		return fmt.Errorf("%w: %q", ErrNoSuchUser, to)
	}
	e := h.stamp(&Event{Type: TypePrivate, From: m.nick, To: dst.nick, Text: text})
	if !h.send(dst, e) {
		h.drop(dst, leaveSlow)
	}
	if dst != m {
		h.send(m, e)
	}
	return nil
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
	delete(h.members, foldNick(old))
	if h.bus != nil && !sameName {
		h.bus.Release(old)
	}
	m.nick = nick
	h.members[foldNick(nick)] = m
	h.broadcast(&Event{Type: TypeNick, Nick: old, NewNick: nick})
	return nil
}

// Who returns the nicknames in the room, sorted.
func (h *Hub) Who() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.whoLocked()
}

func (h *Hub) whoLocked() []string {
	names := make([]string, 0, len(h.members))
	for _, m := range h.members {
		names = append(names, m.nick)
	}
	if h.bus != nil {
		names = append(names, h.bus.Names()...)
	}
	// Sorted so that the names shown first are stable and findable.
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(foldNick(a), foldNick(b)) })
	return names
}

// Len returns how many members are in the room.
func (h *Hub) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.members)
}

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

// Notice tells this instance's members something about this instance
// alone, such as losing contact with the others; it is not published.
func (h *Hub) Notice(text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.deliver(h.stamp(&Event{Type: TypeSystem, Text: text}))
}

// Announce sends a notice from the server to everyone.
func (h *Hub) Announce(text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.broadcast(&Event{Type: TypeSystem, Text: text})
}

// Close announces that the server is shutting down and closes every
// member's queue, so transports write the notice and hang up. Other
// instances are told that this server's members left. Joins fail from then
// on.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	h.deliver(h.stamp(&Event{Type: TypeSystem, Text: "server shutting down; goodbye"}))
	for _, m := range h.members {
		if h.bus != nil {
			h.bus.Publish(h.stamp(&Event{Type: TypeLeave, Nick: m.nick, Text: "their server shut down"}))
		}
		h.remove(m)
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
