package msg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/netkit/netkit/internal/fernet"
	"github.com/netkit/netkit/internal/msg/envelope"
)

// Defaults used where a Server field is zero.
const (
	DefaultTTL          = 5 * time.Minute
	DefaultUDPClientTTL = 3 * time.Minute
	// MaxToken is the longest token any transport takes: an envelope of
	// about 47 KiB. UDP takes at most MaxDatagram.
	MaxToken    = 64 << 10
	MaxDatagram = 8 << 10
	// MaxUDPPacket is what the UDP service's PacketServer should read,
	// so that the handler sees, and counts, datagrams over MaxDatagram.
	MaxUDPPacket = 65535
	// UDPBatch is the batch the UDP service's PacketServer should read
	// and answer per system call. Its read buffers are at most 1 MiB
	// (16 slots of MaxUDPPacket).
	UDPBatch = 16
)

// Info is the body of the answer to a handshake.
type Info struct {
	Name         string         `json:"name"`
	Version      string         `json:"version"`
	Transports   []string       `json:"transports"`
	Ports        map[string]int `json:"ports"`
	Capabilities []string       `json:"capabilities"`
	PublicKey    string         `json:"public_key,omitempty"`
}

// ErrorBody is the body of an error envelope.
type ErrorBody struct {
	Code  string `json:"code"`
	Error string `json:"error"`
}

// Server handles messages for every transport. Set Keys (or Box) before
// the first message; the rest has defaults. Its methods are safe for
// concurrent use.
type Server struct {
	// Keys are the shared Fernet keys: the first seals answers, any
	// opens requests.
	Keys *fernet.Fernet
	// Box, when set, also takes requests sealed to its public key.
	Box *envelope.KeyPair
	// Name is the server's sender name (default: the host name).
	Name string
	// Version is reported by handshake.
	Version string
	// Info, when set, fills in the transports and ports a handshake
	// reports.
	Info func() Info
	// TTL is the oldest token accepted (default 5m); ids are remembered
	// this long.
	TTL time.Duration
	// UDPClientTTL is how long a UDP client that did a handshake
	// receives broadcasts (default 3m).
	UDPClientTTL time.Duration
	// MaxReplay bounds the replay window (default DefaultReplayEntries).
	MaxReplay int
	// Logger receives logs; nil discards them.
	Logger *slog.Logger
	// Metrics, when set, receives counters (NewMetrics).
	Metrics *Metrics

	initOnce sync.Once
	logger   *slog.Logger
	replay   *replayWindow
	subs     subscribers
	now      func() time.Time
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		s.logger = s.Logger
		if s.logger == nil {
			s.logger = slog.New(slog.DiscardHandler)
		}
		if s.Name == "" {
			s.Name, _ = os.Hostname()
			if s.Name == "" {
				s.Name = "netkit"
			}
		}
		if s.TTL <= 0 {
			s.TTL = DefaultTTL
		}
		if s.UDPClientTTL <= 0 {
			s.UDPClientTTL = DefaultUDPClientTTL
		}
		if s.now == nil {
			s.now = time.Now
		}
		// Ids sit by the time their token was made, and a token made more
		// than the TTL ago is refused anyway: that is how long to keep them.
		s.replay = newReplayWindow(s.TTL, s.MaxReplay)
		s.subs.init()
		s.Metrics.watch(s)
	})
}

// ReplayLen returns how many ids the replay window holds.
func (s *Server) ReplayLen() int {
	s.init()
	return s.replay.len()
}

// sealer seals the answers to one client: with the Fernet keys, or under
// the nacl/box key shared with its ephemeral key.
type sealer struct {
	shared *envelope.Shared // nil for Fernet
	client [32]byte
}

func (s *Server) seal(sl sealer, plain []byte) []byte {
	return s.sealAppend(nil, sl, plain)
}

// sealAppend is seal appending the token to dst.
func (s *Server) sealAppend(dst []byte, sl sealer, plain []byte) []byte {
	if sl.shared != nil {
		return append(dst, envelope.SealReply(plain, sl.shared)...)
	}
	tok, err := s.Keys.EncryptAppend(dst, plain)
	if err != nil {
		// crypto/rand does not fail on Linux; should it, say so.
		panic(fmt.Sprintf("msg: encrypting: %v", err))
	}
	return tok
}

// request is one message on its way through the server.
type request struct {
	transport string
	from      netip.AddrPort
	sealer    sealer
	env       *envelope.Envelope
}

// Handle opens token, checks it, answers it and returns the sealed
// answer. On error the answer is nil but for ErrEnvelope, which comes
// with an error envelope. transport labels metrics ("http", "udp", "ws").
func (s *Server) Handle(ctx context.Context, token []byte, transport string, from netip.AddrPort) ([]byte, error) {
	s.init()
	reply, typ, err := s.handle(ctx, nil, token, transport, from, nil)
	s.count(transport, typ, err)
	return reply, err
}

func (s *Server) count(transport string, typ envelope.Type, err error) {
	if err != nil {
		s.Metrics.refused(transport, reason(err))
		s.logger.Debug("message refused", "transport", transport, "reason", reason(err), "err", err)
		return
	}
	s.Metrics.message(transport, typ)
}

