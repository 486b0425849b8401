package rudp

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"time"

	"github.com/netkit/netkit/internal/rudp/secure"
	"github.com/netkit/netkit/internal/rudp/wire"
)

// Defaults of the extended mode.
const (
	// DefaultWindow bounds the fragments in flight of one transfer.
	DefaultWindow = 4096
	// DefaultHelloWait is how long a sender waits for the answer to its
	// HELLO before it takes the receiver for a legacy one.
	DefaultHelloWait = time.Second
	// deriveAllowance is added to the first wait for the answer to the
	// Noise handshake: Argon2id takes tens of milliseconds between the
	// WELCOME and the handshake's first message.
	deriveAllowance = 250 * time.Millisecond
	// helloRetry is the longest wait before a HELLO is sent again.
	helloRetry = 150 * time.Millisecond
	// initialCwnd is the congestion window, in fragments, before any
	// loss; minCwnd the least it falls to.
	initialCwnd = 32
	minCwnd     = 4 // fast retransmit needs reorderThreshold+1 in flight
	// beta is what a loss event leaves of the congestion window (AIMD's
	// multiplicative decrease; 0.5 is Reno's, 0.7 CUBIC's).
	beta = 0.7
	// A loss event is more than lossTolerance of the window, and more
	// than lossFloor fragments, lost in one round trip: a queue
	// overflowing loses bursts, and is backed off from, while the odd
	// datagram lost on a noisy path (1% random loss) is only resent. Loss
	// tolerance in the manner of BBR, which ignores up to 2% per round.
	lossTolerance = 0.02
	lossFloor     = 2
	// reorderThreshold: a fragment is taken for lost once a packet sent
	// this many packets after it has been received (fast retransmit, as
	// RFC 9002's kPacketThreshold).
	reorderThreshold = 3
	// maxBurst bounds the frames sent back to back by one call, and the
	// pacer's bucket.
	maxBurst = 64
	// readAhead is the chunk a sender reads its content by.
	readAhead = 256 << 10
	// sentRing remembers the send time of this many recent packets, for
	// RTT samples.
	sentRing = 1 << 14
)

type xphase uint8

const (
	xHello     xphase = iota // HELLO sent, waiting for WELCOME
	xHandshake               // Noise message 1 sent
	xReady                   // session up
	xLegacy                  // fell back to the legacy Sender
	xDone
)

// ctlFrame is the one reliable control frame outstanding: HELLO,
// HANDSHAKE, OPEN, END or PING, resent with a fresh packet number until
// answered.
type ctlFrame struct {
	typ    wire.Type
	body   []byte
	sends  int
	sentAt time.Time
	retxAt time.Time
}

// fragState is what a sender knows of one fragment in its window.
type fragState struct {
	pn    uint32 // its last transmission
	acked bool
	lost  bool // waiting in the lost queue
	sent  bool
}

// flightRec is one DATA transmission, in the order sent.
type flightRec struct {
	pn, idx uint32
	at      int64 // nanoseconds since the sender's epoch
}

// xout is the transfer in flight.
type xout struct {
	tid       uint32
	item      Item
	f         int
	count     uint32 // fragments
	base      uint32 // first fragment sent (resumed from)
	next      uint32 // next fragment never sent
	cum       uint32 // every fragment below is acked
	limit     uint32 // the receiver's flow-control limit
	window    uint32
	frags     []fragState // ring, len a power of 2 >= window
	lost      []uint32    // fragments to send again, in order found
	acked     int64       // content bytes acked
	hash      hash.Hash
	chunk     []byte // read-ahead of the content
	chunkOff  int64
	ending    bool // END sent
	accepted  bool
	startedAt time.Time
}

// XSender is the sans-IO state machine of an extended sending session,
// used the same way as Sender (Enqueue, CloseSend, Handle, Tick, Abort).
// It offers the extended protocol with a HELLO and, if the receiver does
// not answer within HelloWait (and no secret is set), falls back to a
// legacy Sender with the same queue. Once the session is up, each item is
// one transfer: OPEN, DATA fragments in a sliding window with selective
// repeat, cumulative and selective acks (SACK), fast retransmit after
// reorderThreshold later packets, RTO of RFC 6298 measured on packet
// numbers, congestion control (AIMD with slow start, recovery in the
// manner of NewReno, pacing), then END with the content's SHA-256 and the
// receiver's DONE.
type XSender struct {
	opt     SendOptions
	phase   xphase
	legacy  *Sender
	queue   []Item
	closing bool
	err     error

	token   uint64
	sid     uint32
	pn      uint32
	window  uint32 // the receiver's, from WELCOME
	keys    *secure.Keys
	ini     *secure.Initiator
	replay  secure.ReplayWindow
	ctl     *ctlFrame
	ctlBuf  ctlFrame
	helloT  time.Time // the first HELLO
	offered uint8     // the HELLO's flags

	nextTID uint32
	x       *xout

	epoch     time.Time
	rto       rtoEstimator
	cwnd      float64
	ssthresh  float64
	inflight  int
	recovery  uint32 // packets up to this one belong to the current loss event
	recovered bool   // no loss event yet
	roundEnd  uint32 // the round trip ends when this packet is acked
	roundLost int    // fragments lost in this round trip
	flight    ring[flightRec]
	sentPN    [sentRing]struct {
		pn uint32
		at int64
	}
	largest   uint32 // the receiver's highest packet number seen
	rtoAt     time.Time
	tlpAt     time.Time // a tail loss probe is due (RFC 8985)
	tlps      int       // probes sent since the last new ack
	tokens    float64
	paceAt    time.Time // when the pacer was last filled
	paceBlock bool      // the pacer stopped this call's fill
	more      bool      // this call's fill stopped at maxBurst

	lastHeard time.Time // the last valid answer, or when the wait began
	answered  bool      // a valid answer has arrived in this session
	waiting   bool
	idleSince time.Time // last activity, for PING
	lastFrags []fragState

	stats  Stats
	damage int // 1 + the bit the next frame emitted gets flipped at; 0 none
	ack    wire.Ack
	body   []byte
	open   []byte // a sealed frame opened
	bufs   [][]byte
	nbuf   int
	dgrm   [][]byte
	evs    []Event
	out    Output
}

