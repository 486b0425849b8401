package rudp

import (
	"time"
)

// Loss recovery: fast retransmit on packet numbers, tail loss probes
// (RFC 8985) and the retransmission timeout.

// reorderThreshold: a fragment is taken for lost once a packet sent this
// many packets after it has been received (fast retransmit, as RFC 9002's
// kPacketThreshold).
const reorderThreshold = 3

// flightRec is one DATA transmission, in the order sent.
type flightRec struct {
	pn, idx uint32
	at      int64 // nanoseconds since the sender's epoch
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
// tells the congestion window, which shrinks once per loss event.
func (s *XSender) lose(idx, pn uint32) {
	s.markLost(idx)
	s.stats.Lost++
	if s.onLoss(pn, s.largest, s.pn) {
		s.stats.LossEvents++
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
	s.onTimeout(s.pn)
	s.rtoAt = now.Add(s.rto.rto)
}
