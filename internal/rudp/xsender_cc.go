package rudp

import "math"

// Congestion control of the extended sender.
const (
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
)

// congestion is the congestion window of an XSender, in fragments: AIMD
// with slow start, one reduction per loss event with recovery in the
// manner of NewReno, and loss tolerated up to lossTolerance per round
// trip. It knows packet numbers, not fragments or time: the sender tells
// it what was acked and lost. Its zero value is not ready: start from
// newCongestion.
type congestion struct {
	cwnd      float64
	ssthresh  float64
	recovery  uint32 // packets up to this one belong to the current loss event
	recovered bool   // no loss event yet
	roundEnd  uint32 // the round trip ends when this packet is acked
	roundLost int    // fragments lost in this round trip
}

func newCongestion() congestion {
	return congestion{cwnd: initialCwnd, ssthresh: math.Inf(1), recovered: true}
}

// slowStart reports whether the window is below the slow-start threshold.
func (c *congestion) slowStart() bool { return c.cwnd < c.ssthresh }

// onAck opens the window for newly acked fragments: one per fragment in
// slow start, one per window after (AIMD's additive increase), never past
// limit. largest is the highest packet number the ack reports: a
// recovery ends with the first ack of a packet sent after it began.
func (c *congestion) onAck(newly int, largest, limit uint32) {
	if !c.recovered && largest > c.recovery {
		c.recovered = true
	}
	if !c.recovered {
		return
	}
	if c.cwnd < c.ssthresh {
		c.cwnd += float64(newly)
	} else {
		c.cwnd += float64(newly) / c.cwnd
	}
	c.cwnd = min(c.cwnd, float64(limit))
}

// onLoss counts one fragment lost, sent as packet pn, and reduces the
// window once per loss event: when losses in one round trip pass the
// tolerance, once per round trip (NewReno's recovery). largest is the
// receiver's highest packet number seen, next the sender's next packet
// number. It reports whether a loss event began.
func (c *congestion) onLoss(pn, largest, next uint32) bool {
	// A new round trip starts once the packet that ended the last one
	// is acked.
	if largest >= c.roundEnd {
		c.roundEnd = next
		c.roundLost = 0
	}
	c.roundLost++
	if float64(c.roundLost) > max(lossFloor, lossTolerance*c.cwnd) && (c.recovered || pn > c.recovery) {
		c.recovered = false
		c.recovery = next - 1
		c.ssthresh = max(c.cwnd*beta, minCwnd)
		c.cwnd = c.ssthresh
		c.roundLost = 0
		return true
	}
	return false
}

// onTimeout drops the window to its least after a retransmission
// timeout; next is the sender's next packet number.
func (c *congestion) onTimeout(next uint32) {
	c.ssthresh = max(c.cwnd*beta, minCwnd)
	c.cwnd = minCwnd
	c.recovered = false
	c.recovery = next - 1
}
