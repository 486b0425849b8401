package rudp

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/netkit/netkit/internal/rudp/wire"
)

// One transfer: OPEN and ACCEPT, the DATA fragments and their content,
// the SACKs, then END and the receiver's DONE or ABORT.

// fragState is what a sender knows of one fragment in its window.
type fragState struct {
	pn    uint32 // its last transmission
	acked bool
	lost  bool // waiting in the lost queue
	sent  bool
}

// xout is the transfer in flight.
type xout struct {
	tid       uint32
	item      Item
	f         int
	count     uint32 // fragments
	base      uint32 // first fragment sent (resumed from)
	next      uint32 // next fragment never sent
	cum       uint32 // every fragment below is acked
	limit     uint32 // the receiver's flow-control limit
	window    uint32
	frags     []fragState // ring, len a power of 2 >= window
	lost      []uint32    // fragments to send again, in order found
	acked     int64       // content bytes acked
	hash      hash.Hash
	chunk     []byte // read-ahead of the content
	chunkOff  int64
	ending    bool // END sent
	accepted  bool
	startedAt time.Time
}

// begin opens the transfer of it.
func (s *XSender) begin(it Item, now time.Time) {
	s.nextTID++
	f := s.fragSize(it)
	count := uint32(wire.Fragments(uint64(it.size), f))
	w := min(uint32(s.opt.Window), s.window)
	ring := 1
	for ring < int(w) {
		ring <<= 1
	}
	x := &xout{tid: s.nextTID, item: it, f: f, count: count, window: w, hash: sha256.New(), startedAt: now}
	if cap(s.frags()) >= ring {
		x.frags = s.frags()[:ring]
		clear(x.frags)
	} else {
		x.frags = make([]fragState, ring)
	}
	s.x = x
	var mtime int64
	if it.IsFile() {
		mtime = it.mtime
	}
	s.setCtl(wire.OPEN, wire.AppendOpen(nil, wire.Open{TID: x.tid, Kind: it.kind, FragSize: uint16(f), Size: uint64(it.size), MTime: mtime, Name: it.name}), now)
}

// frags returns the ring of the last transfer, for reuse.
func (s *XSender) frags() []fragState {
	if s.x != nil {
		return s.x.frags
	}
	return s.lastFrags
}

// accept handles the receiver's ACCEPT of the transfer opened.
func (s *XSender) accept(body []byte, now time.Time) {
	a, err := wire.ParseAccept(body)
	x := s.x
	if err != nil || x == nil || a.TID != x.tid {
		s.stats.Stale++
		return
	}
	if x.accepted {
		return // a repeat: its OPEN was resent
	}
	if a.Offset > uint64(x.item.size) || a.Offset%uint64(x.f) != 0 {
		s.abort(fmt.Errorf("rudp: the receiver asked to resume %s at %d, not a fragment boundary within its %d bytes", x.item.describe(), a.Offset, x.item.size), wire.CodeProtocol)
		return
	}
	s.sampleCtl(now)
	s.ctl = nil
	x.accepted = true
	x.window = min(x.window, a.Window)
	x.base = uint32(a.Offset / uint64(x.f))
	x.next, x.cum = x.base, x.base
	x.limit = x.base + x.window
	x.acked = int64(a.Offset)
	s.stats.Resumed += int64(a.Offset)
	if a.Offset > 0 {
		// What the receiver has is part of the SHA-256 too.
		if err := s.hashPrefix(int64(a.Offset)); err != nil {
			s.abort(err, wire.CodeCancelled)
			return
		}
	}
	if x.count == x.base {
		s.end(now)
	}
}

// hashPrefix hashes the first n bytes of the content, which a resumed
// transfer does not send.
func (s *XSender) hashPrefix(n int64) error {
	x := s.x
	buf := make([]byte, readAhead)
	for off := int64(0); off < n; {
		m := int(min(int64(len(buf)), n-off))
		k, err := x.item.data.ReadAt(buf[:m], off)
		if k < m {
			if err == nil || errors.Is(err, io.EOF) {
				err = ErrChanged
			}
			return fmt.Errorf("rudp: reading %s: %w", x.item.describe(), err)
		}
		x.hash.Write(buf[:m])
		off += int64(m)
	}
	return nil
}

