package chat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/netkit/netkit/internal/service"
)

// Greeting is the first line a TCP client receives.
const Greeting = "Welcome to netkit chat. Choose a nickname:\n"

// Defaults for the flood control of Handler, used where a field is zero.
// In the manner of ergo's fakelag: a burst of lines goes through at once,
// past it lines are slowed to Rate; a client that keeps pushing is warned,
// then dropped.
const (
	DefaultRate      = 2 // lines per second, after the burst
	DefaultBurst     = 8
	DefaultFloodWarn = 10 // throttled lines in a row before the warning
	DefaultFloodDrop = 20 // throttled lines in a row before the drop
	maxNickTries     = 10
	maxBatch         = 64 << 10
)

// Handler serves the chat over the line protocol: TCP, optionally TLS,
// usable by hand with nc. Set Hub; the other fields have defaults.
type Handler struct {
	Hub *Hub
	// AdminToken, when set, lets a client that sends "/auth TOKEN" act as
	// admin. Empty means no remote admin.
	AdminToken string
	// Rate and Burst bound each client's lines (defaults 2/s and 8).
	Rate  rate.Limit
	Burst int
	// FloodWarn and FloodDrop are the counts of throttled lines in a row
	// at which a client is warned and dropped (defaults 10 and 20).
	FloodWarn, FloodDrop int
	// JoinTimeout bounds the time from connecting to choosing an accepted
	// nickname (default DefaultJoinTimeout), over TCP and WebSocket alike.
	// Once in the room a member is never dropped for being silent: people
	// keep a chat open and read for hours. A dead peer is found by TCP
	// keepalive (service.KeepAlive) and, over WebSocket, by pings; one
	// that stops reading, by the write timeout.
	JoinTimeout time.Duration

	authOnce sync.Once
	auth     *authGuard
}

// guard returns the admin token's guard, shared by every connection the
// Handler serves, whatever its transport.
func (h *Handler) guard() *authGuard {
	h.authOnce.Do(func() { h.auth = newAuthGuard(h.AdminToken, h.Hub.clock, h.Hub.logger) })
	return h.auth
}

// DefaultJoinTimeout is Handler's default JoinTimeout.
const DefaultJoinTimeout = 30 * time.Second

func (h *Handler) joinTimeout() time.Duration {
	if h.JoinTimeout <= 0 {
		return DefaultJoinTimeout
	}
	return h.JoinTimeout
}

// ServeConn runs one client: nickname, then messages and commands, with a
// writer goroutine delivering the room's events.
func (h *Handler) ServeConn(ctx context.Context, c *service.Conn) error {
	if _, err := c.WriteString(Greeting); err != nil {
		return err
	}
	m := h.Hub.NewMember(c.Peer(), func() { c.Close() })
	var readerDone atomic.Bool
	written := m.Drain(func(batch []*Event) error { return writeLines(c, batch) }, func(err error) {
		if err != nil {
			// The client does not take what is sent (write timeout) or
			// is gone: cut the connection so the reader sees it too.
			c.Close()
			return
		}
		if readerDone.Load() {
			return
		}
		// The hub closed the queue: the member was kicked or banned.
		// The notice is written; send FIN so the client sees the end
		// after it, and cut the reader loose shortly after. Closing at
		// once could turn unread input into a reset that destroys the
		// notice.
		c.CloseWrite()
		time.AfterFunc(time.Second, func() { c.Close() })
	})
	late := time.AfterFunc(h.joinTimeout(), func() {
		c.WriteString("error: no nickname chosen within " + h.joinTimeout().String() + "; goodbye\n")
		c.Close()
	})
	joined, err := h.join(ctx, c, m)
	if !late.Stop() && err != nil {
		err = fmt.Errorf("chat: no nickname within %v", h.joinTimeout())
	}
	if !joined {
		return err
	}
	// A member is never dropped for silence: reading a lively room for
	// hours is what people do. Keepalive finds dead peers, the write
	// timeout those that stop reading.
	c.SetIdleTimeout(0)
	reason, err := h.readLoop(ctx, c, m)
	readerDone.Store(true)
	h.Hub.Leave(m, reason)
	<-written
	return err
}

