package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/netkit/netkit/internal/certs"
	"github.com/netkit/netkit/internal/fernet"
	"github.com/netkit/netkit/internal/msg"
	"github.com/netkit/netkit/internal/msg/envelope"
	"github.com/netkit/netkit/internal/suite"
)

// msgKeyFlags are how a message client gets its key.
type msgKeyFlags struct {
	keyFile   string
	serverKey string
}

func (f *msgKeyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.keyFile, "key-file", "", "message keys from `FILE`, one a line, newest first (default $NETKIT_KEY, comma-separated)")
	fs.StringVar(&f.serverKey, "server-key", "", "seal messages to the server's X25519 public key (`FILE`.pub from 'netkit keygen --pair', or the key itself): no shared key needed")
}

func (f *msgKeyFlags) load() (*fernet.Fernet, *[32]byte, error) {
	if f.serverKey != "" {
		k, err := msg.LoadPublicKey(f.serverKey)
		if err != nil {
			return nil, nil, err
		}
		return nil, &k, nil
	}
	keys, err := msg.LoadKeys(f.keyFile, os.Getenv(msg.KeyEnv))
	return keys, nil, err
}

// msgServerFlags configure the message service on `netkit serve` and
// `netkit msg serve`.
type msgServerFlags struct {
	keyFile   string
	boxKey    string
	ttl       time.Duration
	clientTTL time.Duration
	replayMax int
}

func (f *msgServerFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.keyFile, "key-file", "", "msg: message keys from `FILE`, one a line: the first seals answers, any opens requests (default $NETKIT_KEY, comma-separated)")
	fs.StringVar(&f.boxKey, "box-key", "", "msg: also take envelopes sealed to this X25519 key pair (`FILE` from 'netkit keygen --pair')")
	fs.DurationVar(&f.ttl, "ttl", msg.DefaultTTL, "msg: refuse tokens older than this; ids are remembered this long against replays")
	fs.DurationVar(&f.clientTTL, "udp-client-ttl", msg.DefaultUDPClientTTL, "msg: a UDP client gets broadcasts this long after its handshake")
	fs.IntVar(&f.replayMax, "replay-max", msg.DefaultReplayEntries, "msg: most message ids remembered; when full, new messages are refused until old ones expire")
}

// check refuses values that cannot work, before anything is bound.
func (f *msgServerFlags) check() error {
	switch {
	case f.ttl <= 0:
		return usagef("--ttl %v: want a positive duration", f.ttl)
	case f.clientTTL <= 0:
		return usagef("--udp-client-ttl %v: want a positive duration", f.clientTTL)
	case f.replayMax <= 0:
		return usagef("--replay-max %d: want a positive number of ids", f.replayMax)
	}
	if f.keyFile != "" {
		if err := checkReadable("key-file", f.keyFile); err != nil {
			return err
		}
	}
	if f.boxKey != "" {
		return checkReadable("box-key", f.boxKey)
	}
	return nil
}

// apply loads the keys into env. With required, a missing key is an
// error; without, the msg service is left out.
func (f *msgServerFlags) apply(env *suite.Env, required bool) error {
	if err := f.check(); err != nil {
		return err
	}
	cfg := suite.MsgConfig{TTL: f.ttl, UDPClientTTL: f.clientTTL, MaxReplay: f.replayMax, Required: required}
	keys, err := msg.LoadKeys(f.keyFile, os.Getenv(msg.KeyEnv))
	switch {
	case err == nil:
		cfg.Keys = keys
	case !errors.Is(err, msg.ErrNoKey) || f.keyFile != "":
		return err
	}
	if f.boxKey != "" {
		kp, err := msg.LoadKeyPair(f.boxKey)
		if err != nil {
			return err
		}
		cfg.Box = kp
	}
	env.Msg = cfg
	return nil
}

type msgFlags struct {
	clientFlags
	keys     msgKeyFlags
	via      string
	to       string
	json     bool
	verbose  bool
	name     string
	discover bool
}

