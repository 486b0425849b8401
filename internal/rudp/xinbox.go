package rudp

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/netkit/netkit/internal/rudp/secure"
	"github.com/netkit/netkit/internal/rudp/wire"
)

// Defaults of the extended receiver.
const (
	// DefaultMaxBuffered bounds the bytes an XInbox holds out of order,
	// all transfers together: fragments past a gap wait in memory until
	// the gap is filled; past this, they are dropped and sent again.
	DefaultMaxBuffered = 32 << 20
	// maxXfers bounds the transfers of one session at once.
	maxXfers = 8
	// doneMemory is how many finished transfers a session remembers, to
	// answer a resent OPEN or END.
	doneMemory = 16
)

// XInboxConfig configures an XInbox.
type XInboxConfig struct {
	// Store, MaxSize, MaxText, Timeout, MaxPeers, MaxPerAddr and
	// IdleEvict are as in InboxConfig; MaxPeers and MaxPerAddr bound the
	// sessions. A full XInbox evicts a session without a transfer, or
	// one whose transfers have moved no data for IdleEvict (its sender
	// is told with ABORT), before it refuses a HELLO.
	Store      FileStore
	MaxSize    int64
	MaxText    int
	Timeout    time.Duration
	MaxPeers   int
	MaxPerAddr int
	IdleEvict  time.Duration
	// Window bounds the fragments one transfer may have in flight; zero
	// means DefaultWindow.
	Window int
	// MaxBuffered bounds the bytes held out of order; zero means
	// DefaultMaxBuffered.
	MaxBuffered int
	// Secret, when set, makes every session sealed: a sender without it,
	// or with another, is rejected.
	Secret string
	// Trace, when set, is told every extended frame received and sent,
	// with its body in the clear.
	Trace func(FrameTrace)
	// NoAES never takes the AES-256-GCM a sender offers: see
	// SendOptions.NoAES.
	NoAES bool
}

// deriveKey stretches a passphrase: secure.DeriveKey, which fuzz targets
// replace with a cached one (Argon2id takes tens of milliseconds a call).
var deriveKey = secure.DeriveKey

// XInbox is the sans-IO state machine of an extended receiver: many
// sessions at once, each with its id, each with up to maxXfers transfers
// by transfer id. It answers HELLO with WELCOME (or REJECT), runs the
// Noise handshake of a sealed session, and receives each transfer:
// ACCEPT of its OPEN (with the offset to resume from), DATA written in
// order to the FileStore as the gaps fill, SACKs (at once on a gap or
// every ackEvery fragments, else within ackDelay), and on END the SHA-256
// check, then the commit and DONE, or ABORT.
//
// This file holds its state, its API and what every frame goes through;
// xinbox_session.go keeps the session table and the handshake,
// xinbox_transfer.go a transfer's OPEN, resume and END, and
// xinbox_data.go the reassembly of its DATA and the acks.
type XInbox struct {
	cfg      XInboxConfig
	psk      [32]byte
	salt     [wire.SaltLen]byte
	sessions map[uint32]*xsess
	byToken  map[helloKey]*xsess
	perAddr  map[netip.Addr]int // sessions by IP address
	pending  []*xsess
	buffered int
	deadline time.Time
	refusing error
	active   int
	stats    InboxStats

	ack  wire.Ack
	body []byte
	open []byte
	bufs [][]byte
	nbuf int
	dgrm [][]byte
	to   []netip.AddrPort
	evs  []Event
	free [][]byte // fragment buffers
}

// NewXInbox returns an XInbox with the configuration cfg. With a secret
// it stretches it once, with a random salt, which takes a moment.
func NewXInbox(cfg XInboxConfig) (*XInbox, error) {
	cfg.MaxSize = or(cfg.MaxSize, DefaultMaxSize)
	cfg.MaxText = or(cfg.MaxText, DefaultMaxText)
	cfg.Timeout = or(cfg.Timeout, DefaultTimeout)
	cfg.MaxPeers = or(cfg.MaxPeers, DefaultMaxPeers)
	cfg.MaxPerAddr = or(cfg.MaxPerAddr, DefaultMaxPerAddr)
	cfg.IdleEvict = or(cfg.IdleEvict, DefaultIdleEvict)
	cfg.Window = or(cfg.Window, DefaultWindow)
	cfg.MaxBuffered = or(cfg.MaxBuffered, DefaultMaxBuffered)
	x := &XInbox{
		cfg:      cfg,
		sessions: make(map[uint32]*xsess),
		byToken:  make(map[helloKey]*xsess),
		perAddr:  make(map[netip.Addr]int),
		body:     make([]byte, 0, wire.MaxExtFrame),
		open:     make([]byte, 0, wire.MaxExtFrame),
	}
	if cfg.Secret != "" {
		rand.Read(x.salt[:])
		psk, err := deriveKey(cfg.Secret, x.salt[:])
		if err != nil {
			return nil, err
		}
		x.psk = psk
	}
	return x, nil
}

