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

// The session table and the handshake: HELLO answered with WELCOME or
// REJECT, eviction when full, the Noise handshake of a sealed session,
// and the end of a session.

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

type helloKey struct {
	addr  netip.AddrPort
	token uint64
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