func (f *msgFlags) register(fs *flag.FlagSet) {
	f.clientFlags.register(fs)
	f.keys.register(fs)
	choiceVar(fs, &f.via, "via", "http", "transport: `http`, udp or ws", "http", "udp", "ws")
	fs.StringVar(&f.to, "to", "", "the server's `HOST:PORT`: its web port for http and ws (default 127.0.0.1:7700), its msg port for udp (default 127.0.0.1:7742)")
	fs.BoolVar(&f.json, "json", false, "print the whole answer envelope as JSON")
	fs.BoolVar(&f.verbose, "v", false, "with --via http: print the request and response lines and headers, as curl -v does")
	fs.StringVar(&f.name, "name", "", "sender name (default: your user name)")
	fs.BoolVar(&f.discover, "discover", false, "find the server on the local network (mDNS): the one holding this key, or ask which when several do")
}

// check refuses flags that cannot work, before anything is dialled.
func (f *msgFlags) check(fs *flag.FlagSet) error {
	if err := f.clientFlags.check(fs); err != nil {
		return err
	}
	switch {
	case f.discover && f.to != "":
		return usagef("--to and --discover do not go together")
	case f.verbose && f.via != "http":
		return usagef("-v traces HTTP: it goes with --via http")
	case f.tls && f.via == "udp":
		return usagef("--tls goes with --via http or ws: UDP tokens are already sealed")
	case len(f.name) > envelope.MaxSender:
		return usagef("--name: at most %d bytes", envelope.MaxSender)
	}
	if f.to != "" {
		_, port, err := net.SplitHostPort(f.to)
		switch {
		case err != nil:
			return usagef("--to %q: want HOST:PORT", f.to)
		case checkPort(port) != nil || port == "0":
			return usagef("--to %q: want a port from 1 to 65535", f.to)
		}
	}
	for name, file := range map[string]string{"key-file": f.keys.keyFile, "server-key": f.keys.serverKey} {
		if file == "" || (name == "server-key" && isKeyText(file)) {
			continue
		}
		if err := checkReadable(name, file); err != nil {
			return err
		}
	}
	return nil
}

func isKeyText(s string) bool {
	_, err := envelope.DecodeKey(s)
	return err == nil
}

// client builds the msg.Client these flags describe.
func (f *msgFlags) client(ctx context.Context, stdio IO, cmd string) (*msg.Client, error) {
	def := suite.ServicesDefault("web")
	if f.via == "udp" {
		def = suite.ServicesDefault("msg")
	}
	addr, err := resolveAddr(f.to, def)
	if err != nil {
		return nil, &UsageError{Cmd: cmd, Err: fmt.Errorf("--to: %w", err)}
	}
	keys, serverKey, err := f.keys.load()
	if err != nil {
		return nil, err
	}
	if f.discover {
		var fk []*fernet.Key
		pub := ""
		if keys != nil {
			fk = keys.Keys()
		}
		if serverKey != nil {
			pub = envelope.EncodeKey(*serverKey)
		}
		s, err := discoverServer(ctx, stdio, fk, pub, min(f.timeout, 2*time.Second), "")
		if err != nil {
			return nil, err
		}
		addr = s.Addr().String()
		if f.via == "udp" {
			if addr = msgAddr(s); addr == "" {
				return nil, fmt.Errorf("%s runs no msg UDP service: use --via http or ws", s.Name)
			}
		}
	}
	c := &msg.Client{Via: f.via, Addr: addr, Keys: keys, ServerKey: serverKey, Sender: senderName(f.name), Timeout: f.timeout}
	if f.tls {
		minVer, err := parseTLSVersion(f.tlsMin)
		if err != nil {
			return nil, err
		}
		host, _, _ := net.SplitHostPort(addr)
		cfg, err := certs.ClientOptions{CAFile: f.ca, Fingerprint: f.fingerprint, Insecure: f.insecure, MinVersion: minVer, ServerName: host}.Config()
		if err != nil {
			return nil, err
		}
		c.TLS = cfg
	}
	return c, nil
}