// NewXSender returns an XSender with the options o. o.Secret makes the
// session sealed; it then never falls back to legacy.
func NewXSender(o SendOptions) (*XSender, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if o.Window < 0 || o.HelloWait < 0 {
		return nil, errors.New("rudp: negative send option")
	}
	o.Window = or(o.Window, DefaultWindow)
	o.HelloWait = or(o.HelloWait, DefaultHelloWait)
	var tok [8]byte
	rand.Read(tok[:])
	s := &XSender{
		opt:       o,
		token:     binary.BigEndian.Uint64(tok[:]),
		rto:       newRTO(o.InitialRTO, o.MinRTO, o.MaxRTO),
		cwnd:      initialCwnd,
		ssthresh:  math.Inf(1),
		recovered: true,
		body:      make([]byte, 0, wire.MaxExtFrame),
		open:      make([]byte, 0, wire.MaxExtFrame),
		dgrm:      make([][]byte, 0, maxBurst),
	}
	return s, nil
}

// Enqueue adds it to the queue, as Sender.Enqueue.
func (s *XSender) Enqueue(it Item) error {
	if s.phase == xLegacy {
		return s.legacy.Enqueue(it)
	}
	if s.closing || s.phase == xDone {
		return ErrClosed
	}
	if len(s.queue) >= s.opt.MaxQueue {
		return ErrQueueFull
	}
	if it.data == nil || (it.kind != wire.KindText && it.kind != wire.KindFile) {
		return fmt.Errorf("rudp: empty item: build one with Text, File or OpenFile")
	}
	if it.kind == wire.KindFile {
		if _, err := wire.SanitizeName(it.name); err != nil {
			return fmt.Errorf("rudp: cannot send %s: %w", it.describe(), err)
		}
	}
	if f := s.fragSize(it); f < 1 || f > wire.MaxData {
		return fmt.Errorf("rudp: cannot send %s: %w: fragment size %d, want 1..%d", it.describe(), wire.ErrSize, f, wire.MaxData)
	} else if wire.Fragments(uint64(it.size), f) > math.MaxUint32 {
		return fmt.Errorf("rudp: cannot send %s: %w: %d bytes in fragments of %d", it.describe(), wire.ErrLength, it.size, f)
	}
	if it.corruptEvery < 0 {
		return fmt.Errorf("rudp: cannot send %s: negative corrupt-every %d", it.describe(), it.corruptEvery)
	}
	s.queue = append(s.queue, it)
	return nil
}

// fragSize is it's fragment size in the extended mode.
func (s *XSender) fragSize(it Item) int {
	if it.fragSize != 0 {
		return it.fragSize
	}
	if s.opt.fragSet {
		return s.opt.FragmentSize
	}
	if s.opt.Secret != "" {
		return wire.MaxSealedData
	}
	return wire.MaxPlainData
}

// CloseSend ends the session once the queue is drained.
func (s *XSender) CloseSend() {
	s.closing = true
	if s.phase == xLegacy {
		s.legacy.CloseSend()
	}
}

// Done reports whether the session has ended.
func (s *XSender) Done() bool {
	if s.phase == xLegacy {
		return s.legacy.Done()
	}
	return s.phase == xDone
}

// Err returns why the session failed, or nil.
func (s *XSender) Err() error {
	if s.phase == xLegacy {
		return s.legacy.Err()
	}
	return s.err
}

// Legacy reports whether the session fell back to the legacy protocol.
func (s *XSender) Legacy() bool { return s.phase == xLegacy }

// Stats returns the counters so far.
func (s *XSender) Stats() Stats {
	if s.phase == xLegacy {
		st := s.legacy.Stats()
		st.Frames += s.stats.Frames
		st.WireBytes += s.stats.WireBytes
		st.Legacy = true
		return st
	}
	st := s.stats
	st.SRTT, st.RTTVar, st.RTTSamples, st.RTO = s.rto.srtt, s.rto.rttvar, s.rto.samples, s.rto.rto
	st.Cwnd = int(s.cwnd)
	st.Extended, st.Sealed = true, s.keys != nil
	if s.keys != nil {
		st.Cipher = s.keys.Cipher().String()
	}
	return st
}

// Progress describes the item in flight.
func (s *XSender) Progress() Progress {
	if s.phase == xLegacy {
		return s.legacy.Progress()
	}
	if s.x == nil {
		return Progress{Queued: len(s.queue)}
	}
	return Progress{Active: true, File: s.x.item.IsFile(), Name: s.x.item.name, Done: s.x.acked, Size: s.x.item.size, Queued: len(s.queue)}
}

// Handle takes one datagram from the receiver.
func (s *XSender) Handle(datagram []byte, now time.Time) Output {
	if s.phase == xLegacy {
		return s.legacy.Handle(datagram, now)
	}
	s.reset()
	if s.phase == xDone {
		return s.output()
	}
	s.stats.Received++
	if !wire.IsExtended(datagram) {
		// A legacy answer to a HELLO: a legacy receiver that answers
		// what it does not know. Fall back at once.
		if s.phase == xHello && s.opt.Secret == "" {
			if f, err := wire.Parse(datagram); err == nil && (f.Type == wire.ACK || f.Type == wire.NACK || f.Type == wire.FIN) {
				return s.fallback(now)
			}
		}
		s.stats.Dropped++
		return s.output()
	}
	h, body, ok := s.unseal(datagram)
	if s.opt.Trace != nil {
		s.trace(TraceIn, datagram, body, ok, false)
	}
	if !ok {
		s.stats.Dropped++
		return s.output()
	}
	// Only a valid answer shows that the receiver is there: junk, stale
	// answers and the sender's own frames coming back leave the timeout
	// running.
	bad := s.stats.Stale + s.stats.Dropped
	s.dispatch(h, body, now)
	if s.stats.Stale+s.stats.Dropped == bad {
		s.lastHeard = now
		s.answered = true
	}
	s.pump(now)
	return s.output()
}

