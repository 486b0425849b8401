package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"golang.org/x/time/rate"

	"github.com/netkit/netkit/internal/chat"
	"github.com/netkit/netkit/internal/suite"
)

// chatServerFlags are the chat room's settings, on `netkit serve` and
// `netkit chat serve`.
type chatServerFlags struct {
	adminToken string
	rate       float64
	burst      int
	history    int
	nats       string
}

func (f *chatServerFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.adminToken, "admin-token", "", "chat: let a client that sends /auth `TOKEN` act as admin (default $NETKIT_ADMIN_TOKEN; none: no remote admin)")
	fs.Float64Var(&f.rate, "chat-rate", chat.DefaultRate, "chat: lines per second a client may send after its burst")
	fs.IntVar(&f.burst, "chat-burst", chat.DefaultBurst, "chat: lines a client may send at once")
	fs.IntVar(&f.history, "chat-history", chat.DefaultHistory, "chat: messages a newcomer is shown (-1: none)")
	fs.StringVar(&f.nats, "nats", "", "chat: share the room with other instances through the NATS server at `URL` (nats://HOST:PORT, JetStream enabled)")
}

// token is the admin token given, by flag or environment.
func (f *chatServerFlags) token() string {
	if f.adminToken != "" {
		return f.adminToken
	}
	return os.Getenv("NETKIT_ADMIN_TOKEN")
}

// check refuses settings that cannot work, before anything is bound.
func (f *chatServerFlags) check() error {
	switch token := f.token(); {
	case token != "" && len(token) < 8:
		if f.adminToken == "" {
			return usagef("$NETKIT_ADMIN_TOKEN is %d characters: use at least 8", len(token))
		}
		return usagef("--admin-token is %d characters: use at least 8", len(token))
	case f.rate <= 0:
		return usagef("--chat-rate %v: want a positive number of lines a second", f.rate)
	case f.burst <= 0:
		return usagef("--chat-burst %d: want 1 or more", f.burst)
	case f.history < -1:
		return usagef("--chat-history %d: want 0 or more, or -1 for none", f.history)
	case f.nats != "" && !strings.HasPrefix(f.nats, "nats://") && !strings.HasPrefix(f.nats, "tls://"):
		shown := f.nats
		if u, err := url.Parse(f.nats); err == nil {
			shown = u.Redacted() // a password is not for the terminal's scrollback
		}
		return usagef("--nats %q: want a URL like nats://127.0.0.1:4222", shown)
	}
	return nil
}

func (f *chatServerFlags) apply(env *suite.Env) error {
	if err := f.check(); err != nil {
		return err
	}
	token := f.token()
	env.Chat = suite.ChatConfig{AdminToken: token, Rate: rate.Limit(f.rate), Burst: f.burst, History: f.history, NATS: f.nats}
	return nil
}

type chatFlags struct {
	clientFlags
	nick       string
	adminToken string
	plain      bool
	reconnect  int
}