// Refuse makes the XInbox refuse new transfers with err.
func (in *XInbox) Refuse(err error) { in.refusing = err }

// Active returns the number of transfers in progress.
func (in *XInbox) Active() int { return in.active }

// Deadline is when Tick must be called next.
func (in *XInbox) Deadline() time.Time { return in.deadline }

// Stats returns the counters so far.
func (in *XInbox) Stats() InboxStats {
	st := in.stats
	st.Peers, st.Active = len(in.sessions), in.active
	return st
}

// Handle takes one extended datagram from the address from.
func (in *XInbox) Handle(datagram []byte, from netip.AddrPort, now time.Time) Output {
	in.reset()
	in.stats.Datagrams++
	if len(datagram) < wire.HeaderLen {
		in.stats.Malformed++
		return in.output()
	}
	t := wire.Type(datagram[8])
	if t == wire.HELLO {
		in.trace(TraceIn, from, datagram, datagram[wire.HeaderLen:], nil)
		in.hello(datagram, from, now)
		return in.output()
	}
	sid := binary.BigEndian.Uint32(datagram)
	s := in.sessions[sid]
	if s == nil || s.addr != from {
		in.stats.Dropped++
		in.trace(TraceIn, from, datagram, nil, errNoSession)
		return in.output()
	}
	sealed := s.keys != nil && t.Sealable()
	h, body, err := wire.ParseXHeader(datagram, !sealed)
	if err != nil {
		in.stats.Malformed++
		in.trace(TraceIn, from, datagram, nil, err)
		return in.output()
	}
	if sealed {
		if !s.replay.Check(uint64(h.PN)) {
			in.stats.Duplicates++
			in.trace(TraceIn, from, datagram, nil, errReplay)
			return in.output()
		}
		pt, err := s.keys.Open(in.open[:0], uint64(h.PN), datagram[:9], body)
		if err != nil || !s.replay.Accept(uint64(h.PN)) {
			in.stats.Malformed++
			in.trace(TraceIn, from, datagram, nil, errDropped)
			return in.output()
		}
		body = pt
	} else if h.Type.Sealable() && s.flags&wire.FlagSecret != 0 {
		in.stats.Malformed++ // a plain frame in a sealed session
		in.trace(TraceIn, from, datagram, nil, errDropped)
		return in.output()
	}
	in.trace(TraceIn, from, datagram, body, nil)
	s.lastHeard = now
	if !s.heard || h.PN > s.largest {
		s.largest, s.largestAt, s.heard = h.PN, now, true
	}
	switch h.Type {
	case wire.HANDSHAKE:
		in.handshake(s, body, now)
	case wire.OPEN:
		in.openXfer(s, body, now)
	case wire.DATA:
		in.data(s, body, now)
	case wire.END:
		in.end(s, body, now)
	case wire.ABORT:
		if r, err := wire.ParseResult(body); err == nil {
			if x := s.xfers[r.TID]; x != nil {
				in.drop(s, x, EventAborted, fmt.Errorf("%w: the sender gave up: %s", ErrAborted, r.Text))
			}
		}
	case wire.PING:
		in.emit(s, wire.PONG, nil)
	case wire.CLOSE:
		in.forget(s, EventEnd, fmt.Errorf("%w: the sender ended the session", ErrAborted))
	default:
		in.stats.Dropped++
	}
	return in.output()
}

