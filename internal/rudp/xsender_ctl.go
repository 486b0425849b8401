package rudp

import (
	"time"

	"github.com/netkit/netkit/internal/rudp/wire"
)

// The one reliable control frame (HELLO, HANDSHAKE, OPEN, END, PING) and
// the wait for its answer.

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
