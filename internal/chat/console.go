package chat

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"
)

// Console is the admin's terminal: every line typed is a message from
// admin, and the admin commands work without a token. /quit asks the
// server to shut down.
type Console struct {
	Hub *Hub
	In  io.Reader
	Out io.Writer
}

// ErrConsoleQuit is returned by Console.Run when the admin types /quit.
var ErrConsoleQuit = errors.New("chat: admin asked to shut down")

// Run joins the room as admin, prints the room's events to Out, and reads
// commands from In until /quit (ErrConsoleQuit), the end of In (nil: the
// server goes on without a console), or ctx is done.
func (c *Console) Run(ctx context.Context) error {
	m := c.Hub.NewMember(netip.Addr{}, nil)
	m.Admin = true
	if err := c.Hub.Join(ctx, m, AdminNick); err != nil {
		return fmt.Errorf("chat: console: %w", err)
	}
	printed := make(chan struct{})
	go func() {
		defer close(printed)
		writeEvents(c.Out, m)
	}()
	defer func() {
		c.Hub.Leave(m, "console closed")
		<-printed
	}()

	lines := make(chan string)
	readErr := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(c.In)
		sc.Buffer(make([]byte, 4096), MaxTextLen*4)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		readErr <- sc.Err()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-readErr:
			return err
		case line := <-lines:
			text, err := CleanText([]byte(line))
			if err != nil {
				c.Hub.Tell(m, errorEvent(err))
				continue
			}
			if text == "" {
				continue
			}
			if quit := c.do(m, text); quit {
				return ErrConsoleQuit
			}
		}
	}
}

func (c *Console) do(m *Member, text string) bool {
	cmd, err := ParseLine(text)
	if err == nil {
		switch cmd.Op {
		case OpQuit:
			return true
		case OpSay:
			c.Hub.Say(m, cmd.Text)
		case OpMe:
			c.Hub.Me(m, cmd.Text)
		case OpMsg:
			err = c.Hub.Private(m, cmd.Target, cmd.Text)
		case OpWho:
			c.Hub.Tell(m, c.Hub.WhoFrom())
		case OpHelp:
			c.Hub.Tell(m, &Event{Type: TypeHelp, Text: ConsoleHelp, Time: time.Now()})
		case OpKick, OpBan, OpUnban, OpBans:
			err = Admin(c.Hub, m, cmd, func(e *Event) { c.Hub.Tell(m, e) })
		default:
			err = fmt.Errorf("%w on the console; try /help", ErrUnknownCommand)
		}
	}
	if err != nil {
		c.Hub.Tell(m, errorEvent(err))
	}
	return false
}

// ConsoleHelp lists the admin console's commands.
const ConsoleHelp = `admin console: every line is a message from admin
  /who                 who is here
  /say TEXT            a message (same as typing TEXT)
  /me ACTION           an action
  /msg NICK TEXT       a private message
  /kick NICK [REASON]  remove someone
  /ban NICK [DUR]      remove and keep the nickname out (default 1h)
  /ban IP|CIDR [DUR]   keep addresses out, removing all from them
  /unban NICK|IP|CIDR  lift a ban
  /bans                the bans in force, with the time left
  /quit                shut the server down, announcing it`