// handle does Handle's work, appending the answer to dst; onSealer, when
// set, learns how to seal for this client (the WebSocket transport keeps
// it for pushes).
func (s *Server) handle(ctx context.Context, dst, token []byte, transport string, from netip.AddrPort, onSealer func(sealer)) ([]byte, envelope.Type, error) {
	if len(token) == 0 {
		return nil, "", ErrEmpty
	}
	if len(token) > MaxToken {
		return nil, "", ErrTooLarge
	}
	now := s.now()
	var (
		plain []byte
		made  time.Time
		sl    sealer
		boxed bool
	)
	if s.Box != nil && envelope.IsSealed(token) {
		p, client, sh, err := envelope.OpenRequest(token, s.Box)
		if err != nil {
			return nil, "", fmt.Errorf("%w: %v", ErrToken, err)
		}
		plain, sl, boxed = p, sealer{shared: sh, client: client}, true
	} else {
		if s.Keys == nil {
			return nil, "", fmt.Errorf("%w: this server takes only sealed tokens", ErrToken)
		}
		p, ts, err := s.Keys.DecryptAt(token, s.TTL, now)
		switch {
		case errors.Is(err, fernet.ErrExpired):
			return nil, "", ErrExpired
		case errors.Is(err, fernet.ErrFuture):
			return nil, "", ErrFuture
		case err != nil:
			return nil, "", fmt.Errorf("%w: %v", ErrToken, err)
		}
		plain, made = p, ts
	}
	if onSealer != nil {
		onSealer(sl)
	}
	env, err := envelope.Parse(plain)
	if err != nil {
		return s.refuse(dst, sl, env, err), "", fmt.Errorf("%w: %v", ErrEnvelope, err)
	}
	if boxed {
		// A sealed token has no timestamp of its own: the envelope's,
		// inside the box, is checked as a Fernet token's would be.
		made = env.Time
		switch {
		case now.Sub(made) > s.TTL:
			return nil, "", ErrExpired
		case made.Sub(now) > fernet.MaxSkew:
			return nil, "", ErrFuture
		}
	}
	fresh, full := s.replay.check(env.ID, made, now)
	switch {
	case full:
		s.logger.Warn("replay window full: refusing new messages until ids expire", "max", s.replay.max)
		return nil, "", ErrBusy
	case !fresh:
		return nil, "", ErrReplay
	}
	if !env.Type.IsRequest() {
		err := fmt.Errorf("type %q is an answer, not a request", env.Type)
		return s.refuse(dst, sl, env, err), "", fmt.Errorf("%w: %v", ErrEnvelope, err)
	}
	body, err := s.answer(ctx, &request{transport: transport, from: from, sealer: sl, env: env})
	if err != nil {
		return s.refuse(dst, sl, env, err), "", fmt.Errorf("%w: %v", ErrEnvelope, err)
	}
	out, err := env.Answer(envelope.Reply, s.Name, body)
	if err != nil {
		return s.refuse(dst, sl, env, err), "", fmt.Errorf("%w: %v", ErrEnvelope, err)
	}
	return s.sealEnvelope(dst, sl, out), env.Type, nil
}

// plainBufs are the buffers answers are written to before sealing.
var plainBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// sealEnvelope writes env and appends its token to dst, through a pooled
// buffer (only the token is kept).
func (s *Server) sealEnvelope(dst []byte, sl sealer, env *envelope.Envelope) []byte {
	bp := plainBufs.Get().(*[]byte)
	b, _ := envelope.Append((*bp)[:0], env)
	tok := s.sealAppend(dst, sl, b)
	if cap(b) <= 64<<10 {
		*bp = b
		plainBufs.Put(bp)
	}
	return tok
}

// refuse builds the sealed error envelope answering env (which may be
// nil when its id could not be read).
func (s *Server) refuse(dst []byte, sl sealer, env *envelope.Envelope, err error) []byte {
	code := "bad_envelope"
	switch {
	case errors.Is(err, envelope.ErrJSON):
		code = "bad_json"
	case errors.Is(err, envelope.ErrUnknownType):
		code = "unknown_type"
	}
	var out *envelope.Envelope
	body := ErrorBody{Code: code, Error: err.Error()}
	if env != nil && env.ID != "" {
		out, _ = env.Answer(envelope.Error, s.Name, body)
	} else {
		out, _ = envelope.New(envelope.Error, s.Name, body)
	}
	return s.sealEnvelope(dst, sl, out)
}

// answer is the body of the reply to r.
func (s *Server) answer(_ context.Context, r *request) (any, error) {
	switch r.env.Type {
	case envelope.Handshake:
		if r.transport == "udp" {
			s.subs.addUDP(r.from, r.sealer, s.now().Add(s.UDPClientTTL))
		}
		return s.info(), nil
	case envelope.Ping:
		return "pong", nil
	case envelope.Time:
		return s.now().UTC().Format(time.RFC3339Nano), nil
	case envelope.Echo:
		if r.env.Body == nil {
			return nil, nil
		}
		return r.env.Body, nil
	case envelope.Broadcast:
		n := s.Broadcast(r.env.Sender, r.env.Body)
		return map[string]int{"delivered": n}, nil
	}
	return nil, fmt.Errorf("type %q is not served", r.env.Type)
}

func (s *Server) info() Info {
	var in Info
	if s.Info != nil {
		in = s.Info()
	}
	in.Name, in.Version = s.Name, s.Version
	in.Capabilities = []string{"handshake", "ping", "time", "echo", "broadcast"}
	if s.Box != nil {
		in.Capabilities = append(in.Capabilities, "box")
		in.PublicKey = envelope.EncodeKey(s.Box.Public)
	}
	return in
}

// Broadcast sends a broadcast envelope from sender with body to every
// WebSocket client and every UDP client within its handshake TTL, and
// returns how many it was sent to.
func (s *Server) Broadcast(sender string, body json.RawMessage) int {
	s.init()
	env, _ := envelope.New(envelope.Broadcast, sender, nil)
	env.Body = body
	plain, _ := envelope.Append(nil, env)
	return s.subs.deliver(s, plain, s.now())
}
