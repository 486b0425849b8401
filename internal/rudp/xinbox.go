package rudp

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
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
	// ackDelay is the longest a receiver holds an ack back, hoping to
	// cover more fragments with it.
	ackDelay = time.Millisecond
	// ackEvery acks at once after this many fragments in order.
	ackEvery = 16
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

// xsess is one extended session.
type xsess struct {
	sid       uint32
	addr      netip.AddrPort
	token     uint64
	flags     uint8
	keys      *secure.Keys
	replay    secure.ReplayWindow
	reply     []byte // the WELCOME or HANDSHAKE body last sent, for repeats
	replyType wire.Type
	pn        uint32
	largest   uint32
	largestAt time.Time
	heard     bool
	lastHeard time.Time
	lastData  time.Time // the session's start, its last OPEN accepted or new DATA
	xfers     map[uint32]*xin
	done      [doneMemory]xdone
	ndone     int
	pending   bool // an ack is held back
}

type xdone struct {
	tid uint32
	res wire.Result
	typ wire.Type
}

// xin is one transfer being received.
type xin struct {
	open     wire.Open
	count    uint32
	cum      uint32 // every fragment below is written
	high     uint32 // one past the highest fragment received
	window   uint32
	slots    [][]byte // ring of fragments held past a gap; nil when absent
	sink     FileSink
	text     []byte
	hash     hash.Hash
	bytes    int64 // content bytes written (resumed ones included)
	resumed  int64
	unacked  int
	ackNow   bool
	ended    bool
	lastSeen time.Time
}

// XInbox is the sans-IO state machine of an extended receiver: many
// sessions at once, each with its id, each with up to maxXfers transfers
// by transfer id. It answers HELLO with WELCOME (or REJECT), runs the
// Noise handshake of a sealed session, and receives each transfer:
// ACCEPT of its OPEN (with the offset to resume from), DATA written in
// order to the FileStore as the gaps fill, SACKs (at once on a gap or
// every ackEvery fragments, else within ackDelay), and on END the SHA-256
// check, then the commit and DONE, or ABORT.
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