// pick chooses the next fragment to send: the first lost one still
// unacked, else the next new one the windows allow.
func (s *XSender) pick() (idx uint32, first, ok bool) {
	x := s.x
	mask := uint32(len(x.frags) - 1)
	for len(x.lost) > 0 {
		idx = x.lost[0]
		x.lost = x.lost[1:]
		if len(x.lost) == 0 {
			x.lost = x.lost[:0:cap(x.lost)]
		}
		st := &x.frags[idx&mask]
		if idx < x.cum || st.acked || !st.lost {
			continue
		}
		s.stats.Retransmissions++
		return idx, false, true
	}
	if x.next < x.count && x.next < x.limit && x.next < x.cum+x.window {
		x.next++
		return x.next - 1, true, true
	}
	return 0, false, false
}

// sendData sends DATA idx; first says it has never been sent.
func (s *XSender) sendData(idx uint32, first bool, now time.Time) bool {
	x := s.x
	start := int64(idx) * int64(x.f)
	n := int(min(int64(x.f), x.item.size-start))
	frag, err := s.fragment(start, n, first)
	if err != nil {
		s.abort(fmt.Errorf("rudp: reading %s: %w", x.item.describe(), err), wire.CodeCancelled)
		return false
	}
	if first {
		x.hash.Write(frag)
	}
	body := wire.AppendDataHead(s.body[:0], x.tid, idx)
	body = append(body, frag...)
	pn := s.pn
	if cv := s.corruptEvery(); first && cv > 0 && (uint64(idx)+1)%uint64(cv) == 0 && s.keys == nil {
		s.damage = int(idx*37) + 1 // emitFrame damages it after its crc
		s.stats.Corrupted++
	}
	s.emitFrame(wire.DATA, body)
	st := &x.frags[idx&uint32(len(x.frags)-1)]
	st.pn, st.sent, st.lost = pn, true, false
	at := now.Sub(s.epoch).Nanoseconds() + 1 // 0 is never sent
	s.flight.push(flightRec{pn: pn, idx: idx, at: at})
	s.sentPN[pn%sentRing] = struct {
		pn uint32
		at int64
	}{pn, at}
	s.inflight++
	if s.rtoAt.IsZero() || s.inflight == 1 {
		s.rtoAt = now.Add(s.rto.rto)
	}
	if s.inflight == 1 {
		s.tlpAt = now.Add(s.pto())
	}
	s.waitFrom(now)
	return true
}

func (s *XSender) corruptEvery() int {
	if s.x.item.corruptEvery > 0 {
		return s.x.item.corruptEvery
	}
	return s.opt.CorruptEvery
}

// fragment returns n content bytes at start: from the read-ahead chunk
// for a first transmission, read again otherwise.
func (s *XSender) fragment(start int64, n int, first bool) ([]byte, error) {
	x := s.x
	if start >= x.chunkOff && start+int64(n) <= x.chunkOff+int64(len(x.chunk)) {
		return x.chunk[start-x.chunkOff : start-x.chunkOff+int64(n)], nil
	}
	if !first {
		buf := s.open[:n] // free between Handle calls
		if k, err := x.item.data.ReadAt(buf, start); k < n {
			if err == nil || errors.Is(err, io.EOF) {
				err = fmt.Errorf("%w: %d bytes at offset %d, want %d", ErrChanged, k, start, n)
			}
			return nil, err
		}
		return buf, nil
	}
	if cap(x.chunk) == 0 {
		x.chunk = make([]byte, 0, min(readAhead, max(x.item.size, 1)))
	}
	m := int(min(int64(cap(x.chunk)), x.item.size-start))
	x.chunk = x.chunk[:m]
	x.chunkOff = start
	if k, err := x.item.data.ReadAt(x.chunk, start); k < m {
		if err == nil || errors.Is(err, io.EOF) {
			err = fmt.Errorf("%w: %d bytes at offset %d, want %d", ErrChanged, k, start, m)
		}
		x.chunk = x.chunk[:0]
		return nil, err
	}
	return x.chunk[:n], nil
}

