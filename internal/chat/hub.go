package chat

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/netip"
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
	looks   map[string]*Member // by look key (see lookKeys)
	names   []string           // the members' nicks, in nickOrder
	history []*Event           // ring of the last events worth replaying
	histCap int
	bans    map[string]Ban // by Ban.key
	closed  bool
	bus     Bus
	// Joins and leaves waiting to be announced together, in order, and
	// how many of them name each folded nick. There are some only while
	// window is open: the timer that announces them when it ends.
	pending      []change
	pendingNicks map[string]int
	window       Timer
	// Members with events whose writer is to be started in the next
	// round, when wakeTimer fires.
	asleep    []*Member
	wakeTimer Timer
	lastRound time.Time // when the last round started
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
		looks:        make(map[string]*Member),
		bans:         make(map[string]Ban),
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

// Len returns how many members are in the room.
func (h *Hub) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.members)
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