// join asks for a nickname until one is accepted, and reports whether one
// was. A client that leaves before choosing is no error.
func (h *Handler) join(ctx context.Context, c *service.Conn, m *Member) (bool, error) {
	for range maxNickTries {
		line, err := c.ReadLine()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		nick, err := CleanText(line)
		if err == nil {
			err = joinAside(ctx, h.Hub, m, nick)
		}
		if err == nil {
			return true, nil
		}
		if _, werr := c.Write(errorEvent(err).Line()); werr != nil {
			return false, werr
		}
		if errors.Is(err, ErrBanned) {
			return false, err
		}
		if _, err := c.WriteString("Choose a nickname:\n"); err != nil {
			return false, err
		}
	}
	c.WriteString("error: too many tries; goodbye\n")
	return false, errors.New("chat: no acceptable nickname")
}

// joinAside joins m to hub on a goroutine of its own and waits for it.
// The reader's goroutine lives as long as the connection, and a goroutine's
// stack keeps the size its deepest call gave it: joining, which logs,
// would double it for good, where reading a line needs little.
func joinAside(ctx context.Context, hub *Hub, m *Member, nick string) error {
	errc := make(chan error, 1)
	go func() { errc <- hub.Join(ctx, m, nick) }()
	return <-errc
}

// writeEvents writes the member's events as lines until the member is out
// of the room or a write fails (the reader then finds the connection dead
// and the member leaves). It reports whether it ended because the member
// left rather than on a failed write.
func writeEvents(w io.Writer, m *Member) bool {
	var batch []*Event
	for {
		var ok bool
		batch, ok = m.Take(batch[:0])
		err := writeLines(w, batch)
		clear(batch)
		if cap(batch) > 64 {
			batch = nil // do not keep a burst's array for an idle member
		}
		if err != nil {
			return false
		}
		if !ok {
			return true
		}
	}
}