// dispatch handles one valid extended frame from the receiver.
func (s *XSender) dispatch(h wire.XHeader, body []byte, now time.Time) {
	switch h.Type {
	case wire.HELLO, wire.OPEN, wire.DATA, wire.END, wire.PING:
		// A receiver sends none. The HELLO just sent, coming back, is an
		// echo service's doing.
		s.stats.Dropped++
		if hl, err := wire.ParseHello(body); h.Type == wire.HELLO && err == nil && hl.Token == s.token && !s.answered {
			s.fail(ErrEcho)
		}
	case wire.WELCOME:
		s.welcome(h, body, now)
	case wire.REJECT:
		r, err := wire.ParseReject(body)
		if err == nil && r.Token == s.token && (s.phase == xHello || s.phase == xHandshake) {
			s.fail(rejectError(r))
		} else {
			s.stats.Dropped++
		}
	case wire.HANDSHAKE:
		s.handshake(h, body, now)
	case wire.ACCEPT:
		s.accept(body, now)
	case wire.SACK:
		if err := wire.ParseAck(body, &s.ack); err != nil {
			s.stats.Dropped++
		} else {
			s.sack(now)
		}
	case wire.DONE, wire.ABORT:
		s.result(h.Type, body, now)
	case wire.PONG:
		if s.ctl != nil && s.ctl.typ == wire.PING {
			s.ctlAnswered(now)
		}
	case wire.CLOSE:
		if s.x != nil {
			s.fail(fmt.Errorf("%w: the receiver closed the session during %s", ErrRefused, s.x.item.describe()))
		} else {
			s.fail(ErrPeerClosed)
		}
	default:
		s.stats.Dropped++
	}
}

// unseal checks a datagram's crc, or opens its sealed body, and returns
// its header and body.
func (s *XSender) unseal(b []byte) (wire.XHeader, []byte, bool) {
	sealed := s.keys != nil && wire.Type(b[8]).Sealable()
	h, body, err := wire.ParseXHeader(b, !sealed)
	if err != nil {
		return h, nil, false
	}
	if s.phase != xHello && h.Session != s.sid {
		return h, nil, false
	}
	if sealed {
		if !s.replay.Check(uint64(h.PN)) {
			s.stats.Replays++
			return h, nil, false
		}
		pt, err := s.keys.Open(s.open[:0], uint64(h.PN), b[:9], body)
		if err != nil || !s.replay.Accept(uint64(h.PN)) {
			return h, nil, false
		}
		body = pt
	} else if s.keys != nil && h.Type.Sealable() {
		return h, nil, false
	} else if s.keys == nil && s.opt.Secret != "" && h.Type.Sealable() {
		return h, nil, false // a sealed session's frame before its keys
	}
	return h, body, true
}

// Tick tells the XSender that time has come to now.
func (s *XSender) Tick(now time.Time) Output {
	if s.phase == xLegacy {
		return s.legacy.Tick(now)
	}
	s.reset()
	if s.phase == xDone {
		return s.output()
	}
	if s.epoch.IsZero() {
		s.epoch = now
		s.start(now)
		return s.output()
	}
	if s.waiting && !now.Before(s.lastHeard.Add(s.opt.Timeout)) {
		if s.phase == xHello {
			return s.fallback(now) // or fail, with a secret
		}
		s.abort(fmt.Errorf("%w: no answer for %v", ErrPeerGone, s.opt.Timeout), wire.CodeGone)
		return s.output()
	}
	if s.phase == xHello && s.opt.Secret == "" && !now.Before(s.helloT.Add(s.opt.HelloWait)) {
		return s.fallback(now) // a sealed sender cannot fall back: it waits for Timeout
	}
	if c := s.ctl; c != nil && !now.Before(c.retxAt) {
		s.stats.Timeouts++
		s.rto.timedOut()
		s.sendCtl(now)
	}
	if x := s.x; x != nil && x.accepted && s.inflight > 0 && !s.rtoAt.IsZero() && !now.Before(s.rtoAt) {
		s.timeout(now)
	} else if s.probeDue(now) {
		s.probe(now)
	}
	s.pump(now)
	return s.output()
}

// Abort ends the session at once with err.
func (s *XSender) Abort(err error) Output {
	if s.phase == xLegacy {
		return s.legacy.Abort(err)
	}
	s.reset()
	s.abort(err, wire.CodeCancelled)
	return s.output()
}

// start sends the HELLO.
func (s *XSender) start(now time.Time) {
	s.helloT = now
	s.lastHeard = now
	s.waiting = true
	var flags uint8
	if s.opt.Secret != "" {
		flags |= wire.FlagSecret
		if !s.opt.NoAES && aesHardware() {
			flags |= wire.FlagAESGCM
		}
	}
	s.offered = flags
	s.setCtl(wire.HELLO, wire.AppendHello(nil, wire.Hello{Version: wire.Version, Flags: flags, Token: s.token}), now)
}

// fallback gives the session to a legacy Sender.
func (s *XSender) fallback(now time.Time) Output {
	if s.opt.Secret != "" {
		s.fail(fmt.Errorf("%w: no answer to the extended HELLO within %v: the receiver is a legacy one, or nothing listens (legacy mode cannot encrypt, so --secret needs a netkit receiver)", ErrPeerGone, s.opt.Timeout))
		return s.output()
	}
	o := s.opt
	m, err := NewSender(o)
	if err != nil {
		s.fail(err)
		return s.output()
	}
	// The wait for an answer goes on: Timeout bounds it from the first
	// HELLO, not from the fallback.
	m.waiting, m.silentSince = s.waiting, s.lastHeard
	for _, it := range s.queue {
		if err := m.Enqueue(it); err != nil {
			s.fail(err)
			return s.output()
		}
	}
	if s.closing {
		m.CloseSend()
	}
	s.queue, s.ctl = nil, nil
	s.legacy, s.phase = m, xLegacy
	return m.Tick(now)
}

