package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/netkit/netkit/internal/chat"
	"github.com/netkit/netkit/internal/chat/tui"
)

// Reconnection backoff of the full-screen client: the first wait, doubled
// after each failed try up to the last.
const (
	reconnectFirst = 500 * time.Millisecond
	reconnectMax   = 8 * time.Second
)

// errGaveUp ends the full-screen client when the room cannot be joined
// again: exit status 1.
var errGaveUp = errors.New("gave up")

// tuiSession is the full-screen client's connection, replaced when it
// drops and is made again. send writes to whichever is current.
type tuiSession struct {
	f    *chatFlags
	addr string

	mu      sync.Mutex
	conn    net.Conn // nil while down
	nick    string   // the nick joined as, following /nick
	quit    bool     // the user asked to leave: do not reconnect
	stopped chan struct{}
}

func (s *tuiSession) send(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.EqualFold(line, "/quit") || strings.HasPrefix(strings.ToLower(line), "/quit ") {
		s.quit = true
	}
	if s.conn == nil {
		return
	}
	s.conn.SetWriteDeadline(time.Now().Add(s.f.timeout))
	io.WriteString(s.conn, line+"\n")
}

func (s *tuiSession) set(conn net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conn = conn
}

func (s *tuiSession) leaving() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.quit
}

// stop marks the session over and closes its connection.
func (s *tuiSession) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quit = true
	if s.conn != nil {
		s.conn.Close()
	}
	select {
	case <-s.stopped:
	default:
		close(s.stopped)
	}
}

// runChatTUI is the full-screen client, for a terminal. When the
// connection drops it joins again with backoff, keeping the nick when it is
// free, and exits 1 when it gives up.
func runChatTUI(ctx context.Context, stdio IO, f *chatFlags, addr string) error {
	conn, r, welcome, err := joinChat(ctx, f, addr)
	if err != nil {
		return err
	}
	s := &tuiSession{f: f, addr: addr, nick: f.nick, conn: conn, stopped: make(chan struct{})}
	model := tui.New(f.nick, addr, s.send)
	p := tea.NewProgram(model, tea.WithContext(ctx), tea.WithInput(stdio.Stdin), tea.WithOutput(stdio.Stdout))
	gaveUp := make(chan error, 1)
	go func() {
		p.Send(tui.LineMsg(welcome))
		for {
			readErr, kicked := s.pump(p, r)
			s.set(nil)
			conn.Close()
			if s.leaving() || ctx.Err() != nil {
				return
			}
			if kicked {
				err := fmt.Errorf("%s: you were removed from the room", addr)
				gaveUp <- err
				p.Send(tui.GaveUpMsg{Err: err})
				return
			}
			conn, r, welcome, err = s.rejoin(ctx, p, readErr)
			if err != nil {
				if !s.leaving() && ctx.Err() == nil {
					gaveUp <- err
					p.Send(tui.GaveUpMsg{Err: err})
				}
				return
			}
			s.set(conn)
			p.Send(tui.ConnectedMsg{Nick: s.nick, Welcome: welcome})
		}
	}()
	_, err = p.Run()
	s.stop()
	select {
	case err := <-gaveUp:
		return err
	default:
	}
	if errors.Is(err, tea.ErrProgramKilled) || ctx.Err() != nil {
		return ErrInterrupted
	}
	return err
}

// pump hands the room's lines to the program until the connection ends,
// following renames of our nick; kicked reports that the room removed us.
func (s *tuiSession) pump(p *tea.Program, r *bufio.Reader) (err error, kicked bool) {
	for {
		line, err := r.ReadString('\n')
		if line != "" {
			line = strings.TrimRight(line, "\r\n")
			s.follow(line)
			if strings.HasPrefix(line, "*** "+s.nick+" was kicked by ") || strings.HasPrefix(line, "error: banned") {
				kicked = true
			}
			p.Send(tui.LineMsg(line))
		}
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				err = nil
			}
			return err, kicked
		}
	}
}

// follow keeps s.nick up to date with the room's renames of it.
func (s *tuiSession) follow(line string) {
	rc, ok := chat.ParseRoster(line)
	if !ok || !rc.Rename || len(rc.Remove) == 0 || len(rc.Add) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.EqualFold(rc.Remove[0], s.nick) {
		s.nick = rc.Add[0]
	}
}

// rejoin tries to join again, f.reconnect times with a doubling wait. A
// nick taken meanwhile is traded for nick_ (the room keeps a dropped
// member a moment, or someone took it).
func (s *tuiSession) rejoin(ctx context.Context, p *tea.Program, why error) (net.Conn, *bufio.Reader, string, error) {
	if s.f.reconnect == 0 {
		return nil, nil, "", fmt.Errorf("%s closed the connection (--reconnect 0)", s.addr)
	}
	wait := reconnectFirst
	last := why
	for attempt := 1; attempt <= s.f.reconnect; attempt++ {
		p.Send(tui.DisconnectedMsg{Err: last, Attempt: attempt, Of: s.f.reconnect, Wait: wait})
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, nil, "", ctx.Err()
		case <-s.stopped:
			return nil, nil, "", errors.New("stopped")
		}
		wait = min(2*wait, reconnectMax)
		for _, nick := range []string{s.nick, s.nick + "_"} {
			g := *s.f
			g.nick = nick
			conn, r, welcome, err := joinChat(ctx, &g, s.addr)
			if err == nil {
				s.mu.Lock()
				s.nick = nick
				s.mu.Unlock()
				return conn, r, welcome, nil
			}
			last = err
			if !strings.Contains(err.Error(), "in use") && !strings.Contains(err.Error(), "taken") {
				break
			}
		}
	}
	return nil, nil, "", fmt.Errorf("%w reconnecting to %s after %d tries: %v", errGaveUp, s.addr, s.f.reconnect, last)
}
