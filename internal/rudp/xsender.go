package rudp

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
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
//
// This file holds its state, its API and what every frame goes through;
// the rest is split by concern: xsender_handshake.go (HELLO to the Noise
// handshake, and the fall back), xsender_ctl.go (the one reliable control
// frame), xsender_transfer.go (OPEN to DONE, fragments and SACKs),
// xsender_loss.go (fast retransmit, probes, RTO), xsender_cc.go (the
// congestion window) and xsender_pacer.go (the pacer and the send loop).
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

	epoch      time.Time
	rto        rtoEstimator
	congestion // cwnd and the loss events
	inflight   int
	flight     ring[flightRec]
	sentPN     [sentRing]struct {
		pn uint32
		at int64
	}
	largest uint32 // the receiver's highest packet number seen
	rtoAt   time.Time
	tlpAt   time.Time // a tail loss probe is due (RFC 8985)
	tlps    int       // probes sent since the last new ack
	pace    pacer
	more    bool // this call's fill stopped at maxBurst

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
		opt:        o,
		token:      binary.BigEndian.Uint64(tok[:]),
		rto:        newRTO(o.InitialRTO, o.MinRTO, o.MaxRTO),
		congestion: newCongestion(),
		body:       make([]byte, 0, wire.MaxExtFrame),
		open:       make([]byte, 0, wire.MaxExtFrame),
		dgrm:       make([][]byte, 0, maxBurst),
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
	s.pace.blocked, s.more = false, false
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
			d = earliest(d, s.pace.at) // more to send now: call again
		case s.pace.blocked:
			d = earliest(d, s.pace.deadline(&s.congestion, &s.rto))
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