// welcome handles the receiver's WELCOME.
func (s *XSender) welcome(h wire.XHeader, body []byte, now time.Time) {
	w, err := wire.ParseWelcome(body)
	if err != nil || w.Token != s.token || s.phase != xHello || h.Session == 0 {
		s.stats.Stale++
		return
	}
	if w.Version != wire.Version {
		s.fail(fmt.Errorf("%w: the receiver speaks extended version %d, this sender %d", ErrRefused, w.Version, wire.Version))
		return
	}
	s.sampleCtl(now)
	s.sid, s.window = h.Session, w.Window
	secret := s.opt.Secret != ""
	switch {
	case secret && w.Flags&wire.FlagSecret == 0:
		s.fail(fmt.Errorf("%w: the receiver has no secret: run it with --secret too", ErrRefused))
		return
	case !secret:
		s.ready(now)
		return
	}
	// Stretch the passphrase with the receiver's salt, then Noise.
	psk, err := deriveKey(s.opt.Secret, w.Salt[:])
	if err != nil {
		s.fail(err)
		return
	}
	c := secure.ChaCha20Poly1305
	if w.Flags&s.offered&wire.FlagAESGCM != 0 {
		c = secure.AES256GCM
	}
	s.ini, err = secure.NewInitiatorCipher(psk, prologue(s.sid, s.token, w.Salt[:], c), c)
	if err != nil {
		s.fail(err)
		return
	}
	msg, err := s.ini.Hello(nil, nil)
	if err != nil {
		s.fail(err)
		return
	}
	s.phase = xHandshake
	s.setCtl(wire.HANDSHAKE, msg, now)
}

// prologue binds the Noise handshake to the session it runs in.
// The cipher chosen is bound in too, but for ChaCha20-Poly1305, the one
// peers of before the choice know: a WELCOME whose choice was altered on
// the way fails the handshake.
func prologue(sid uint32, token uint64, salt []byte, c secure.Cipher) []byte {
	p := []byte("netkit rudp 1")
	p = binary.BigEndian.AppendUint32(p, sid)
	p = binary.BigEndian.AppendUint64(p, token)
	p = append(p, salt...)
	if c != secure.ChaCha20Poly1305 {
		p = append(p, c.String()...)
	}
	return p
}

// aesHardware reports whether to offer AES-256-GCM: secure.HasAESHardware,
// which tests replace to run both ciphers on any CPU.
var aesHardware = secure.HasAESHardware

// handshake handles the receiver's Noise message 2.
func (s *XSender) handshake(h wire.XHeader, body []byte, now time.Time) {
	if s.phase != xHandshake {
		s.stats.Stale++
		return
	}
	_, keys, err := s.ini.Finish(body)
	if err != nil {
		s.stats.Dropped++ // forged or damaged: the real one may follow
		return
	}
	s.sampleCtl(now)
	s.keys, s.ini = keys, nil
	s.ready(now)
}

func (s *XSender) ready(now time.Time) {
	s.phase = xReady
	s.ctl = nil
	s.idleSince = now
	s.waiting = false
}

// pump starts the next item, ends the session, or sends what the windows
// allow.
func (s *XSender) pump(now time.Time) {
	if s.phase != xReady {
		return
	}
	if s.x == nil && s.ctl == nil {
		switch {
		case len(s.queue) > 0:
			it := s.queue[0]
			s.queue[0] = Item{}
			s.queue = s.queue[1:]
			s.begin(it, now)
		case s.closing:
			s.abort(nil, 0)
			return
		case s.opt.KeepAlive > 0 && s.stats.Items > 0 && !now.Before(s.idleSince.Add(s.opt.KeepAlive)):
			s.stats.KeepAlives++
			s.setCtl(wire.PING, nil, now)
		}
	}
	if s.x != nil && s.x.accepted && !s.x.ending {
		s.fill(now)
	}
}

// begin opens the transfer of it.
func (s *XSender) begin(it Item, now time.Time) {
	s.nextTID++
	f := s.fragSize(it)
	count := uint32(wire.Fragments(uint64(it.size), f))
	w := min(uint32(s.opt.Window), s.window)
	ring := 1
	for ring < int(w) {
		ring <<= 1
	}
	x := &xout{tid: s.nextTID, item: it, f: f, count: count, window: w, hash: sha256.New(), startedAt: now}
	if cap(s.frags()) >= ring {
		x.frags = s.frags()[:ring]
		clear(x.frags)
	} else {
		x.frags = make([]fragState, ring)
	}
	s.x = x
	var mtime int64
	if it.IsFile() {
		mtime = it.mtime
	}
	s.setCtl(wire.OPEN, wire.AppendOpen(nil, wire.Open{TID: x.tid, Kind: it.kind, FragSize: uint16(f), Size: uint64(it.size), MTime: mtime, Name: it.name}), now)
}

// frags returns the ring of the last transfer, for reuse.
func (s *XSender) frags() []fragState {
	if s.x != nil {
		return s.x.frags
	}
	return s.lastFrags
}

// accept handles the receiver's ACCEPT of the transfer opened.
func (s *XSender) accept(body []byte, now time.Time) {
	a, err := wire.ParseAccept(body)
	x := s.x
	if err != nil || x == nil || a.TID != x.tid {
		s.stats.Stale++
		return
	}
	if x.accepted {
		return // a repeat: its OPEN was resent
	}
	if a.Offset > uint64(x.item.size) || a.Offset%uint64(x.f) != 0 {
		s.abort(fmt.Errorf("rudp: the receiver asked to resume %s at %d, not a fragment boundary within its %d bytes", x.item.describe(), a.Offset, x.item.size), wire.CodeProtocol)
		return
	}
	s.sampleCtl(now)
	s.ctl = nil
	x.accepted = true
	x.window = min(x.window, a.Window)
	x.base = uint32(a.Offset / uint64(x.f))
	x.next, x.cum = x.base, x.base
	x.limit = x.base + x.window
	x.acked = int64(a.Offset)
	s.stats.Resumed += int64(a.Offset)
	if a.Offset > 0 {
		// What the receiver has is part of the SHA-256 too.
		if err := s.hashPrefix(int64(a.Offset)); err != nil {
			s.abort(err, wire.CodeCancelled)
			return
		}
	}
	if x.count == x.base {
		s.end(now)
	}
}

