package chat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"runtime"
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
	// DefaultBatchAbove, DefaultBatchWindow and DefaultWriteEvery: in a
	// room of more than 64, joins and leaves that come faster than one
	// per 200 ms are announced together, one event per 200 ms, and each
	// member's events are written every 10 ms at most (see HubConfig).
	DefaultBatchAbove  = 64
	DefaultBatchWindow = 200 * time.Millisecond
	DefaultWriteEvery  = 10 * time.Millisecond
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
	clock    Clock
	queueLen int
	origin   string
	seq      atomic.Uint64

	batchAbove  int // -1: never batch
	batchWindow time.Duration
	writeEvery  time.Duration

	mu      sync.Mutex
	members map[string]*Member // by folded nick
	names   []string           // the members' nicks, in nickOrder
	history []*Event           // ring of the last events worth replaying
	histCap int
	bans    map[netip.Addr]time.Time
	closed  bool
	bus     Bus
	// Joins and leaves waiting to be announced together, in order, and
	// how many of them name each folded nick. There are some only while
	// window is open: the timer that announces them when it ends.
	pending      []change
	pendingNicks map[string]int
	window       *time.Timer
	// Members with events whose writer is to be started in the next
	// round, when wakeTimer fires.
	asleep    []*Member
	wakeTimer *time.Timer
	lastRound time.Time // when the last round started
}

// change is a join or a leave waiting in a batch.
type change struct {
	join   bool
	nick   string
	reason string // why a leave
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
	// WriteEvery is, in a room of more than BatchAbove members, how
	// often at most the events for each member are written (default 10
	// ms; -1: at once): events that come in between go out together, in
	// one write. A write is a system call per member, most of the work of
	// a big room, so rounds also wait for the previous one, and in a room
	// of n members are at least n × 10 µs apart, up to 100 ms at 10,000
	// members.
	WriteEvery time.Duration
	// BatchAbove and BatchWindow coalesce the announcements of joins and
	// leaves in a big room, where each one costs a line to every member:
	// when the room has more than BatchAbove members (default 64; -1:
	// never), a join or leave is announced at once and opens a window of
	// BatchWindow (default 200 ms); those that come during it are
	// announced together when it ends ("*** joined: a, b, c", over as many
	// lines of MaxListLine as it takes), and the next window opens. A
	// message, private message, kick or rename by or of someone waiting in
	// a batch sends the batch first, so that nobody is seen before their
	// join or after their leave.
	BatchAbove  int
	BatchWindow time.Duration
	// Clock is the hub's time (default SystemClock).
	Clock Clock
}