// senderName is --name, else the operating system's user name.
func senderName(name string) string {
	if name != "" {
		return name
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if n := os.Getenv("USER"); n != "" {
		return n
	}
	return "netkit"
}

func msgCommand(stdio IO) *command {
	var f msgFlags
	fs := flag.NewFlagSet("netkit msg", flag.ContinueOnError)
	f.register(fs)
	return &command{
		name:    "msg",
		usage:   "msg [--via http|udp|ws] [--to HOST:PORT] TYPE [BODY] [flags]",
		summary: "send an encrypted JSON message (Fernet) and print the decrypted answer",
		help: `
TYPE is handshake, ping, time, echo or broadcast. BODY is JSON, or else
taken as a string. The key comes from --key-file or $NETKIT_KEY (make one
with 'netkit keygen'), or --server-key seals to the server's public key.
docs/messages.md describes the envelope, the tokens and every error.

Examples:
  netkit msg ping
  netkit msg echo '{"hello": [1, 2, 3]}' --json
  netkit msg --via udp --to 192.168.1.20:7742 time
  netkit msg --via http -v broadcast "lunch is ready"
  netkit msg --tls --insecure --key-file msg.key handshake
  netkit msg listen --via ws`,
		flags:    fs,
		maxArgs:  2,
		children: []*command{msgListenCommand(stdio), msgServeCommand(stdio)},
		check: func(args []string) error {
			if err := f.check(fs); err != nil {
				return err
			}
			if len(args) == 0 {
				return usagef("give a message TYPE: handshake, ping, time, echo or broadcast")
			}
			if !envelope.Type(args[0]).IsRequest() {
				return usagef("unknown message type %q: want handshake, ping, time, echo or broadcast", args[0])
			}
			return nil
		},
		run: func(ctx context.Context, args []string) error {
			typ := envelope.Type(args[0])
			var body json.RawMessage
			if len(args) == 2 {
				body = jsonOrString(args[1])
			}
			c, err := f.client(ctx, stdio, "netkit msg")
			if err != nil {
				return err
			}
			defer c.Close()
			if f.verbose {
				c.Trace = stdio.Stderr
			}
			ans, err := c.Send(ctx, typ, body)
			if ans != nil && f.json {
				printEnvelope(stdio, ans)
			}
			if err != nil {
				return err
			}
			if !f.json {
				printBody(stdio, ans.Body)
			}
			return nil
		},
	}
}

// jsonOrString is s if it is JSON, else s as a JSON string.
func jsonOrString(s string) json.RawMessage {
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(s)
	return b
}

func printEnvelope(stdio IO, e *envelope.Envelope) {
	b, _ := json.Marshal(e)
	fmt.Fprintln(stdio.Stdout, string(b))
}

// printBody prints a string body as text and anything else as JSON.
func printBody(stdio IO, body json.RawMessage) {
	var s string
	if json.Unmarshal(body, &s) == nil {
		fmt.Fprintln(stdio.Stdout, s)
		return
	}
	if len(body) == 0 {
		fmt.Fprintln(stdio.Stdout, "null")
		return
	}
	fmt.Fprintln(stdio.Stdout, strings.TrimSpace(string(body)))
}

func msgListenCommand(stdio IO) *command {
	var f msgFlags
	fs := flag.NewFlagSet("netkit msg listen", flag.ContinueOnError)
	f.register(fs)
	fs.Lookup("via").DefValue = "ws"
	fs.Set("via", "ws")
	return &command{
		name:    "listen",
		usage:   "msg listen [--via ws|udp] [--to HOST:PORT] [flags]",
		summary: "stay connected and print every broadcast as it comes",
		help: `
Over WebSocket the connection stays open; over UDP the handshake is
repeated every minute so the server keeps sending (--udp-client-ttl on the
server). Each broadcast prints as "SENDER: BODY" (--json: the envelope).

Examples:
  netkit msg listen
  netkit msg listen --via udp --to 192.168.1.20:7742 --json`,
		flags:   fs,
		maxArgs: 0,
		check: func([]string) error {
			if f.via != "ws" && f.via != "udp" {
				return usagef("--via %q: listening needs ws or udp", f.via)
			}
			return f.check(fs)
		},
		run: func(ctx context.Context, _ []string) error {
			c, err := f.client(ctx, stdio, "netkit msg listen")
			if err != nil {
				return err
			}
			defer c.Close()
			return c.Listen(ctx, time.Minute, func(e *envelope.Envelope) {
				fmt.Fprintf(stdio.Stderr, "listening for broadcasts from %s (%s), Ctrl-C to stop\n", e.Sender, c.Addr)
			}, func(e *envelope.Envelope) {
				if f.json {
					printEnvelope(stdio, e)
					return
				}
				fmt.Fprintf(stdio.Stdout, "%s: ", e.Sender)
				printBody(stdio, e.Body)
			})
		},
	}
}

func msgServeCommand(stdio IO) *command {
	var mf msgServerFlags
	return serviceServeCommand(stdio, "msg", serveExtras{
		register: mf.register,
		check:    mf.check,
		setup:    func(env *suite.Env) error { return mf.apply(env, true) },
	})
}