// hashPrefix hashes the first n bytes of the content, which a resumed
// transfer does not send.
func (s *XSender) hashPrefix(n int64) error {
	x := s.x
	buf := make([]byte, readAhead)
	for off := int64(0); off < n; {
		m := int(min(int64(len(buf)), n-off))
		k, err := x.item.data.ReadAt(buf[:m], off)
		if k < m {
			if err == nil || errors.Is(err, io.EOF) {
				err = ErrChanged
			}
			return fmt.Errorf("rudp: reading %s: %w", x.item.describe(), err)
		}
		x.hash.Write(buf[:m])
		off += int64(m)
	}
	return nil
}

// fill sends the fragments the windows and the pacer allow: lost ones
// first, then new ones.
func (s *XSender) fill(now time.Time) {
	s.refillPacer(now)
	for float64(s.inflight) < s.cwnd {
		if s.nbuf >= maxBurst {
			s.more = true // the burst is full: call again at once
			return
		}
		if s.tokens < 1 {
			s.paceBlock = true
			return
		}
		idx, first, ok := s.pick()
		if !ok {
			return
		}
		if !s.sendData(idx, first, now) {
			return
		}
		s.tokens--
	}
}

// pick chooses the next fragment to send: the first lost one still
// unacked, else the next new one the windows allow.
func (s *XSender) pick() (idx uint32, first, ok bool) {
	x := s.x
	mask := uint32(len(x.frags) - 1)
	for len(x.lost) > 0 {
		idx = x.lost[0]
		x.lost = x.lost[1:]
		if len(x.lost) == 0 {
			x.lost = x.lost[:0:cap(x.lost)]
		}
		st := &x.frags[idx&mask]
		if idx < x.cum || st.acked || !st.lost {
			continue
		}
		s.stats.Retransmissions++
		return idx, false, true
	}
	if x.next < x.count && x.next < x.limit && x.next < x.cum+x.window {
		x.next++
		return x.next - 1, true, true
	}
	return 0, false, false
}

// refillPacer adds the tokens earned since the last fill: the congestion
// window spread over the smoothed RTT, twice as fast in slow start and a
// quarter faster after, as Linux paces TCP.
func (s *XSender) refillPacer(now time.Time) {
	if s.rto.samples == 0 || s.rto.srtt <= 0 {
		s.tokens = maxBurst
		s.paceAt = now
		return
	}
	gain := 1.25
	if s.cwnd < s.ssthresh {
		gain = 2
	}
	rate := gain * s.cwnd / s.rto.srtt.Seconds() // fragments per second
	s.tokens = min(s.tokens+rate*now.Sub(s.paceAt).Seconds(), maxBurst)
	s.paceAt = now
}

// paceDeadline is when the pacer will have a token again.
func (s *XSender) paceDeadline() time.Time {
	if !s.paceBlock || s.rto.srtt <= 0 {
		return time.Time{}
	}
	gain := 1.25
	if s.cwnd < s.ssthresh {
		gain = 2
	}
	rate := gain * s.cwnd / s.rto.srtt.Seconds()
	wait := time.Duration((1 - s.tokens) / rate * float64(time.Second))
	return s.paceAt.Add(max(wait, 10*time.Microsecond))
}

// sendData sends DATA idx; first says it has never been sent.
func (s *XSender) sendData(idx uint32, first bool, now time.Time) bool {
	x := s.x
	start := int64(idx) * int64(x.f)
	n := int(min(int64(x.f), x.item.size-start))
	frag, err := s.fragment(start, n, first)
	if err != nil {
		s.abort(fmt.Errorf("rudp: reading %s: %w", x.item.describe(), err), wire.CodeCancelled)
		return false
	}
	if first {
		x.hash.Write(frag)
	}
	body := wire.AppendDataHead(s.body[:0], x.tid, idx)
	body = append(body, frag...)
	pn := s.pn
	if cv := s.corruptEvery(); first && cv > 0 && (uint64(idx)+1)%uint64(cv) == 0 && s.keys == nil {
		s.damage = int(idx*37) + 1 // emitFrame damages it after its crc
		s.stats.Corrupted++
	}
	s.emitFrame(wire.DATA, body)
	st := &x.frags[idx&uint32(len(x.frags)-1)]
	st.pn, st.sent, st.lost = pn, true, false
	at := now.Sub(s.epoch).Nanoseconds() + 1 // 0 is never sent
	s.flight.push(flightRec{pn: pn, idx: idx, at: at})
	s.sentPN[pn%sentRing] = struct {
		pn uint32
		at int64
	}{pn, at}
	s.inflight++
	if s.rtoAt.IsZero() || s.inflight == 1 {
		s.rtoAt = now.Add(s.rto.rto)
	}
	if s.inflight == 1 {
		s.tlpAt = now.Add(s.pto())
	}
	s.waitFrom(now)
	return true
}

func (s *XSender) corruptEvery() int {
	if s.x.item.corruptEvery > 0 {
		return s.x.item.corruptEvery
	}
	return s.opt.CorruptEvery
}

