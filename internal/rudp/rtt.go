package rudp

import "time"

// granularity is the G of RFC 6298: the smallest variance term the
// retransmission timeout carries.
const granularity = time.Millisecond

// rtoEstimator keeps the smoothed round-trip time and the retransmission
// timeout of RFC 6298. Samples come only from frames sent once (Karn's
// rule: the ACK of a resent frame may answer either copy); a timeout
// doubles the RTO up to max, and progress brings it back to what the
// estimates give. The zero value is not usable; see newRTO.
type rtoEstimator struct {
	srtt, rttvar     time.Duration
	sampled          bool
	initial, lo, hi  time.Duration
	rto              time.Duration // in force, backed off
	lastSample       time.Duration
	samples, backoff uint64
}

func newRTO(initial, lo, hi time.Duration) rtoEstimator {
	e := rtoEstimator{initial: initial, lo: lo, hi: hi}
	e.rto = e.base()
	return e
}

// base is the RTO the estimates give, with no backoff.
func (e *rtoEstimator) base() time.Duration {
	if !e.sampled {
		return min(max(e.initial, e.lo), e.hi)
	}
	return min(max(e.srtt+max(granularity, 4*e.rttvar), e.lo), e.hi)
}

// sample takes one round-trip measurement (RFC 6298 section 2) and resets
// any backoff.
func (e *rtoEstimator) sample(r time.Duration) {
	r = max(r, 0)
	e.samples++
	e.lastSample = r
	if !e.sampled {
		e.sampled = true
		e.srtt, e.rttvar = r, r/2
	} else {
		d := e.srtt - r
		if d < 0 {
			d = -d
		}
		e.rttvar = (3*e.rttvar + d) / 4
		e.srtt = (7*e.srtt + r) / 8
	}
	e.rto = e.base()
}

// timedOut doubles the RTO, up to hi (RFC 6298 section 5.5).
func (e *rtoEstimator) timedOut() {
	e.backoff++
	e.rto = min(2*e.rto, e.hi)
}

// progress undoes the backoff after an acknowledgement that gave no
// sample.
func (e *rtoEstimator) progress() { e.rto = e.base() }