// writeLines writes batch as lines, in as few writes as possible.
// linesPool holds the buffers writeLines gathers a batch's lines in: the
// writers of a big room come and go by the thousand each round.
var linesPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func writeLines(w io.Writer, batch []*Event) error {
	if len(batch) == 1 {
		_, err := w.Write(batch[0].Line())
		return err
	}
	bp := linesPool.Get().(*[]byte)
	defer linesPool.Put(bp)
	buf := (*bp)[:0]
	defer func() { *bp = buf[:0] }()
	for _, e := range batch {
		buf = append(buf, e.Line()...)
		if len(buf) >= maxBatch {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if len(buf) > 0 {
		_, err := w.Write(buf)
		return err
	}
	return nil
}

// readLoop handles the client's lines until it quits or fails; it returns
// the reason to announce and the error for the log.
func (h *Handler) readLoop(ctx context.Context, c *service.Conn, m *Member) (string, error) {
	s := h.newSession(m)
	for {
		line, err := c.ReadLine()
		if err != nil {
			return leaveReason(err), err
		}
		if quit, reason, err := s.handle(ctx, line); quit {
			return reason, err
		}
	}
}

// session is one member's input side, whatever the transport: flood
// control, then cleaning, parsing and carrying out each line.
type session struct {
	h              *Handler
	m              *Member
	lim            *rate.Limiter
	warnAt, dropAt int
	throttled      int
}

func (h *Handler) newSession(m *Member) *session {
	return &session{
		h: h, m: m,
		lim:    rate.NewLimiter(orRate(h.Rate, DefaultRate), orInt(h.Burst, DefaultBurst)),
		warnAt: orInt(h.FloodWarn, DefaultFloodWarn),
		dropAt: orInt(h.FloodDrop, DefaultFloodDrop),
	}
}

// handle takes one line from the member. It reports whether the member is
// leaving, with the reason to announce and, for a drop, the error to log.
func (s *session) handle(ctx context.Context, line []byte) (bool, string, error) {
	if quit, reason, err := s.pace(ctx); quit {
		return quit, reason, err
	}
	hub := s.h.Hub
	text, err := CleanText(line)
	if err != nil {
		hub.Tell(s.m, errorEvent(err))
		return false, "", nil
	}
	if text == "" {
		return false, "", nil
	}
	quit, reason := s.h.do(ctx, s.m, text)
	return quit, reason, nil
}

// reject takes one input from the member that cannot be carried out, such
// as a WebSocket message that is not JSON, and tells the member alone why,
// with the flood control of a line. It reports whether the member is
// leaving, as handle does.
func (s *session) reject(ctx context.Context, why error) (bool, string, error) {
	if quit, reason, err := s.pace(ctx); quit {
		return quit, reason, err
	}
	s.h.Hub.Tell(s.m, errorEvent(why))
	return false, "", nil
}

// pace holds one input of the member's to its rate: it waits its turn
// when over the burst, and warns, then drops, a member that keeps
// pushing. It reports whether the member is leaving, as handle does.
func (s *session) pace(ctx context.Context) (bool, string, error) {
	hub := s.h.Hub
	if d := s.lim.Reserve().Delay(); d > 0 {
		s.throttled++
		switch {
		case s.throttled >= s.dropAt:
			hub.Tell(s.m, &Event{Type: TypeError, Text: "flooding; disconnected", Time: time.Now()})
			return true, leaveFlood, errors.New("chat: flooding")
		case s.throttled == s.warnAt:
			hub.Tell(s.m, &Event{Type: TypeError, Text: "you are sending too fast; slow down or you will be disconnected", Time: time.Now()})
		}
		// Fake lag: the line waits its turn, and so does the client.
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return true, leaveServerClosed, ctx.Err()
		}
	} else {
		s.throttled = 0
	}
	return false, "", nil
}

// do carries out one line. It reports whether the client asked to quit.
func (h *Handler) do(ctx context.Context, m *Member, text string) (bool, string) {
	cmd, err := ParseLine(text)
	if err == nil {
		var quit bool
		var reason string
		quit, reason, err = h.run(ctx, m, cmd)
		if quit {
			return true, reason
		}
	}
	if err != nil {
		h.Hub.Tell(m, errorEvent(err))
	}
	return false, ""
}

func (h *Handler) run(ctx context.Context, m *Member, cmd Command) (bool, string, error) {
	hub := h.Hub
	switch cmd.Op {
	case OpSay:
		hub.Say(m, cmd.Text)
	case OpMe:
		hub.Me(m, cmd.Text)
	case OpMsg:
		return false, "", hub.Private(m, cmd.Target, cmd.Text)
	case OpNick:
		return false, "", hub.Rename(ctx, m, cmd.Target)
	case OpWho:
		if m.Admin {
			hub.Tell(m, hub.WhoFrom())
		} else {
			hub.Tell(m, &Event{Type: TypeWho, Users: hub.Who(), Time: time.Now()})
		}
	case OpHelp:
		hub.Tell(m, &Event{Type: TypeHelp, Text: HelpText, Time: time.Now()})
	case OpQuit:
		if cmd.Text != "" {
			return true, leaveQuit + ": " + cmd.Text, nil
		}
		return true, leaveQuit, nil
	case OpAuth:
		if err := h.guard().check(m.Addr, hub.Nick(m), cmd.Text); err != nil {
			return false, "", err
		}
		m.Admin = true
		hub.Tell(m, &Event{Type: TypeSystem, Text: "you are an admin now: /kick, /ban, /unban and /bans are yours, and /who says where each is from", Time: time.Now()})
	case OpKick, OpBan, OpUnban, OpBans:
		if !m.Admin {
			return false, "", fmt.Errorf("%w: /auth TOKEN first", ErrNotAdmin)
		}
		return false, "", Admin(hub, m, cmd, func(e *Event) { hub.Tell(m, e) })
	}
	return false, "", nil
}

// Admin carries out an admin command of the admin member by, telling the
// admin the outcome through tell.
func Admin(hub *Hub, by *Member, cmd Command, tell func(*Event)) error {
	switch cmd.Op {
	case OpKick:
		return hub.Kick(hub.Nick(by), cmd.Target, cmd.Text)
	case OpBan:
		var d time.Duration
		if cmd.Text != "" {
			var err error
			if d, err = time.ParseDuration(cmd.Text); err != nil || d <= 0 {
				return fmt.Errorf("%w: /ban NICK|IP|CIDR [DURATION], a duration like 10m or 2h", ErrUsage)
			}
		}
		done, err := hub.Ban(by, cmd.Target, d)
		if err == nil {
			tell(&Event{Type: TypeSystem, Text: done, Time: time.Now()})
		}
		return err
	case OpUnban:
		done, _ := hub.Unban(cmd.Target)
		tell(&Event{Type: TypeSystem, Text: done, Time: time.Now()})
	case OpBans:
		tell(bansEvent(hub.Bans(), hub.clock.Now()))
	}
	return nil
}

func leaveReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF):
		return leaveQuit
	case errors.Is(err, service.ErrServerClosed):
		return leaveServerClosed
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, net.ErrClosed):
		return "closed"
	}
	return "error: " + strings.TrimPrefix(err.Error(), "service: ")
}

func orRate(v, def rate.Limit) rate.Limit {
	if v == 0 {
		return def
	}
	return v
}

func orInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}