// fragment returns n content bytes at start: from the read-ahead chunk
// for a first transmission, read again otherwise.
func (s *XSender) fragment(start int64, n int, first bool) ([]byte, error) {
	x := s.x
	if start >= x.chunkOff && start+int64(n) <= x.chunkOff+int64(len(x.chunk)) {
		return x.chunk[start-x.chunkOff : start-x.chunkOff+int64(n)], nil
	}
	if !first {
		buf := s.open[:n] // free between Handle calls
		if k, err := x.item.data.ReadAt(buf, start); k < n {
			if err == nil || errors.Is(err, io.EOF) {
				err = fmt.Errorf("%w: %d bytes at offset %d, want %d", ErrChanged, k, start, n)
			}
			return nil, err
		}
		return buf, nil
	}
	if cap(x.chunk) == 0 {
		x.chunk = make([]byte, 0, min(readAhead, max(x.item.size, 1)))
	}
	m := int(min(int64(cap(x.chunk)), x.item.size-start))
	x.chunk = x.chunk[:m]
	x.chunkOff = start
	if k, err := x.item.data.ReadAt(x.chunk, start); k < m {
		if err == nil || errors.Is(err, io.EOF) {
			err = fmt.Errorf("%w: %d bytes at offset %d, want %d", ErrChanged, k, start, m)
		}
		x.chunk = x.chunk[:0]
		return nil, err
	}
	return x.chunk[:n], nil
}

// sack handles a SACK of the transfer in flight.
func (s *XSender) sack(now time.Time) {
	a, x := &s.ack, s.x
	if x == nil || a.TID != x.tid || !x.accepted {
		s.stats.Stale++
		return
	}
	s.stats.Acks++
	// An RTT sample from the highest packet number received, if it is
	// new and was a DATA still remembered.
	if a.Largest >= s.largest || s.largest == 0 {
		if e := s.sentPN[a.Largest%sentRing]; e.pn == a.Largest && e.at != 0 && (a.Largest > s.largest || s.rto.samples == 0) {
			rtt := now.Sub(s.epoch) - time.Duration(e.at-1) - time.Duration(a.Delay)*time.Microsecond
			if rtt > 0 {
				s.rto.sample(rtt)
			}
		}
		s.largest = a.Largest
	}
	if a.Limit > x.limit {
		x.limit = a.Limit
	}
	newly := 0
	mask := uint32(len(x.frags) - 1)
	mark := func(i uint32) {
		st := &x.frags[i&mask]
		if !st.sent || st.acked {
			return
		}
		st.acked = true
		newly++
		if !st.lost {
			s.inflight--
		}
		st.lost = false
		n := int64(x.f)
		if int64(i)*int64(x.f)+n > x.item.size {
			n = x.item.size - int64(i)*int64(x.f)
		}
		x.acked += n
	}
	if a.Cum > x.next {
		s.stats.Dropped++ // acks what was never sent
		return
	}
	for ; x.cum < a.Cum; x.cum++ {
		mark(x.cum)
		x.frags[x.cum&mask] = fragState{}
	}
	for _, r := range a.Ranges[:a.N] {
		for i := max(r.Start, x.cum); i < r.End && i < x.next; i++ {
			mark(i)
		}
	}
	if newly > 0 {
		s.rto.progress()
		s.rtoAt = now.Add(s.rto.rto)
		s.tlpAt, s.tlps = now.Add(s.pto()), 0
		s.grow(newly)
	}
	s.detectLoss(now)
	if x.cum == x.count {
		s.end(now)
	}
}

// grow opens the congestion window for newly acked fragments: one per
// fragment in slow start, one per window after (AIMD's additive
// increase). A recovery ends with the first ack of a packet sent after it
// began.
func (s *XSender) grow(newly int) {
	if !s.recovered && s.ack.Largest > s.recovery {
		s.recovered = true
	}
	if !s.recovered {
		return
	}
	if s.cwnd < s.ssthresh {
		s.cwnd += float64(newly)
	} else {
		s.cwnd += float64(newly) / s.cwnd
	}
	s.cwnd = min(s.cwnd, float64(s.x.window))
}

// detectLoss takes for lost each fragment still unacked whose packet was
// followed by reorderThreshold packets the receiver has seen.
func (s *XSender) detectLoss(now time.Time) {
	for {
		r, ok := s.oldestInFlight()
		if !ok || r.pn+reorderThreshold > s.largest {
			return
		}
		s.flight.pop()
		s.lose(r.idx, r.pn)
	}
}

// oldestInFlight drops from the front of the flight the records that are
// no longer in flight (acked, already taken for lost, or sent again
// since) and returns the first that is, left in place.
func (s *XSender) oldestInFlight() (flightRec, bool) {
	x := s.x
	for s.flight.len() > 0 {
		r := s.flight.front()
		st := &x.frags[r.idx&uint32(len(x.frags)-1)]
		if r.idx >= x.cum && r.idx < x.next && !st.acked && !st.lost && st.pn == r.pn {
			return r, true
		}
		s.flight.pop()
	}
	return flightRec{}, false
}

// markLost moves fragment idx from the flight to the lost queue, to be
// sent again.
func (s *XSender) markLost(idx uint32) {
	x := s.x
	x.frags[idx&uint32(len(x.frags)-1)].lost = true
	s.inflight--
	x.lost = append(x.lost, idx)
}

// lose puts fragment idx, sent as packet pn, in the lost queue, and
// reduces the congestion window once per loss event: when losses in one
// round trip pass the tolerance, once per round trip (NewReno's
// recovery).
func (s *XSender) lose(idx, pn uint32) {
	s.markLost(idx)
	s.stats.Lost++
	s.nextRound()
	s.roundLost++
	if float64(s.roundLost) > max(lossFloor, lossTolerance*s.cwnd) && (s.recovered || pn > s.recovery) {
		s.recovered = false
		s.recovery = s.pn - 1
		s.ssthresh = max(s.cwnd*beta, minCwnd)
		s.cwnd = s.ssthresh
		s.roundLost = 0
		s.stats.LossEvents++
	}
}

// nextRound starts a new round trip once the packet that ended the last
// one is acked.
func (s *XSender) nextRound() {
	if s.largest >= s.roundEnd {
		s.roundEnd = s.pn
		s.roundLost = 0
	}
}

// pto is how long a tail loss probe waits for an ack: two smoothed
// round trips (RFC 8985), at least a millisecond, at most the RTO.
func (s *XSender) pto() time.Duration {
	if s.rto.samples == 0 {
		return s.rto.rto
	}
	return min(max(2*s.rto.srtt, time.Millisecond), s.rto.rto)
}