func chatCommand(stdio IO) *command {
	var f chatFlags
	fs := flag.NewFlagSet("netkit chat", flag.ContinueOnError)
	f.register(fs)
	f.find.register(fs, "chat")
	fs.StringVar(&f.nick, "nick", "", "your `NAME` in the room (default: your login name)")
	fs.StringVar(&f.adminToken, "admin-token", "", "become admin with this `TOKEN` after joining (default $NETKIT_ADMIN_TOKEN)")
	fs.BoolVar(&f.plain, "plain", false, "plain line mode even on a terminal (the default when standard input is not one)")
	fs.IntVar(&f.reconnect, "reconnect", 8, "full-screen client: when the connection drops, try this many times, waiting 0.5 s, 1 s, 2 s... up to 8 s between, then exit 1 (0: never)")
	def := suite.ChatService.DefaultAddr("127.0.0.1", "listen")

	var sf chatServerFlags
	var console bool
	serve := serviceServeCommand(stdio, "chat", serveExtras{
		register: func(fs *flag.FlagSet) {
			sf.register(fs)
			fs.BoolVar(&console, "console", true, "read admin commands from standard input")
		},
		check: sf.check,
		setup: func(env *suite.Env) error { return sf.apply(env) },
		side: func(ctx context.Context, env *suite.Env) error {
			if !console {
				return nil
			}
			c := &chat.Console{Hub: env.ChatHub(), In: stdio.Stdin, Out: stdio.Stdout}
			return c.Run(ctx)
		},
	})
	serve.help = `
The terminal running the server is the admin console: each line typed is a
message from admin; /kick NICK [REASON], /ban NICK [DURATION] (the nickname),
/ban IP|CIDR [DURATION] (the addresses), /unban NICK|IP|CIDR, /bans, /who
(with addresses), /say TEXT and /quit (shut down, announcing it) work there.

Examples:
  netkit chat serve
  netkit chat serve --listen 0.0.0.0:7710 --tls
  NETKIT_ADMIN_TOKEN=s3cret-token netkit chat serve --console=false
  netkit chat serve --nats nats://10.0.0.5:4222   # one room across servers`

	return &command{
		name:    "chat",
		usage:   "chat [HOST:PORT] [--nick NAME] [flags]",
		summary: "join a chat room: type to talk, /help for commands",
		help: `
The address defaults to ` + def + `. On a terminal this is a full-screen
client (history, input line, who-list; Esc quits): long lines wrap, and
when the connection drops it joins again with the same nick (--reconnect
tries, then exit status 1). Otherwise, or with
--plain, lines from standard input are sent as messages and what the room
says is printed, so it can be scripted. Commands: /who, /me ACTION,
/msg NICK TEXT, /nick NEW, /quit, /help.

Examples:
  netkit chat --nick alice
  echo "hello all" | netkit chat 192.168.1.20 --nick bob
  netkit chat --nick ops --admin-token s3cret-token`,
		flags:    fs,
		maxArgs:  1,
		children: []*command{serve},
		check: func(args []string) error {
			if _, err := resolveAddr(firstArg(args), def); err != nil {
				return usagef("%v", err)
			}
			if err := f.check(fs); err != nil {
				return err
			}
			if f.reconnect < 0 {
				return usagef("--reconnect %d: want 0 or more tries", f.reconnect)
			}
			if f.adminToken == "" {
				f.adminToken = os.Getenv("NETKIT_ADMIN_TOKEN")
			} else if len(f.adminToken) < 8 {
				return usagef("--admin-token is %d characters: a server takes 8 or more", len(f.adminToken))
			}
			if f.nick == "" {
				f.nick = os.Getenv("USER")
				if f.nick == "" {
					return usagef("--nick NAME: give your name in the room ($USER, the default, is not set)")
				}
			}
			if err := chat.CheckNick(f.nick); err != nil {
				return usagef("--nick %q: %v", f.nick, strings.TrimPrefix(err.Error(), "chat: "))
			}
			return nil
		},
		run: func(ctx context.Context, args []string) error {
			addr, _ := resolveAddr(firstArg(args), def)
			addr, err := f.find.target(ctx, stdio, firstArg(args) != "", addr, f.timeout)
			if err != nil {
				return err
			}
			if !f.plain && isTerminal(stdio.Stdin) && isTerminal(stdio.Stdout) {
				return runChatTUI(ctx, stdio, &f, addr)
			}
			return runChatLines(ctx, stdio, &f, addr)
		},
	}
}

// joinChat connects, checks the greeting and gives the nickname. It returns
// the connection, its reader, and the server's welcome line.
func joinChat(ctx context.Context, f *chatFlags, addr string) (net.Conn, *bufio.Reader, string, error) {
	conn, err := f.dial(ctx, addr)
	if err != nil {
		return nil, nil, "", err
	}
	fail := func(err error) (net.Conn, *bufio.Reader, string, error) {
		conn.Close()
		return nil, nil, "", err
	}
	r := bufio.NewReader(conn)
	conn.SetDeadline(time.Now().Add(f.timeout))
	// The nickname goes out at once, before the greeting: the room reads
	// it after greeting, and a server that is not a chat room (or a TLS
	// one, which waits for a handshake) answers at once with something
	// else instead of leaving both sides waiting.
	fmt.Fprintf(conn, "%s\n", f.nick)
	greeting, err := r.ReadString('\n')
	switch {
	case isTLSNotice([]byte(greeting)):
		return fail(errPlainOnTLS(addr))
	case err != nil && isTimeout(err):
		return fail(fmt.Errorf("no greeting from %s within %s: is it a netkit chat server?", addr, f.timeout))
	case err != nil || greeting != chat.Greeting:
		return fail(errNotServer(addr, "a netkit chat server", []byte(greeting)))
	}
	welcome, err := r.ReadString('\n')
	if err != nil {
		return fail(fmt.Errorf("%s closed the connection: %w", addr, err))
	}
	if msg, ok := strings.CutPrefix(welcome, "error: "); ok {
		return fail(fmt.Errorf("nickname %q refused: %s", f.nick, strings.TrimSpace(msg)))
	}
	conn.SetDeadline(time.Time{})
	if f.adminToken != "" {
		fmt.Fprintf(conn, "/auth %s\n", f.adminToken)
	}
	return conn, r, strings.TrimRight(welcome, "\r\n"), nil
}

// runChatLines is the scriptable client: standard input to the room, the
// room to standard output.
func runChatLines(ctx context.Context, stdio IO, f *chatFlags, addr string) error {
	conn, r, welcome, err := joinChat(ctx, f, addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	fmt.Fprintln(stdio.Stdout, welcome)

	go func() {
		if _, err := io.Copy(conn, stdio.Stdin); err == nil {
			// End of input: leave politely and let the server close.
			io.WriteString(conn, "/quit\n")
		}
	}()
	_, err = io.Copy(stdio.Stdout, r)
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("connection to %s: %w", addr, err)
	}
	return nil
}

// isTerminal reports whether v (standard input or output) is a terminal.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// ignoreQuit turns the console's /quit into a clean exit.
func ignoreQuit(err error) error {
	if errors.Is(err, chat.ErrConsoleQuit) {
		return nil
	}
	return err
}
