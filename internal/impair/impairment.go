package impair

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// Defaults for an Impairment, used where a field is zero.
const (
	// DefaultReorderDelay is how long a datagram held back for reordering
	// waits for another to overtake it.
	DefaultReorderDelay = 50 * time.Millisecond
	// DefaultQueueTime sizes the default rate queue: what Rate sends in
	// this long, but at least MinQueue bytes.
	DefaultQueueTime = 100 * time.Millisecond
	// MinQueue is the smallest default rate queue, in bytes.
	MinQueue = 64 << 10
)

// Impairment is what happens to the datagrams going one way through a
// Relay. The zero value forwards them untouched and in order.
//
// Each datagram meets the impairments in this order: loss; then the rate
// limit, if its queue has room; then corruption, duplication, reordering and
// delay. The random decisions are drawn in a fixed order from the
// direction's own source, so they depend only on the seed and on the
// lengths of the datagrams that came before, never on timing.
type Impairment struct {
	// Loss is the probability (0 to 1) that a datagram is dropped.
	Loss float64
	// Duplicate is the probability that a datagram is sent twice. The copy
	// follows the original and is the datagram as received, uncorrupted.
	Duplicate float64
	// Reorder is the probability that a datagram is held back until the
	// next one has gone ahead of it, or until ReorderDelay has passed if
	// none comes. One datagram is held at a time.
	Reorder float64
	// Corrupt is the probability that one bit of a datagram, chosen at
	// random, is flipped. Empty datagrams have no bit to flip.
	Corrupt float64
	// Delay is added to every datagram. Jitter varies it uniformly within
	// ±Jitter, never below zero. Jitter alone never reorders: a datagram
	// does not overtake an earlier one, as on a link with one queue.
	Delay, Jitter time.Duration
	// Rate caps the bandwidth, in bytes of UDP payload per second; 0 means
	// no cap. The relay paces datagrams like a link of that speed (a token
	// bucket one datagram deep), so over any interval T it sends at most
	// Rate×T bytes plus one datagram.
	Rate int64
	// Queue bounds the bytes waiting for Rate, like a router's buffer: a
	// datagram that would overfill it is dropped. Zero means what Rate
	// sends in DefaultQueueTime, and at least MinQueue.
	Queue int64
	// ReorderDelay is the longest a datagram held back by Reorder waits;
	// zero means DefaultReorderDelay.
	ReorderDelay time.Duration
}

// IsZero reports whether im leaves datagrams untouched.
func (im Impairment) IsZero() bool { return im == Impairment{} }

// Validate reports an impairment that cannot be applied: a probability
// outside 0..1, a negative or overlong duration, a negative rate or queue.
// The error unwraps to ErrInvalid.
func (im Impairment) Validate() error {
	for _, p := range []struct {
		name string
		v    float64
	}{{"loss", im.Loss}, {"duplicate", im.Duplicate}, {"reorder", im.Reorder}, {"corrupt", im.Corrupt}} {
		if !(p.v >= 0 && p.v <= 1) { // also refuses NaN
			return fmt.Errorf("%w: %s probability %v is not from 0 to 1", ErrInvalid, p.name, p.v)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"delay", im.Delay}, {"jitter", im.Jitter}, {"reorder delay", im.ReorderDelay}} {
		if d.v < 0 || d.v > MaxDuration {
			return fmt.Errorf("%w: %s %v is not from 0 to %v", ErrInvalid, d.name, d.v, MaxDuration)
		}
	}
	if im.Rate < 0 || im.Rate > MaxRate {
		return fmt.Errorf("%w: rate %d is not from 0 to %d bytes per second", ErrInvalid, im.Rate, int64(MaxRate))
	}
	if im.Queue < 0 || im.Queue > MaxSize {
		return fmt.Errorf("%w: queue %d is not from 0 to %d bytes", ErrInvalid, im.Queue, int64(MaxSize))
	}
	return nil
}

// String describes im the way netkit impair's flags spell it, "none" for
// the zero value.
func (im Impairment) String() string {
	var b strings.Builder
	add := func(name, v string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(name + " " + v)
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"loss", im.Loss}, {"dup", im.Duplicate}, {"reorder", im.Reorder}, {"corrupt", im.Corrupt}} {
		if p.v != 0 {
			add(p.name, FormatPercent(p.v))
		}
	}
	if im.Delay != 0 {
		add("delay", im.Delay.String())
	}
	if im.Jitter != 0 {
		add("jitter", im.Jitter.String())
	}
	if im.Rate != 0 {
		add("rate", FormatRate(im.Rate))
	}
	if im.Queue != 0 {
		add("queue", FormatSize(im.Queue))
	}
	if im.ReorderDelay != 0 {
		add("reorder-delay", im.ReorderDelay.String())
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// withDefaults fills in the defaults for Queue and ReorderDelay.
func (im Impairment) withDefaults() Impairment {
	if im.ReorderDelay == 0 {
		im.ReorderDelay = DefaultReorderDelay
	}
	if im.Queue == 0 && im.Rate > 0 {
		im.Queue = max(MinQueue, int64(float64(im.Rate)*DefaultQueueTime.Seconds()))
	}
	return im
}

// timed reports whether im can make a datagram wait.
func (im Impairment) timed() bool {
	return im.Delay > 0 || im.Jitter > 0 || im.Rate > 0 || im.Reorder > 0
}

// queueTime is how long the rate queue takes to empty, in nanoseconds.
func (im Impairment) queueTime() int64 {
	if im.Rate <= 0 {
		return 0
	}
	return int64(min(float64(im.Queue)/float64(im.Rate)*1e9, math.MaxInt64/4))
}

// decision is what happens to one datagram, apart from the rate limit.
type decision struct {
	lose   bool
	dup    bool
	hold   bool // held back for reordering
	bit    int  // the bit to flip, or -1
	jitter time.Duration
}

// decide draws the fate of one datagram of n bytes from r. Only knobs that
// are set draw a number, always in the same order, so the decisions for a
// sequence of datagram lengths depend only on r's seed.
func (im *Impairment) decide(r *rand.Rand, n int) decision {
	d := decision{bit: -1}
	if im.Loss > 0 && r.Float64() < im.Loss {
		d.lose = true
		return d
	}
	if im.Duplicate > 0 && r.Float64() < im.Duplicate {
		d.dup = true
	}
	if im.Corrupt > 0 && r.Float64() < im.Corrupt && n > 0 {
		d.bit = r.IntN(n * 8)
	}
	if im.Reorder > 0 && r.Float64() < im.Reorder {
		d.hold = true
	}
	if im.Jitter > 0 {
		d.jitter = time.Duration(r.Int64N(2*int64(im.Jitter)+1)) - im.Jitter
	}
	return d
}

// flip inverts bit i of b (bit 0 is the high bit of b[0]); flipping twice
// restores b.
func flip(b []byte, i int) {
	b[i/8] ^= 0x80 >> (i % 8)
}

// Streams of the PCG source for each direction, so that one seed gives the
// two directions different sequences.
const (
	streamUp   = 0x7570             // "up"
	streamDown = 0x646f776e         // "down"
	pcgMix     = 0x9e3779b97f4a7c15 // spreads small seeds over the state
)

func newRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed)*pcgMix, stream))
}