// maxProbes bounds the tail loss probes between two new acks; then the
// RTO takes over.
const maxProbes = 2

// probeDue reports whether a tail loss probe is due: fragments in flight
// and no ack for a PTO.
func (s *XSender) probeDue(now time.Time) bool {
	x := s.x
	return x != nil && x.accepted && !x.ending && s.inflight > 0 && s.tlps < maxProbes && !s.tlpAt.IsZero() && !now.Before(s.tlpAt)
}

// probe resends the oldest fragment in flight, without touching the
// congestion window (RFC 8985's tail loss probe): when the last
// fragments of a window are lost, too few packets follow them for fast
// retransmit, and a probe costs a round trip where the RTO costs tens of
// milliseconds.
func (s *XSender) probe(now time.Time) {
	if r, ok := s.oldestInFlight(); ok {
		s.flight.pop()
		s.markLost(r.idx)
		s.stats.Probes++
	}
	s.tlps++
	s.tlpAt = now.Add(s.pto())
}

// timeout handles an RTO with fragments in flight and no ack for it:
// every fragment in flight is taken for lost, the window falls to its
// least, and the RTO doubles.
func (s *XSender) timeout(now time.Time) {
	s.stats.Timeouts++
	s.rto.timedOut()
	for {
		r, ok := s.oldestInFlight()
		if !ok {
			break
		}
		s.flight.pop()
		s.markLost(r.idx)
		s.stats.Lost++
	}
	s.ssthresh = max(s.cwnd*beta, minCwnd)
	s.cwnd = minCwnd
	s.recovered = false
	s.recovery = s.pn - 1
	s.rtoAt = now.Add(s.rto.rto)
}

// end sends END with the content's SHA-256 once every fragment is acked.
func (s *XSender) end(now time.Time) {
	x := s.x
	if x.ending {
		return
	}
	x.ending = true
	e := wire.End{TID: x.tid}
	x.hash.Sum(e.Sum[:0])
	s.rtoAt = time.Time{}
	s.setCtl(wire.END, wire.AppendEnd(nil, e), now)
}

// result handles DONE or ABORT from the receiver.
func (s *XSender) result(t wire.Type, body []byte, now time.Time) {
	r, err := wire.ParseResult(body)
	x := s.x
	if err == nil && t == wire.ABORT && r.TID == 0 && r.Code == wire.CodeShutdown {
		// The session's end, from a receiver shutting down: between
		// transfers, or after the ABORT of one was lost.
		if x != nil {
			s.fail(fmt.Errorf("%w: %w during %s", ErrRefused, ErrShuttingDown, x.item.describe()))
		} else {
			s.fail(fmt.Errorf("%w: %w", ErrPeerClosed, ErrShuttingDown))
		}
		return
	}
	if err != nil || x == nil || r.TID != x.tid {
		s.stats.Stale++
		return
	}
	if t == wire.DONE && r.Code == wire.CodeOK {
		if !x.ending {
			s.stats.Dropped++ // DONE before END: ignore
			return
		}
		s.sampleCtl(now)
		ev := Event{Kind: EventText, Text: x.item.text, Size: x.item.size}
		if x.item.IsFile() {
			ev = Event{Kind: EventFile, Name: x.item.name, Path: r.Text, Size: x.item.size}
		}
		s.stats.Bytes += x.item.size - int64(s.resumedOf(x))
		s.evs = append(s.evs, ev)
		s.stats.Items++
		s.finish(now)
		return
	}
	msg := r.Text
	if msg == "" {
		msg = r.Code.String()
	}
	s.emitFrame(wire.CLOSE, nil) // the receiver may forget the session now
	s.fail(fmt.Errorf("%w: the receiver refused %s: %s", codeErr(r.Code), x.item.describe(), msg))
}

func (s *XSender) resumedOf(x *xout) uint64 { return uint64(x.base) * uint64(x.f) }

// finish ends the transfer in flight.
func (s *XSender) finish(now time.Time) {
	s.lastFrags = s.x.frags
	s.x = nil
	s.ctl = nil
	s.flight.clear()
	s.inflight = 0
	s.rtoAt = time.Time{}
	s.idleSince = now
	s.waiting = false
}

// setCtl makes body, of type t, the control frame outstanding and sends
// it.
func (s *XSender) setCtl(t wire.Type, body []byte, now time.Time) {
	s.ctlBuf = ctlFrame{typ: t, body: body}
	s.ctl = &s.ctlBuf
	s.sendCtl(now)
}

func (s *XSender) sendCtl(now time.Time) {
	c := s.ctl
	if c.sends > 0 {
		s.stats.Retransmissions++
	}
	c.sends++
	c.sentAt = now
	c.retxAt = now.Add(s.rto.rto)
	switch {
	case c.typ == wire.HELLO:
		// Several tries within HelloWait, so that a lossy path is not
		// taken for a legacy receiver.
		c.retxAt = now.Add(min(s.rto.rto, helloRetry))
	case c.typ == wire.HANDSHAKE && c.sends == 1:
		// now is when the WELCOME arrived; stretching the secret took
		// some of the time since (the machine reads no clock).
		c.retxAt = c.retxAt.Add(deriveAllowance)
	}
	s.emitFrame(c.typ, c.body)
	s.waitFrom(now)
}

// sampleCtl takes an RTT sample from the answer to the control frame,
// when it was sent once.
func (s *XSender) sampleCtl(now time.Time) {
	if c := s.ctl; c != nil && c.sends == 1 && c.typ != wire.END && c.typ != wire.HANDSHAKE {
		s.rto.sample(now.Sub(c.sentAt))
	} else {
		s.rto.progress()
	}
}

// ctlAnswered clears the control frame outstanding.
func (s *XSender) ctlAnswered(now time.Time) {
	s.sampleCtl(now)
	s.ctl = nil
	if s.x == nil {
		s.waiting = false
		s.idleSince = now
	}
}

// waitFrom notes that an answer is awaited from now on.
func (s *XSender) waitFrom(now time.Time) {
	if !s.waiting {
		s.waiting = true
		s.lastHeard = now
	}
}

