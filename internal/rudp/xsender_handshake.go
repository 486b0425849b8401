package rudp

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/netkit/netkit/internal/rudp/secure"
	"github.com/netkit/netkit/internal/rudp/wire"
)

// The session's start: HELLO, WELCOME or REJECT, the Noise handshake of a
// sealed session, and the fall back to a legacy Sender.

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
