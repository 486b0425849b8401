package rudp

import (
	"errors"
	"time"

	"github.com/netkit/netkit/internal/rudp/wire"
)

// Reassembly and acks: DATA written in order as the gaps fill, fragments
// past a gap held within MaxBuffered, and the SACKs.

const (
	// ackDelay is the longest a receiver holds an ack back, hoping to
	// cover more fragments with it.
	ackDelay = time.Millisecond
	// ackEvery acks at once after this many fragments in order.
	ackEvery = 16
)

// data takes one fragment.
func (in *XInbox) data(s *xsess, body []byte, now time.Time) {
	if !in.ready(s) {
		return
	}
	tid, idx, frag, err := wire.ParseData(body)
	if err != nil {
		in.stats.Malformed++
		return
	}
	x := s.xfers[tid]
	if x == nil || x.ended {
		if x != nil || s.recall(tid) != nil {
			in.stats.Duplicates++ // late: the transfer is over
		} else {
			in.stats.Dropped++
		}
		return
	}
	x.lastSeen = now
	want := int(x.open.FragSize)
	if idx == x.count-1 {
		want = int(x.open.Size - uint64(idx)*uint64(x.open.FragSize))
	}
	if idx >= x.count || len(frag) != want {
		in.stats.Malformed++
		return
	}
	if idx >= x.cum+x.window {
		in.stats.Dropped++ // past the window the sender was given
		return
	}
	x.unacked++
	if idx >= x.cum && x.slot(idx) == nil {
		s.lastData = now // new data, not a repeat
	}
	switch {
	case idx < x.cum || x.slot(idx) != nil:
		in.stats.Duplicates++
		x.ackNow = true // its ack was lost, or it was resent early
	case idx == x.cum:
		if !in.write(s, x, frag) {
			return
		}
		x.cum++
		if x.high > x.cum {
			x.ackNow = true // a gap filled: the sender learns it at once
		}
		in.drain(s, x)
		if x.high < x.cum {
			x.high = x.cum
		}
	default:
		if in.buffered+want > in.cfg.MaxBuffered {
			in.stats.Dropped++ // out of memory for the out of order: resent later
			return
		}
		x.hold(idx, in.fragBuf(frag))
		in.buffered += want
		if idx > x.high {
			x.ackNow = true // a new gap: tell the sender now (fast retransmit)
		}
		x.high = max(x.high, idx+1)
	}
	if x.ackNow || x.unacked >= ackEvery {
		in.sendAck(s, x, now)
	} else if !s.pending {
		s.pending = true
		in.pending = append(in.pending, s)
		in.deadline = earliest(in.deadline, now.Add(ackDelay))
	}
}

// write passes a fragment in order to the file or text.
func (in *XInbox) write(s *xsess, x *xin, frag []byte) bool {
	x.hash.Write(frag)
	x.bytes += int64(len(frag))
	if x.sink == nil {
		x.text = append(x.text, frag...)
		return true
	}
	if _, err := x.sink.Write(frag); err != nil {
		code := wire.CodeWrite
		if errors.Is(err, ErrTooLarge) {
			code = wire.CodeTooLarge
		}
		in.fail(s, x, code, err)
		return false
	}
	return true
}

// drain writes the fragments held that the gap's filling put in order.
func (in *XInbox) drain(s *xsess, x *xin) {
	for x.cum < x.high {
		b := x.slot(x.cum)
		if b == nil {
			return
		}
		x.slots[x.cum%uint32(len(x.slots))] = nil
		in.buffered -= len(b)
		ok := in.write(s, x, b)
		in.free = append(in.free, b[:0])
		if !ok {
			return
		}
		x.cum++
	}
}

func (x *xin) slot(idx uint32) []byte {
	if x.slots == nil || idx < x.cum {
		return nil
	}
	return x.slots[idx%uint32(len(x.slots))]
}

func (x *xin) hold(idx uint32, b []byte) {
	if x.slots == nil {
		x.slots = make([][]byte, x.window)
	}
	x.slots[idx%uint32(len(x.slots))] = b
}

// fragBuf copies frag into a buffer of the free list.
func (in *XInbox) fragBuf(frag []byte) []byte {
	var b []byte
	if n := len(in.free); n > 0 {
		b = in.free[n-1]
		in.free = in.free[:n-1]
	} else {
		b = make([]byte, 0, wire.MaxData)
	}
	return append(b, frag...)
}

// sendAck sends the SACK of x.
func (in *XInbox) sendAck(s *xsess, x *xin, now time.Time) {
	a := &in.ack
	a.TID, a.Largest, a.Cum = x.open.TID, s.largest, x.cum
	a.Delay = uint32(now.Sub(s.largestAt) / time.Microsecond)
	a.Limit = x.cum + x.window
	a.N = 0
	for i := x.cum + 1; i < x.high && a.N < wire.MaxRanges; {
		if x.slot(i) == nil {
			i++
			continue
		}
		j := i + 1
		for j < x.high && x.slot(j) != nil {
			j++
		}
		a.Ranges[a.N] = wire.Range{Start: i, End: j}
		a.N++
		i = j
	}
	x.unacked, x.ackNow = 0, false
	in.stats.ACKs++
	in.emit(s, wire.SACK, wire.AppendAck(in.body[:0], a))
}

func (in *XInbox) flush(now time.Time) {
	for _, s := range in.pending {
		s.pending = false
		if in.sessions[s.sid] != s {
			continue
		}
		for _, x := range s.xfers {
			if x.unacked > 0 {
				in.sendAck(s, x, now)
			}
		}
	}
	clear(in.pending)
	in.pending = in.pending[:0]
}