// sack handles a SACK of the transfer in flight.
func (s *XSender) sack(now time.Time) {
	a, x := &s.ack, s.x
	if x == nil || a.TID != x.tid || !x.accepted {
		s.stats.Stale++
		return
	}
	s.stats.Acks++
	// An RTT sample from the highest packet number received, if it is
	// new and was a DATA still remembered.
	if a.Largest >= s.largest || s.largest == 0 {
		if e := s.sentPN[a.Largest%sentRing]; e.pn == a.Largest && e.at != 0 && (a.Largest > s.largest || s.rto.samples == 0) {
			rtt := now.Sub(s.epoch) - time.Duration(e.at-1) - time.Duration(a.Delay)*time.Microsecond
			if rtt > 0 {
				s.rto.sample(rtt)
			}
		}
		s.largest = a.Largest
	}
	if a.Limit > x.limit {
		x.limit = a.Limit
	}
	newly := 0
	mask := uint32(len(x.frags) - 1)
	mark := func(i uint32) {
		st := &x.frags[i&mask]
		if !st.sent || st.acked {
			return
		}
		st.acked = true
		newly++
		if !st.lost {
			s.inflight--
		}
		st.lost = false
		n := int64(x.f)
		if int64(i)*int64(x.f)+n > x.item.size {
			n = x.item.size - int64(i)*int64(x.f)
		}
		x.acked += n
	}
	if a.Cum > x.next {
		s.stats.Dropped++ // acks what was never sent
		return
	}
	for ; x.cum < a.Cum; x.cum++ {
		mark(x.cum)
		x.frags[x.cum&mask] = fragState{}
	}
	for _, r := range a.Ranges[:a.N] {
		for i := max(r.Start, x.cum); i < r.End && i < x.next; i++ {
			mark(i)
		}
	}
	if newly > 0 {
		s.rto.progress()
		s.rtoAt = now.Add(s.rto.rto)
		s.tlpAt, s.tlps = now.Add(s.pto()), 0
		s.onAck(newly, s.ack.Largest, s.x.window)
	}
	s.detectLoss(now)
	if x.cum == x.count {
		s.end(now)
	}
}

// end sends END with the content's SHA-256 once every fragment is acked.
func (s *XSender) end(now time.Time) {
	x := s.x
	if x.ending {
		return
	}
	x.ending = true
	e := wire.End{TID: x.tid}
	x.hash.Sum(e.Sum[:0])
	s.rtoAt = time.Time{}
	s.setCtl(wire.END, wire.AppendEnd(nil, e), now)
}

// result handles DONE or ABORT from the receiver.
func (s *XSender) result(t wire.Type, body []byte, now time.Time) {
	r, err := wire.ParseResult(body)
	x := s.x
	if err == nil && t == wire.ABORT && r.TID == 0 && r.Code == wire.CodeShutdown {
		// The session's end, from a receiver shutting down: between
		// transfers, or after the ABORT of one was lost.
		if x != nil {
			s.fail(fmt.Errorf("%w: %w during %s", ErrRefused, ErrShuttingDown, x.item.describe()))
		} else {
			s.fail(fmt.Errorf("%w: %w", ErrPeerClosed, ErrShuttingDown))
		}
		return
	}
	if err != nil || x == nil || r.TID != x.tid {
		s.stats.Stale++
		return
	}
	if t == wire.DONE && r.Code == wire.CodeOK {
		if !x.ending {
			s.stats.Dropped++ // DONE before END: ignore
			return
		}
		s.sampleCtl(now)
		ev := Event{Kind: EventText, Text: x.item.text, Size: x.item.size}
		if x.item.IsFile() {
			ev = Event{Kind: EventFile, Name: x.item.name, Path: r.Text, Size: x.item.size}
		}
		s.stats.Bytes += x.item.size - int64(s.resumedOf(x))
		s.evs = append(s.evs, ev)
		s.stats.Items++
		s.finish(now)
		return
	}
	msg := r.Text
	if msg == "" {
		msg = r.Code.String()
	}
	s.emitFrame(wire.CLOSE, nil) // the receiver may forget the session now
	s.fail(fmt.Errorf("%w: the receiver refused %s: %s", codeErr(r.Code), x.item.describe(), msg))
}

func (s *XSender) resumedOf(x *xout) uint64 { return uint64(x.base) * uint64(x.f) }

// finish ends the transfer in flight.
func (s *XSender) finish(now time.Time) {
	s.lastFrags = s.x.frags
	s.x = nil
	s.ctl = nil
	s.flight.clear()
	s.inflight = 0
	s.rtoAt = time.Time{}
	s.idleSince = now
	s.waiting = false
}

// codeErr is the sentinel error a code wraps.
func codeErr(c wire.Code) error {
	switch c {
	case wire.CodeBadSecret:
		return ErrBadSecret
	case wire.CodeTooLarge:
		return fmt.Errorf("%w: %w", ErrRefused, ErrTooLarge)
	case wire.CodeIntegrity:
		return fmt.Errorf("%w: %w", ErrRefused, ErrIntegrity)
	case wire.CodeShutdown:
		return fmt.Errorf("%w: %w", ErrRefused, ErrShuttingDown)
	}
	return ErrRefused
}