// abort ends the session with CLOSE (and ABORT of the transfer in
// flight); err nil is the normal end.
func (s *XSender) abort(err error, code wire.Code) {
	if s.phase == xDone {
		return
	}
	if s.phase == xReady {
		if s.x != nil {
			s.emitFrame(wire.ABORT, wire.AppendResult(s.body[:0], wire.Result{TID: s.x.tid, Code: code, Text: errText(err)}))
		}
		s.emitFrame(wire.CLOSE, nil)
	}
	s.fail(err)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// fail ends the session without a word to the peer.
func (s *XSender) fail(err error) {
	s.phase, s.err = xDone, err
	s.x, s.queue, s.ctl = nil, nil, nil
	s.waiting = false
}

// emitFrame encodes a frame of type t around body, sealed when the
// session is, and queues it for sending. It returns the frame.
func (s *XSender) emitFrame(t wire.Type, body []byte) []byte {
	if s.nbuf == len(s.bufs) {
		s.bufs = append(s.bufs, make([]byte, 0, wire.MaxExtFrame))
	}
	b := s.bufs[s.nbuf][:0]
	s.nbuf++
	b = wire.AppendXHeader(b, wire.XHeader{Session: s.sid, PN: s.pn, Type: t})
	if s.keys != nil && t.Sealable() {
		b = s.keys.Seal(b, uint64(s.pn), b[:9], body)
	} else {
		b = append(b, body...)
		wire.SetCRC(b)
	}
	s.pn++
	damaged := s.damage > 0
	if damaged {
		wire.Corrupt(b, s.damage-1)
		s.damage = 0
	}
	s.dgrm = append(s.dgrm, b)
	if s.opt.Trace != nil {
		s.trace(TraceOut, b, body, true, damaged)
	}
	s.stats.Frames++
	s.stats.WireBytes += uint64(len(b))
	return b
}

// trace reports an extended frame to opt.Trace, with its body in the
// clear; ok false means it was dropped.
func (s *XSender) trace(dir string, raw, body []byte, ok, damaged bool) {
	h, _, _ := wire.ParseXHeader(raw, false)
	tr := FrameTrace{Dir: dir, Raw: raw, Ext: true, XHeader: h, Body: body, Damaged: damaged}
	if !ok {
		tr.Body, tr.Err = nil, errDropped
	}
	s.opt.Trace(tr)
}

// errDropped is the Err of a trace of a frame a state machine dropped:
// malformed, of another session, not opening, a replay.
var errDropped = errors.New("malformed, stale or not opening")

func (s *XSender) reset() {
	clear(s.evs)
	s.evs = s.evs[:0]
	s.dgrm = s.dgrm[:0]
	s.nbuf = 0
	// Only this call's fill may ask for an early call: a flag left from
	// an earlier one would make a deadline in the past for good, and a
	// driver that reads the socket with it as read deadline would never
	// read again.
	s.paceBlock, s.more = false, false
}

// output assembles what the call produced, with the next deadline.
func (s *XSender) output() Output {
	var d time.Time
	if s.phase != xDone {
		if s.ctl != nil {
			d = s.ctl.retxAt
		}
		if s.phase == xHello && s.opt.Secret == "" {
			d = earliest(d, s.helloT.Add(s.opt.HelloWait))
		}
		if s.x != nil && s.inflight > 0 {
			d = earliest(d, s.rtoAt)
			if s.tlps < maxProbes && s.x.accepted && !s.x.ending {
				d = earliest(d, s.tlpAt)
			}
		}
		switch {
		case s.more:
			d = earliest(d, s.paceAt) // more to send now: call again
		case s.paceBlock:
			d = earliest(d, s.paceDeadline())
		}
		if s.waiting {
			d = earliest(d, s.lastHeard.Add(s.opt.Timeout))
		}
		if s.phase == xReady && s.x == nil && s.ctl == nil && s.opt.KeepAlive > 0 && s.stats.Items > 0 {
			d = earliest(d, s.idleSince.Add(s.opt.KeepAlive))
		}
	}
	s.out = Output{Datagrams: s.dgrm, Events: s.evs, Deadline: d}
	return s.out
}

// rejectError turns a REJECT into an error for the sender's user.
func rejectError(r wire.Reject) error {
	if r.Code == wire.CodeBadSecret {
		return ErrBadSecret // which says all the REJECT's message does
	}
	msg := r.Message
	if msg == "" {
		msg = r.Code.String()
	}
	return fmt.Errorf("%w: the receiver rejected the session: %s", codeErr(r.Code), msg)
}

// codeErr is the sentinel error a code wraps.
func codeErr(c wire.Code) error {
	switch c {
	case wire.CodeBadSecret:
		return ErrBadSecret
	case wire.CodeTooLarge:
		return fmt.Errorf("%w: %w", ErrRefused, ErrTooLarge)
	case wire.CodeIntegrity:
		return fmt.Errorf("%w: %w", ErrRefused, ErrIntegrity)
	case wire.CodeShutdown:
		return fmt.Errorf("%w: %w", ErrRefused, ErrShuttingDown)
	}
	return ErrRefused
}

// ring is a growable FIFO.
type ring[T any] struct {
	buf        []T
	head, size int
}

func (r *ring[T]) len() int { return r.size }
func (r *ring[T]) push(v T) {
	if r.size == len(r.buf) {
		n := make([]T, max(64, 2*len(r.buf)))
		for i := range r.size {
			n[i] = r.buf[(r.head+i)%len(r.buf)]
		}
		r.buf, r.head = n, 0
	}
	r.buf[(r.head+r.size)%len(r.buf)] = v
	r.size++
}
func (r *ring[T]) front() T { return r.buf[r.head] }
func (r *ring[T]) pop() T {
	v := r.buf[r.head]
	r.head = (r.head + 1) % len(r.buf)
	r.size--
	return v
}
func (r *ring[T]) clear() { r.head, r.size = 0, 0 }