// NewHub returns an empty room.
func NewHub(cfg HubConfig) *Hub {
	h := &Hub{
		logger:       cfg.Logger,
		clock:        cfg.Clock,
		queueLen:     cfg.QueueLen,
		histCap:      cfg.History,
		batchAbove:   cfg.BatchAbove,
		batchWindow:  cfg.BatchWindow,
		members:      make(map[string]*Member),
		bans:         make(map[netip.Addr]time.Time),
		pendingNicks: make(map[string]int),
	}
	switch {
	case h.batchAbove == 0:
		h.batchAbove = DefaultBatchAbove
	case h.batchAbove < 0:
		h.batchAbove = -1
	}
	if h.batchWindow <= 0 {
		h.batchWindow = DefaultBatchWindow
	}
	h.writeEvery = cfg.WriteEvery
	if h.writeEvery == 0 {
		h.writeEvery = DefaultWriteEvery
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if h.clock == nil {
		h.clock = SystemClock
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
	asleep bool // in the hub's asleep list; guarded by the hub's mu
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
// calls it. A member whose events are drained (see Drain) is not taken
// from.
func (m *Member) Take(dst []*Event) ([]*Event, bool) { return m.q.take(dst) }

// Drain has the member's events written by write, in order, each call
// with every event queued at the time, from a goroutine that runs only
// while there are events to write: an idle member costs no goroutine. It
// is the alternative to a writer goroutine of the transport's calling
// Take, for transports that hold many idle members. end is called once:
// with nil when the member is out of the room and everything was written,
// or with write's error, after which nothing more is written and the
// transport should cut the connection. The channel returned is closed once
// end has returned. Call Drain before the member joins.
func (m *Member) Drain(write func([]*Event) error, end func(error)) <-chan struct{} {
	return m.q.drainTo(write, end)
}

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
	later := h.writeEvery > 0 && h.big()
	for _, m := range h.members {
		ok, asleep := m.q.pushLater(e, later)
		switch {
		case !ok:
			slow = append(slow, m)
		case asleep && !m.asleep:
			m.asleep = true
			h.asleep = append(h.asleep, m)
		}
	}
	if len(h.asleep) > 0 && h.wakeTimer == nil {
		h.wakeTimer = time.AfterFunc(h.nextRound(), h.wakeAll)
	}
	for _, m := range slow {
		h.drop(m, leaveSlow)
	}
}

// big reports whether the room is big enough for its joins and leaves to
// be batched and its deliveries written in rounds. The caller holds h.mu.
func (h *Hub) big() bool {
	return h.batchAbove >= 0 && len(h.members) > h.batchAbove
}

// wakeAll starts the writers of the members sent events since the last
// round. Rounds do not overlap: wakeTimer stays set while one runs, and
// what comes in meanwhile waits for the next, which starts roundGap after
// this one did, or at once if this one took longer. So the busier the
// room, the more events each write carries.
func (h *Hub) wakeAll() {
	h.mu.Lock()
	h.lastRound = time.Now()
	ms := h.asleep
	h.asleep = nil
	for _, m := range ms {
		m.asleep = false
	}
	h.mu.Unlock()
	for i, m := range ms {
		m.q.wake()
		if i%wakeChunk == wakeChunk-1 {
			// Let those started write before starting more: most write
			// at once and end, so that a round over 10,000 members has
			// a few dozen writers alive at a time rather than 10,000,
			// each with a goroutine and a stack the runtime keeps.
			runtime.Gosched()
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.wakeTimer = nil
	if len(h.asleep) > 0 {
		h.wakeTimer = time.AfterFunc(h.nextRound(), h.wakeAll)
	}
}

// nextRound is how long to wait before the next round: writeEvery after a
// quiet spell, which gathers a burst, and otherwise until roundGap after
// the last round started. The caller holds h.mu.
func (h *Hub) nextRound() time.Duration {
	return max(h.writeEvery, h.roundGap()-time.Since(h.lastRound))
}

// roundGap is the time from the start of one round of writes to the start
// of the next: writeEvery, or more in a room so big that a round costs
// more, so that writing takes about half a core at most however fast the
// messages come. The caller holds h.mu.
func (h *Hub) roundGap() time.Duration {
	return max(h.writeEvery, min(time.Duration(len(h.members))*roundPerMember, maxRoundGap))
}

// wakeChunk is how many writers a round starts before letting them run.
const wakeChunk = 32

// roundPerMember is about twice what a write costs, most of it the system
// call, on a small machine; maxRoundGap bounds the wait it adds.
const (
	roundPerMember = 10 * time.Microsecond
	maxRoundGap    = 100 * time.Millisecond
)

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
	h.announce(change{nick: m.nick, reason: reason})
}

// announce tells everyone of a join or a leave: at once in a small room or
// a quiet one, else with the others of the same window. The caller holds
// h.mu.
func (h *Hub) announce(c change) {
	big := h.big()
	if len(h.pending) == 0 && (h.window == nil || !big) {
		if c.join {
			h.broadcast(&Event{Type: TypeJoin, Nick: c.nick})
		} else {
			h.broadcast(&Event{Type: TypeLeave, Nick: c.nick, Text: c.reason})
		}
		if big {
			h.openWindow()
		}
		return
	}
	h.pending = append(h.pending, c)
	h.pendingNicks[foldNick(c.nick)]++
}

// openWindow starts a batching window unless one is open. The caller holds
// h.mu.
func (h *Hub) openWindow() {
	if h.window != nil || h.closed {
		return
	}
	var t *time.Timer
	t = time.AfterFunc(h.batchWindow, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.window != t || h.closed {
			return
		}
		h.window = nil
		if len(h.pending) > 0 {
			h.flushPending()
			// The burst goes on: so does the batching.
			h.openWindow()
		}
	})
	h.window = t
}

// flushFor announces the waiting joins and leaves if any of them names one
// of nicks, before an event from or about them. The caller holds h.mu.
func (h *Hub) flushFor(nicks ...string) {
	if len(h.pending) == 0 {
		return
	}
	for _, n := range nicks {
		if h.pendingNicks[foldNick(n)] > 0 {
			h.flushPending()
			return
		}
	}
}

// flushPending announces the waiting joins and leaves, in order: each run
// of joins as one batch, each run of leaves as one batch per reason. The
// caller holds h.mu.
func (h *Hub) flushPending() {
	p := h.pending
	h.pending = nil
	clear(h.pendingNicks)
	for _, e := range batchEvents(p) {
		h.broadcast(e)
	}
}

// batchEvents turns changes into the events that announce them. A name
// appears at most once in a run of joins (joining twice takes a leave in
// between), and likewise in a run of leaves, so a run's order among its
// names does not matter, only the order of the runs.
func batchEvents(changes []change) []*Event {
	var out []*Event
	for i := 0; i < len(changes); {
		j := i + 1
		for j < len(changes) && changes[j].join == changes[i].join {
			j++
		}
		run := changes[i:j]
		if run[0].join {
			names := make([]string, len(run))
			for k, c := range run {
				names[k] = c.nick
			}
			out = append(out, listEvents(TypeJoin, "", names)...)
		} else {
			// One batch per reason, in the order the reasons came.
			var reasons []string
			byReason := make(map[string][]string)
			for _, c := range run {
				if _, ok := byReason[c.reason]; !ok {
					reasons = append(reasons, c.reason)
				}
				byReason[c.reason] = append(byReason[c.reason], c.nick)
			}
			for _, r := range reasons {
				out = append(out, listEvents(TypeLeave, r, byReason[r])...)
			}
		}
		i = j
	}
	return out
}

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

// Say sends a message from m to everyone.
func (h *Hub) Say(m *Member, text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !m.gone {
		h.flushFor(m.nick)
		h.broadcast(&Event{Type: TypeMsg, From: m.nick, Text: text})
	}
}

// Me sends an action from m to everyone.
func (h *Hub) Me(m *Member, text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !m.gone {
		h.flushFor(m.nick)
		h.broadcast(&Event{Type: TypeMe, From: m.nick, Text: text})
	}
}

// Private sends text from m to the member called to, and a copy to m.
func (h *Hub) Private(m *Member, to, text string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.flushFor(m.nick, to)
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
	if len(h.pending) > 0 {
		h.flushPending()
	}
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
	if len(h.pending) > 0 {
		h.flushPending()
	}
	h.closed = true
	if h.window != nil {
		h.window.Stop()
		h.window = nil
	}
	h.deliver(h.stamp(&Event{Type: TypeSystem, Text: "server shutting down; goodbye"}))
	h.names = nil // everyone goes: no need to keep it sorted one by one
	var names []string
	for _, m := range h.members {
		names = append(names, m.nick)
		h.remove(m)
	}
	if h.bus != nil {
		for _, e := range listEvents(TypeLeave, "their server shut down", names) {
			h.bus.Publish(h.stamp(e))
		}
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