type helloKey struct {
	addr  netip.AddrPort
	token uint64
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

// hello answers a HELLO: WELCOME with a new session, the same WELCOME
// for a repeat, or REJECT.
func (in *XInbox) hello(b []byte, from netip.AddrPort, now time.Time) {
	_, body, err := wire.ParseXHeader(b, true)
	if err != nil {
		in.stats.Malformed++
		return
	}
	hl, err := wire.ParseHello(body)
	if err != nil {
		in.stats.Malformed++
		return
	}
	key := helloKey{from, hl.Token}
	if s := in.byToken[key]; s != nil {
		in.stats.Repeats++
		s.lastHeard = now
		in.emitWelcome(s)
		return
	}
	reject := func(c wire.Code, msg string) {
		in.stats.Refused++
		body := wire.AppendReject(in.body[:0], wire.Reject{Token: hl.Token, Code: c, Message: msg})
		in.emitTo(from, wire.XHeader{Type: wire.REJECT}, body, nil)
		err := fmt.Errorf("%w: %s", ErrRefused, msg)
		if c == wire.CodeShutdown {
			err = fmt.Errorf("%w: %w", ErrRefused, in.refusing)
		}
		in.evs = append(in.evs, Event{Kind: EventRefused, Peer: from, Err: err})
	}
	switch {
	case in.refusing != nil:
		reject(wire.CodeShutdown, wire.CodeShutdown.String())
		return
	case hl.Version != wire.Version:
		reject(wire.CodeVersion, fmt.Sprintf("extended version %d is not spoken here (version %d is)", hl.Version, wire.Version))
		return
	case in.cfg.Secret != "" && hl.Flags&wire.FlagSecret == 0:
		reject(wire.CodeNeedSecret, "this receiver requires a secret: send with --secret")
		return
	case in.cfg.Secret == "" && hl.Flags&wire.FlagSecret != 0:
		reject(wire.CodeNoSecret, "this receiver has no secret: run it with --secret too, or send without")
		return
	case in.perAddr[from.Addr()] >= in.cfg.MaxPerAddr && !in.evict(from.Addr(), now):
		in.stats.PeersRefused++
		reject(wire.CodeBusy, fmt.Sprintf("too many senders at once from %v (at most %d): try again later", from.Addr(), in.cfg.MaxPerAddr))
		return
	case len(in.sessions) >= in.cfg.MaxPeers && !in.evict(netip.Addr{}, now):
		in.stats.PeersRefused++
		reject(wire.CodeBusy, "too many senders at once: try again later")
		return
	}
	var sid uint32
	for sid == 0 || in.sessions[sid] != nil {
		var r [4]byte
		rand.Read(r[:])
		sid = binary.BigEndian.Uint32(r[:])
	}
	flags := hl.Flags & wire.FlagSecret
	if flags != 0 && hl.Flags&wire.FlagAESGCM != 0 && !in.cfg.NoAES && aesHardware() {
		flags |= wire.FlagAESGCM // both have AES instructions
	}
	s := &xsess{sid: sid, addr: from, token: hl.Token, flags: flags, lastHeard: now, lastData: now, xfers: make(map[uint32]*xin)}
	in.sessions[sid] = s
	in.perAddr[from.Addr()]++
	in.byToken[key] = s
	in.deadline = earliest(in.deadline, now.Add(in.cfg.Timeout))
	in.emitWelcome(s)
}

// evict makes room for a new session (from the IP address ip, when
// valid) by forgetting the one silent the longest among those with no
// transfer in progress (HELLOs from spoofed addresses, say, which never
// go further), or else the one that has moved no data the longest, if
// that is IdleEvict or more (a sender that opens a transfer and then only
// pings), and reports whether it could. The transfers of a session
// evicted are ended with ABORT, their partial files kept for a resume.
func (in *XInbox) evict(ip netip.Addr, now time.Time) bool {
	var empty, stalled *xsess
	for _, s := range in.sessions {
		switch {
		case ip.IsValid() && s.addr.Addr() != ip:
		case len(s.xfers) == 0:
			if empty == nil || s.lastHeard.Before(empty.lastHeard) {
				empty = s
			}
		case now.Sub(s.lastData) >= in.cfg.IdleEvict:
			if stalled == nil || s.lastData.Before(stalled.lastData) {
				stalled = s
			}
		}
	}
	idle := empty
	if idle == nil {
		idle = stalled
	}
	if idle == nil {
		return false
	}
	in.stats.Evicted++
	msg := fmt.Sprintf("no data moved for %v while the receiver was full: evicted to make room", now.Sub(idle.lastData).Truncate(time.Second))
	for _, x := range idle.xfers {
		if idle.flags&wire.FlagSecret == 0 || idle.keys != nil {
			in.emit(idle, wire.ABORT, wire.AppendResult(in.body[:0], wire.Result{TID: x.open.TID, Code: wire.CodeBusy, Text: msg}))
		}
	}
	if len(idle.xfers) == 0 {
		in.forget(idle, 0, nil)
	} else {
		in.forget(idle, EventEnd, fmt.Errorf("%w: %s", ErrAborted, msg))
	}
	return true
}

func (in *XInbox) emitWelcome(s *xsess) {
	w := wire.Welcome{Version: wire.Version, Flags: s.flags, Token: s.token, Window: uint32(in.cfg.Window), Salt: in.salt}
	in.emitTo(s.addr, wire.XHeader{Session: s.sid, PN: s.pn, Type: wire.WELCOME}, wire.AppendWelcome(in.body[:0], w), nil)
	s.pn++
}

// handshake answers Noise message 1 of a sealed session.
func (in *XInbox) handshake(s *xsess, body []byte, now time.Time) {
	if s.flags&wire.FlagSecret == 0 {
		in.stats.Dropped++
		return
	}
	switch {
	case s.replyType == wire.REJECT:
		in.emitTo(s.addr, wire.XHeader{Session: s.sid, PN: s.pn, Type: wire.REJECT}, s.reply, nil) // it was lost
		s.pn++
		return
	case s.keys != nil:
		if s.replyType == wire.HANDSHAKE {
			in.emit(s, wire.HANDSHAKE, s.reply) // message 2 was lost
		}
		return
	}
	c := secure.ChaCha20Poly1305
	if s.flags&wire.FlagAESGCM != 0 {
		c = secure.AES256GCM
	}
	_, msg2, keys, err := secure.RespondCipher(in.psk, prologue(s.sid, s.token, in.salt[:], c), body, nil, nil, c)
	if err != nil {
		in.stats.Refused++
		msg := "wrong secret: the handshake failed (both sides must use the same --secret)"
		if !errors.Is(err, secure.ErrAuth) {
			msg = "handshake failed: " + err.Error()
		}
		// The session stays, refused, until it times out: a repeat of
		// message 1 (the REJECT was lost) gets the same REJECT.
		s.reply = wire.AppendReject(nil, wire.Reject{Token: s.token, Code: wire.CodeBadSecret, Message: msg})
		s.replyType = wire.REJECT
		in.emitTo(s.addr, wire.XHeader{Session: s.sid, PN: s.pn, Type: wire.REJECT}, s.reply, nil)
		s.pn++
		in.evs = append(in.evs, Event{Kind: EventRefused, Peer: s.addr, Err: ErrBadSecret})
		return
	}
	s.reply, s.replyType = msg2, wire.HANDSHAKE
	in.emit(s, wire.HANDSHAKE, msg2)
	s.keys = keys
}

// openXfer answers an OPEN: ACCEPT, or ABORT when refused.
func (in *XInbox) openXfer(s *xsess, body []byte, now time.Time) {
	if !in.ready(s) {
		return
	}
	o, err := wire.ParseOpen(body)
	if err != nil {
		in.stats.Malformed++
		return
	}
	if x := s.xfers[o.TID]; x != nil {
		in.stats.Repeats++
		in.emitAccept(s, x) // the ACCEPT was lost
		return
	}
	if d := s.recall(o.TID); d != nil {
		in.emit(s, d.typ, wire.AppendResult(in.body[:0], d.res))
		return
	}
	refuse := func(code wire.Code, err error) {
		in.stats.Refused++
		in.remember(s, wire.ABORT, wire.Result{TID: o.TID, Code: code, Text: err.Error()})
		in.emit(s, wire.ABORT, wire.AppendResult(in.body[:0], wire.Result{TID: o.TID, Code: code, Text: err.Error()}))
		in.evs = append(in.evs, Event{Kind: EventRefused, Peer: s.addr, Name: o.Name, Err: err})
	}
	switch {
	case in.refusing != nil:
		refuse(wire.CodeShutdown, in.refusing)
		return
	case len(s.xfers) >= maxXfers:
		refuse(wire.CodeBusy, fmt.Errorf("%w: more than %d transfers at once", ErrRefused, maxXfers))
		return
	case o.Kind == wire.KindText && o.Size > uint64(in.cfg.MaxText):
		refuse(wire.CodeTooLarge, fmt.Errorf("%w: a text of %d bytes, over %d", ErrTooLarge, o.Size, in.cfg.MaxText))
		return
	case o.Kind == wire.KindFile && in.cfg.MaxSize > 0 && o.Size > uint64(in.cfg.MaxSize):
		refuse(wire.CodeTooLarge, fmt.Errorf("%w: %q is %d bytes, over %d", ErrTooLarge, o.Name, o.Size, in.cfg.MaxSize))
		return
	case o.Kind == wire.KindFile && in.cfg.Store == nil:
		refuse(wire.CodeRefused, fmt.Errorf("%w: this receiver takes no files", ErrRefused))
		return
	}
	x := &xin{open: o, count: uint32(wire.Fragments(o.Size, int(o.FragSize))), window: uint32(in.cfg.Window), hash: sha256.New(), lastSeen: now}
	if o.Kind == wire.KindFile {
		if _, err := wire.SanitizeName(o.Name); err != nil {
			refuse(wire.CodeRefused, err)
			return
		}
		sink, have, err := in.create(o)
		if err != nil {
			code := wire.CodeWrite
			if errors.Is(err, wire.ErrBadName) || errors.Is(err, ErrReservedName) {
				code = wire.CodeRefused
			}
			refuse(code, err)
			return
		}
		x.sink = sink
		if have > 0 {
			if err := in.resume(x, have); err != nil {
				sink.Abort()
				refuse(wire.CodeWrite, err)
				return
			}
		}
	} else {
		x.text = make([]byte, 0, o.Size)
	}
	x.high = x.cum
	s.xfers[o.TID] = x
	s.lastData = now
	in.active++
	in.emitAccept(s, x)
}

// create starts the file o, resuming one cut off when the store can.
func (in *XInbox) create(o wire.Open) (FileSink, int64, error) {
	if rs, ok := in.cfg.Store.(ResumableStore); ok {
		return rs.Resume(o.Name, resumeKey(o))
	}
	sink, err := in.cfg.Store.Create(o.Name)
	return sink, 0, err
}

// resume takes the whole fragments of the have bytes a partial file
// holds, hashing them.
func (in *XInbox) resume(x *xin, have int64) error {
	rs, ok := x.sink.(ResumableSink)
	if !ok {
		return errors.New("rudp: the store gave a partial file it cannot read back")
	}
	f := int64(x.open.FragSize)
	keep := min(have, int64(x.open.Size)) / f * f
	if keep < have {
		if err := rs.Truncate(keep); err != nil {
			return err
		}
	}
	buf := make([]byte, 256<<10)
	for off := int64(0); off < keep; {
		n := int(min(int64(len(buf)), keep-off))
		if _, err := rs.ReadAt(buf[:n], off); err != nil {
			return fmt.Errorf("rudp: reading the partial %q: %w", x.open.Name, err)
		}
		x.hash.Write(buf[:n])
		off += int64(n)
	}
	x.cum = uint32(keep / f)
	x.bytes, x.resumed = keep, keep
	in.stats.Resumed += uint64(keep)
	return nil
}

func (in *XInbox) emitAccept(s *xsess, x *xin) {
	a := wire.Accept{TID: x.open.TID, Offset: uint64(x.resumed), Window: x.window}
	in.emit(s, wire.ACCEPT, wire.AppendAccept(in.body[:0], a))
}

// ready reports whether s may carry transfers: a plain session, or a
// sealed one past its handshake.
func (in *XInbox) ready(s *xsess) bool {
	if s.flags&wire.FlagSecret != 0 && s.keys == nil {
		in.stats.Dropped++
		return false
	}
	return true
}

// data takes one fragment.
func (in *XInbox) data(s *xsess, body []byte, now time.Time) {
	if !in.ready(s) {
		return
	}
	tid, idx, frag, err := wire.ParseData(body)
	if err != nil {
		in.stats.Malformed++
		return
	}
	x := s.xfers[tid]
	if x == nil || x.ended {
		if x != nil || s.recall(tid) != nil {
			in.stats.Duplicates++ // late: the transfer is over
		} else {
			in.stats.Dropped++
		}
		return
	}
	x.lastSeen = now
	want := int(x.open.FragSize)
	if idx == x.count-1 {
		want = int(x.open.Size - uint64(idx)*uint64(x.open.FragSize))
	}
	if idx >= x.count || len(frag) != want {
		in.stats.Malformed++
		return
	}
	if idx >= x.cum+x.window {
		in.stats.Dropped++ // past the window the sender was given
		return
	}
	x.unacked++
	if idx >= x.cum && x.slot(idx) == nil {
		s.lastData = now // new data, not a repeat
	}
	switch {
	case idx < x.cum || x.slot(idx) != nil:
		in.stats.Duplicates++
		x.ackNow = true // its ack was lost, or it was resent early
	case idx == x.cum:
		if !in.write(s, x, frag) {
			return
		}
		x.cum++
		if x.high > x.cum {
			x.ackNow = true // a gap filled: the sender learns it at once
		}
		in.drain(s, x)
		if x.high < x.cum {
			x.high = x.cum
		}
	default:
		if in.buffered+want > in.cfg.MaxBuffered {
			in.stats.Dropped++ // out of memory for the out of order: resent later
			return
		}
		x.hold(idx, in.fragBuf(frag))
		in.buffered += want
		if idx > x.high {
			x.ackNow = true // a new gap: tell the sender now (fast retransmit)
		}
		x.high = max(x.high, idx+1)
	}
	if x.ackNow || x.unacked >= ackEvery {
		in.sendAck(s, x, now)
	} else if !s.pending {
		s.pending = true
		in.pending = append(in.pending, s)
		in.deadline = earliest(in.deadline, now.Add(ackDelay))
	}
}

// write passes a fragment in order to the file or text.
func (in *XInbox) write(s *xsess, x *xin, frag []byte) bool {
	x.hash.Write(frag)
	x.bytes += int64(len(frag))
	if x.sink == nil {
		x.text = append(x.text, frag...)
		return true
	}
	if _, err := x.sink.Write(frag); err != nil {
		code := wire.CodeWrite
		if errors.Is(err, ErrTooLarge) {
			code = wire.CodeTooLarge
		}
		in.fail(s, x, code, err)
		return false
	}
	return true
}

// drain writes the fragments held that the gap's filling put in order.
func (in *XInbox) drain(s *xsess, x *xin) {
	for x.cum < x.high {
		b := x.slot(x.cum)
		if b == nil {
			return
		}
		x.slots[x.cum%uint32(len(x.slots))] = nil
		in.buffered -= len(b)
		ok := in.write(s, x, b)
		in.free = append(in.free, b[:0])
		if !ok {
			return
		}
		x.cum++
	}
}

func (x *xin) slot(idx uint32) []byte {
	if x.slots == nil || idx < x.cum {
		return nil
	}
	return x.slots[idx%uint32(len(x.slots))]
}

func (x *xin) hold(idx uint32, b []byte) {
	if x.slots == nil {
		x.slots = make([][]byte, x.window)
	}
	x.slots[idx%uint32(len(x.slots))] = b
}

// fragBuf copies frag into a buffer of the free list.
func (in *XInbox) fragBuf(frag []byte) []byte {
	var b []byte
	if n := len(in.free); n > 0 {
		b = in.free[n-1]
		in.free = in.free[:n-1]
	} else {
		b = make([]byte, 0, wire.MaxData)
	}
	return append(b, frag...)
}

// sendAck sends the SACK of x.
func (in *XInbox) sendAck(s *xsess, x *xin, now time.Time) {
	a := &in.ack
	a.TID, a.Largest, a.Cum = x.open.TID, s.largest, x.cum
	a.Delay = uint32(now.Sub(s.largestAt) / time.Microsecond)
	a.Limit = x.cum + x.window
	a.N = 0
	for i := x.cum + 1; i < x.high && a.N < wire.MaxRanges; {
		if x.slot(i) == nil {
			i++
			continue
		}
		j := i + 1
		for j < x.high && x.slot(j) != nil {
			j++
		}
		a.Ranges[a.N] = wire.Range{Start: i, End: j}
		a.N++
		i = j
	}
	x.unacked, x.ackNow = 0, false
	in.stats.ACKs++
	in.emit(s, wire.SACK, wire.AppendAck(in.body[:0], a))
}

// end checks the SHA-256 of a complete transfer and answers DONE, or
// ABORT.
func (in *XInbox) end(s *xsess, body []byte, now time.Time) {
	if !in.ready(s) {
		return
	}
	e, err := wire.ParseEnd(body)
	if err != nil {
		in.stats.Malformed++
		return
	}
	if d := s.recall(e.TID); d != nil {
		in.emit(s, d.typ, wire.AppendResult(in.body[:0], d.res)) // DONE was lost
		return
	}
	x := s.xfers[e.TID]
	if x == nil {
		in.stats.Dropped++
		return
	}
	if x.cum != x.count {
		in.stats.Dropped++ // cannot be: the sender ends only when all is acked
		in.sendAck(s, x, now)
		return
	}
	var sum [32]byte
	x.hash.Sum(sum[:0])
	if sum != e.Sum {
		in.fail(s, x, wire.CodeIntegrity, fmt.Errorf("%w: %s arrived with SHA-256 %x, the sender's is %x; discarded", ErrIntegrity, x.describe(), sum[:8], e.Sum[:8]))
		return
	}
	ev := Event{Kind: EventText, Peer: s.addr, Size: int64(x.open.Size), Text: string(x.text)}
	res := wire.Result{TID: e.TID, Code: wire.CodeOK}
	if x.sink != nil {
		path, err := x.sink.Commit()
		x.sink = nil
		if err != nil {
			in.fail(s, x, wire.CodeWrite, err)
			return
		}
		ev = Event{Kind: EventFile, Peer: s.addr, Name: x.open.Name, Path: path, Size: int64(x.open.Size)}
		res.Text = path
		in.stats.Files++
	} else {
		in.stats.Texts++
	}
	in.stats.Bytes += x.open.Size - uint64(x.resumed)
	in.evs = append(in.evs, ev)
	in.release(s, x)
	in.remember(s, wire.DONE, res)
	in.emit(s, wire.DONE, wire.AppendResult(in.body[:0], res))
}

func (x *xin) describe() string {
	if x.open.Kind == wire.KindFile {
		return fmt.Sprintf("file %q", x.open.Name)
	}
	return "text message"
}

// fail ends x with an error the sender is told with ABORT.
func (in *XInbox) fail(s *xsess, x *xin, code wire.Code, err error) {
	res := wire.Result{TID: x.open.TID, Code: code, Text: err.Error()}
	in.remember(s, wire.ABORT, res)
	in.emit(s, wire.ABORT, wire.AppendResult(in.body[:0], res))
	in.stats.Failed++
	in.evs = append(in.evs, Event{Kind: EventFailed, Peer: s.addr, Name: x.open.Name, Size: x.bytes, Err: err})
	if x.sink != nil {
		x.sink.Abort()
		x.sink = nil
	}
	in.release(s, x)
}

// drop ends x with kind (EventAborted, or 0 for no event): a file is kept
// for a resume when the store can, else discarded.
func (in *XInbox) drop(s *xsess, x *xin, kind EventKind, err error) {
	if x.sink != nil {
		if rs, ok := x.sink.(ResumableSink); ok {
			rs.Suspend()
		} else {
			x.sink.Abort()
		}
		x.sink = nil
	}
	if kind != 0 {
		in.stats.Aborted++
		in.evs = append(in.evs, Event{Kind: kind, Peer: s.addr, Name: x.open.Name, Size: x.bytes, Err: err})
	}
	in.release(s, x)
}

// release forgets x and its buffers.
func (in *XInbox) release(s *xsess, x *xin) {
	for i, b := range x.slots {
		if b != nil {
			in.buffered -= len(b)
			in.free = append(in.free, b[:0])
			x.slots[i] = nil
		}
	}
	if len(in.free) > 256 {
		clear(in.free[256:])
		in.free = in.free[:256]
	}
	x.ended = true
	if s.xfers[x.open.TID] == x {
		delete(s.xfers, x.open.TID)
		in.active--
	}
}

func (s *xsess) remember(d xdone) {
	s.done[s.ndone%doneMemory] = d
	s.ndone++
}

func (in *XInbox) remember(s *xsess, t wire.Type, r wire.Result) {
	s.remember(xdone{tid: r.TID, res: r, typ: t})
}

func (s *xsess) recall(tid uint32) *xdone {
	for i := range min(s.ndone, doneMemory) {
		if d := &s.done[i]; d.tid == tid {
			return d
		}
	}
	return nil
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

func (in *XInbox) flush(now time.Time) {
	for _, s := range in.pending {
		s.pending = false
		if in.sessions[s.sid] != s {
			continue
		}
		for _, x := range s.xfers {
			if x.unacked > 0 {
				in.sendAck(s, x, now)
			}
		}
	}
	clear(in.pending)
	in.pending = in.pending[:0]
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

// forget ends session s, reporting it as kind (EventEnd, EventGone; 0
// for none) and its unfinished transfers as aborted with err.
func (in *XInbox) forget(s *xsess, kind EventKind, err error) {
	ev := Event{Kind: kind, Peer: s.addr}
	for _, x := range s.xfers {
		if kind == EventGone {
			ev.Name, ev.Size = x.open.Name, x.bytes
			in.drop(s, x, 0, nil)
		} else {
			in.drop(s, x, EventAborted, err)
		}
	}
	if kind == EventGone {
		ev.Err = err
		in.stats.Gone++
	}
	if kind != 0 {
		in.evs = append(in.evs, ev)
	}
	delete(in.sessions, s.sid)
	delete(in.byToken, helloKey{s.addr, s.token})
	if n := in.perAddr[s.addr.Addr()] - 1; n > 0 {
		in.perAddr[s.addr.Addr()] = n
	} else {
		delete(in.perAddr, s.addr.Addr())
	}
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

// resumeKey names the partial file of a transfer: its name, size and
// modification time, hashed.
func resumeKey(o wire.Open) string {
	h := sha256.New()
	h.Write([]byte(o.Name))
	var b [16]byte
	binary.BigEndian.PutUint64(b[:], o.Size)
	binary.BigEndian.PutUint64(b[8:], uint64(o.MTime))
	h.Write(b[:])
	return fmt.Sprintf("%x", h.Sum(nil)[:12])
}
