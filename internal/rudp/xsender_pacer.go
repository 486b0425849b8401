package rudp

import "time"

// maxBurst bounds the frames sent back to back by one call, and the
// pacer's bucket.
const maxBurst = 64

// pacer is a token bucket of fragments, at most maxBurst deep, that
// spreads the congestion window over the smoothed RTT. Its zero value is
// an empty bucket; the first refill fills it.
type pacer struct {
	tokens  float64
	at      time.Time // when the bucket was last filled
	blocked bool      // the bucket stopped this call's fill
}

// pacingRate is the rate the pacer lets fragments out at, per second:
// the congestion window spread over the smoothed RTT srtt, twice as fast
// in slow start and a quarter faster after, as Linux paces TCP.
func pacingRate(c *congestion, srtt time.Duration) float64 {
	gain := 1.25
	if c.slowStart() {
		gain = 2
	}
	return gain * c.cwnd / srtt.Seconds()
}

// refill adds the tokens earned since the last refill at the rate of c
// over the RTT r measures; before the first RTT sample the bucket is
// full.
func (p *pacer) refill(now time.Time, c *congestion, r *rtoEstimator) {
	if r.samples == 0 || r.srtt <= 0 {
		p.tokens = maxBurst
		p.at = now
		return
	}
	rate := pacingRate(c, r.srtt) // fragments per second
	p.tokens = min(p.tokens+rate*now.Sub(p.at).Seconds(), maxBurst)
	p.at = now
}

// deadline is when the pacer will have a token again, or zero when it
// did not stop the last fill.
func (p *pacer) deadline(c *congestion, r *rtoEstimator) time.Time {
	if !p.blocked || r.srtt <= 0 {
		return time.Time{}
	}
	rate := pacingRate(c, r.srtt)
	wait := time.Duration((1 - p.tokens) / rate * float64(time.Second))
	return p.at.Add(max(wait, 10*time.Microsecond))
}

// fill sends the fragments the windows and the pacer allow: lost ones
// first, then new ones.
func (s *XSender) fill(now time.Time) {
	s.pace.refill(now, &s.congestion, &s.rto)
	for float64(s.inflight) < s.cwnd {
		if s.nbuf >= maxBurst {
			s.more = true // the burst is full: call again at once
			return
		}
		if s.pace.tokens < 1 {
			s.pace.blocked = true
			return
		}
		idx, first, ok := s.pick()
		if !ok {
			return
		}
		if !s.sendData(idx, first, now) {
			return
		}
		s.pace.tokens--
	}
}
