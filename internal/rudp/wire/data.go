package wire

import (
	"encoding/binary"
	"fmt"
)

// The bodies of the transfer itself: DATA and SACK.

// Offsets and lengths in a DATA body.
const (
	dataTIDOffset   = 0
	dataIndexOffset = 4
	dataHeadLen     = dataIndexOffset + 4 // 8: the fragment follows
)

// AppendDataHead appends the head of a DATA body, the transfer id and the
// fragment's index (0-based: its content starts at index times the
// fragment size); the fragment follows.
//
//	  0               4               8
//	+---+---+---+---+---+---+---+---+-----------------------
//	|  transfer id  |     index     | fragment, 1..F bytes
//	+---+---+---+---+---+---+---+---+-----------------------
//
// Every fragment is F bytes but the last.
func AppendDataHead(b []byte, tid, index uint32) []byte {
	b = binary.BigEndian.AppendUint32(b, tid)
	return binary.BigEndian.AppendUint32(b, index)
}

// ParseData decodes a DATA body: transfer id, index and fragment (which
// aliases b). An empty fragment is refused.
func ParseData(b []byte) (tid, index uint32, frag []byte, err error) {
	if len(b) < dataHeadLen+1 {
		return 0, 0, nil, fmt.Errorf("%w: DATA", ErrBody)
	}
	return binary.BigEndian.Uint32(b[dataTIDOffset:]), binary.BigEndian.Uint32(b[dataIndexOffset:]), b[dataHeadLen:], nil
}

// Offsets and lengths in a SACK body.
const (
	ackTIDOffset     = 0
	ackLargestOffset = 4
	ackDelayOffset   = 8
	ackCumOffset     = 12
	ackLimitOffset   = 16
	ackCountOffset   = 20
	ackFixedLen      = ackCountOffset + 1 // 21: the ranges follow
	ackRangeLen      = 8                  // start and end, 4 bytes each
)

// Range is a run of fragments [Start, End) received beyond the cumulative
// point.
type Range struct{ Start, End uint32 }

// Ack is a SACK body: the transfer id; the highest packet number the
// receiver has seen in the session, and how long it held it before this
// ack (microseconds), for the sender's RTT samples; the cumulative point
// (every fragment below Cum is received); Limit, the first index the
// sender may not send yet (its flow-control window); and up to MaxRanges
// ranges above Cum, ascending and disjoint.
//
//	  0               4               8              12              16
//	+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
//	|  transfer id  |    largest    |  delay (us)   |      cum      |
//	+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
//	 16              20  21              25              29
//	+---+---+---+---+---+---+---+---+---+---+---+---+---+-----
//	|     limit     | n |    start 1    |     end 1     | ... n ranges
//	+---+---+---+---+---+---+---+---+---+---+---+---+---+-----
//
// The body is exactly 21 + 8n bytes, n at most MaxRanges.
type Ack struct {
	TID     uint32
	Largest uint32
	Delay   uint32
	Cum     uint32
	Limit   uint32
	N       int
	Ranges  [MaxRanges]Range
}

// AppendAck appends a's body.
func AppendAck(b []byte, a *Ack) []byte {
	b = binary.BigEndian.AppendUint32(b, a.TID)
	b = binary.BigEndian.AppendUint32(b, a.Largest)
	b = binary.BigEndian.AppendUint32(b, a.Delay)
	b = binary.BigEndian.AppendUint32(b, a.Cum)
	b = binary.BigEndian.AppendUint32(b, a.Limit)
	b = append(b, byte(a.N))
	for _, r := range a.Ranges[:a.N] {
		b = binary.BigEndian.AppendUint32(b, r.Start)
		b = binary.BigEndian.AppendUint32(b, r.End)
	}
	return b
}

// ParseAck decodes a SACK body into a, checking that its ranges are
// ascending, disjoint, non-empty and above Cum. It does not allocate.
func ParseAck(b []byte, a *Ack) error {
	if len(b) < ackFixedLen {
		return fmt.Errorf("%w: SACK", ErrBody)
	}
	a.TID = binary.BigEndian.Uint32(b[ackTIDOffset:])
	a.Largest = binary.BigEndian.Uint32(b[ackLargestOffset:])
	a.Delay = binary.BigEndian.Uint32(b[ackDelayOffset:])
	a.Cum = binary.BigEndian.Uint32(b[ackCumOffset:])
	a.Limit = binary.BigEndian.Uint32(b[ackLimitOffset:])
	n := int(b[ackCountOffset])
	if n > MaxRanges || len(b) != ackFixedLen+ackRangeLen*n {
		return fmt.Errorf("%w: SACK ranges", ErrBody)
	}
	a.N = n
	prev := a.Cum
	for i := range n {
		at := ackFixedLen + ackRangeLen*i
		r := Range{binary.BigEndian.Uint32(b[at:]), binary.BigEndian.Uint32(b[at+4:])}
		if r.Start <= prev || r.End <= r.Start {
			return fmt.Errorf("%w: SACK range %d..%d after %d", ErrBody, r.Start, r.End, prev)
		}
		a.Ranges[i] = r
		prev = r.End
	}
	return nil
}