// Tick sends the acks held back, and forgets sessions silent for
// Timeout.
func (in *XInbox) Tick(now time.Time) Output {
	in.reset()
	if in.deadline.IsZero() || now.Before(in.deadline) {
		return in.output()
	}
	in.deadline = time.Time{}
	in.flush(now)
	for _, s := range in.sessions {
		expiry := s.lastHeard.Add(in.cfg.Timeout)
		if now.Before(expiry) {
			in.deadline = earliest(in.deadline, expiry)
			continue
		}
		kind := EventGone
		if s.replyType == wire.REJECT {
			kind = 0 // refused already, reported then
		}
		in.forget(s, kind, fmt.Errorf("%w: silent for %v", ErrPeerGone, in.cfg.Timeout))
	}
	return in.output()
}

// Flush sends the acks held back at once: a driver that reads datagrams
// in batches calls it after each batch.
func (in *XInbox) Flush(now time.Time) Output {
	in.reset()
	in.flush(now)
	return in.output()
}

// Close forgets every session, keeping unfinished files for a resume
// where the store can, with an EventAborted wrapping reason. Each sender
// is told, so that it stops at once rather than wait for its timeout:
// ABORT with code (CodeShutdown from a Receiver) for each transfer, and
// for the session itself (transfer id 0), then CLOSE; a sealed session
// still in its handshake gets REJECT.
func (in *XInbox) Close(code wire.Code, reason error) Output {
	in.reset()
	msg := code.String()
	for _, s := range in.sessions {
		switch {
		case s.replyType == wire.REJECT:
			// refused already
		case s.flags&wire.FlagSecret != 0 && s.keys == nil:
			in.emitTo(s.addr, wire.XHeader{Session: s.sid, PN: s.pn, Type: wire.REJECT}, wire.AppendReject(in.body[:0], wire.Reject{Token: s.token, Code: code, Message: msg}), nil)
			s.pn++
		default:
			for _, x := range s.xfers {
				in.emit(s, wire.ABORT, wire.AppendResult(in.body[:0], wire.Result{TID: x.open.TID, Code: code, Text: msg}))
			}
			in.emit(s, wire.ABORT, wire.AppendResult(in.body[:0], wire.Result{Code: code, Text: msg}))
			in.emit(s, wire.CLOSE, nil)
		}
		in.forget(s, 0, fmt.Errorf("%w: %w", ErrAborted, reason))
	}
	in.deadline = time.Time{}
	return in.output()
}

// emit sends a frame of type t in session s.
func (in *XInbox) emit(s *xsess, t wire.Type, body []byte) {
	var keys *secure.Keys
	if t.Sealable() {
		keys = s.keys
	}
	in.emitTo(s.addr, wire.XHeader{Session: s.sid, PN: s.pn, Type: t}, body, keys)
	s.pn++
}

func (in *XInbox) emitTo(to netip.AddrPort, h wire.XHeader, body []byte, keys *secure.Keys) {
	if in.nbuf == len(in.bufs) {
		in.bufs = append(in.bufs, make([]byte, 0, wire.MaxExtFrame))
	}
	b := in.bufs[in.nbuf][:0]
	in.nbuf++
	b = wire.AppendXHeader(b, h)
	if keys != nil {
		b = keys.Seal(b, uint64(h.PN), b[:9], body)
	} else {
		b = append(b, body...)
		wire.SetCRC(b)
	}
	in.dgrm = append(in.dgrm, b)
	in.to = append(in.to, to)
	in.trace(TraceOut, to, b, body, nil)
}

// Errors of the traces of frames an XInbox drops.
var (
	errNoSession = errors.New("no such session from that address")
	errReplay    = errors.New("a replay")
)

// trace reports an extended frame to cfg.Trace; err set means dropped.
func (in *XInbox) trace(dir string, peer netip.AddrPort, raw, body []byte, err error) {
	if in.cfg.Trace == nil {
		return
	}
	h, _, _ := wire.ParseXHeader(raw, false)
	tr := FrameTrace{Dir: dir, Peer: peer, Raw: raw, Ext: true, XHeader: h, Body: body, Err: err}
	if err != nil {
		tr.Body = nil
	}
	in.cfg.Trace(tr)
}

func (in *XInbox) reset() {
	clear(in.evs)
	in.evs = in.evs[:0]
	in.dgrm = in.dgrm[:0]
	in.to = in.to[:0]
	in.nbuf = 0
}

func (in *XInbox) output() Output {
	return Output{Datagrams: in.dgrm, To: in.to, Events: in.evs, Deadline: in.deadline}
}
