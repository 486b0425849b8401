package rudp

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"time"

	"github.com/netkit/netkit/internal/rudp/wire"
)

// One transfer's life outside its data: OPEN answered with ACCEPT (and
// where to resume), END checked and answered with DONE or ABORT, and the
// finished transfers a session remembers to answer repeats.

type xdone struct {
	tid uint32
	res wire.Result
	typ wire.Type
}

// xin is one transfer being received.
type xin struct {
	open     wire.Open
	count    uint32
	cum      uint32 // every fragment below is written
	high     uint32 // one past the highest fragment received
	window   uint32
	slots    [][]byte // ring of fragments held past a gap; nil when absent
	sink     FileSink
	text     []byte
	hash     hash.Hash
	bytes    int64 // content bytes written (resumed ones included)
	resumed  int64
	unacked  int
	ackNow   bool
	ended    bool
	lastSeen time.Time
}

// openXfer answers an OPEN: ACCEPT, or ABORT when refused.
func (in *XInbox) openXfer(s *xsess, body []byte, now time.Time) {
	if !in.ready(s) {
		return
	}
	o, err := wire.ParseOpen(body)
	if err != nil {
		in.stats.Malformed++
		return
	}
	if x := s.xfers[o.TID]; x != nil {
		in.stats.Repeats++
		in.emitAccept(s, x) // the ACCEPT was lost
		return
	}
	if d := s.recall(o.TID); d != nil {
		in.emit(s, d.typ, wire.AppendResult(in.body[:0], d.res))
		return
	}
	refuse := func(code wire.Code, err error) {
		in.stats.Refused++
		in.remember(s, wire.ABORT, wire.Result{TID: o.TID, Code: code, Text: err.Error()})
		in.emit(s, wire.ABORT, wire.AppendResult(in.body[:0], wire.Result{TID: o.TID, Code: code, Text: err.Error()}))
		in.evs = append(in.evs, Event{Kind: EventRefused, Peer: s.addr, Name: o.Name, Err: err})
	}
	switch {
	case in.refusing != nil:
		refuse(wire.CodeShutdown, in.refusing)
		return
	case len(s.xfers) >= maxXfers:
		refuse(wire.CodeBusy, fmt.Errorf("%w: more than %d transfers at once", ErrRefused, maxXfers))
		return
	case o.Kind == wire.KindText && o.Size > uint64(in.cfg.MaxText):
		refuse(wire.CodeTooLarge, fmt.Errorf("%w: a text of %d bytes, over %d", ErrTooLarge, o.Size, in.cfg.MaxText))
		return
	case o.Kind == wire.KindFile && in.cfg.MaxSize > 0 && o.Size > uint64(in.cfg.MaxSize):
		refuse(wire.CodeTooLarge, fmt.Errorf("%w: %q is %d bytes, over %d", ErrTooLarge, o.Name, o.Size, in.cfg.MaxSize))
		return
	case o.Kind == wire.KindFile && in.cfg.Store == nil:
		refuse(wire.CodeRefused, fmt.Errorf("%w: this receiver takes no files", ErrRefused))
		return
	}
	x := &xin{open: o, count: uint32(wire.Fragments(o.Size, int(o.FragSize))), window: uint32(in.cfg.Window), hash: sha256.New(), lastSeen: now}
	if o.Kind == wire.KindFile {
		if _, err := wire.SanitizeName(o.Name); err != nil {
			refuse(wire.CodeRefused, err)
			return
		}
		sink, have, err := in.create(o)
		if err != nil {
			code := wire.CodeWrite
			if errors.Is(err, wire.ErrBadName) || errors.Is(err, ErrReservedName) {
				code = wire.CodeRefused
			}
			refuse(code, err)
			return
		}
		x.sink = sink
		if have > 0 {
			if err := in.resume(x, have); err != nil {
				sink.Abort()
				refuse(wire.CodeWrite, err)
				return
			}
		}
	} else {
		x.text = make([]byte, 0, o.Size)
	}
	x.high = x.cum
	s.xfers[o.TID] = x
	s.lastData = now
	in.active++
	in.emitAccept(s, x)
}

// create starts the file o, resuming one cut off when the store can.
func (in *XInbox) create(o wire.Open) (FileSink, int64, error) {
	if rs, ok := in.cfg.Store.(ResumableStore); ok {
		return rs.Resume(o.Name, resumeKey(o))
	}
	sink, err := in.cfg.Store.Create(o.Name)
	return sink, 0, err
}

// resume takes the whole fragments of the have bytes a partial file
// holds, hashing them.
func (in *XInbox) resume(x *xin, have int64) error {
	rs, ok := x.sink.(ResumableSink)
	if !ok {
		return errors.New("rudp: the store gave a partial file it cannot read back")
	}
	f := int64(x.open.FragSize)
	keep := min(have, int64(x.open.Size)) / f * f
	if keep < have {
		if err := rs.Truncate(keep); err != nil {
			return err
		}
	}
	buf := make([]byte, 256<<10)
	for off := int64(0); off < keep; {
		n := int(min(int64(len(buf)), keep-off))
		if _, err := rs.ReadAt(buf[:n], off); err != nil {
			return fmt.Errorf("rudp: reading the partial %q: %w", x.open.Name, err)
		}
		x.hash.Write(buf[:n])
		off += int64(n)
	}
	x.cum = uint32(keep / f)
	x.bytes, x.resumed = keep, keep
	in.stats.Resumed += uint64(keep)
	return nil
}

func (in *XInbox) emitAccept(s *xsess, x *xin) {
	a := wire.Accept{TID: x.open.TID, Offset: uint64(x.resumed), Window: x.window}
	in.emit(s, wire.ACCEPT, wire.AppendAccept(in.body[:0], a))
}

// ready reports whether s may carry transfers: a plain session, or a
// sealed one past its handshake.
func (in *XInbox) ready(s *xsess) bool {
	if s.flags&wire.FlagSecret != 0 && s.keys == nil {
		in.stats.Dropped++
		return false
	}
	return true
}

// end checks the SHA-256 of a complete transfer and answers DONE, or
// ABORT.
func (in *XInbox) end(s *xsess, body []byte, now time.Time) {
	if !in.ready(s) {
		return
	}
	e, err := wire.ParseEnd(body)
	if err != nil {
		in.stats.Malformed++
		return
	}
	if d := s.recall(e.TID); d != nil {
		in.emit(s, d.typ, wire.AppendResult(in.body[:0], d.res)) // DONE was lost
		return
	}
	x := s.xfers[e.TID]
	if x == nil {
		in.stats.Dropped++
		return
	}
	if x.cum != x.count {
		in.stats.Dropped++ // cannot be: the sender ends only when all is acked
		in.sendAck(s, x, now)
		return
	}
	var sum [32]byte
	x.hash.Sum(sum[:0])
	if sum != e.Sum {
		in.fail(s, x, wire.CodeIntegrity, fmt.Errorf("%w: %s arrived with SHA-256 %x, the sender's is %x; discarded", ErrIntegrity, x.describe(), sum[:8], e.Sum[:8]))
		return
	}
	ev := Event{Kind: EventText, Peer: s.addr, Size: int64(x.open.Size), Text: string(x.text)}
	res := wire.Result{TID: e.TID, Code: wire.CodeOK}
	if x.sink != nil {
		path, err := x.sink.Commit()
		x.sink = nil
		if err != nil {
			in.fail(s, x, wire.CodeWrite, err)
			return
		}
		ev = Event{Kind: EventFile, Peer: s.addr, Name: x.open.Name, Path: path, Size: int64(x.open.Size)}
		res.Text = path
		in.stats.Files++
	} else {
		in.stats.Texts++
	}
	in.stats.Bytes += x.open.Size - uint64(x.resumed)
	in.evs = append(in.evs, ev)
	in.release(s, x)
	in.remember(s, wire.DONE, res)
	in.emit(s, wire.DONE, wire.AppendResult(in.body[:0], res))
}

func (x *xin) describe() string {
	if x.open.Kind == wire.KindFile {
		return fmt.Sprintf("file %q", x.open.Name)
	}
	return "text message"
}

// fail ends x with an error the sender is told with ABORT.
func (in *XInbox) fail(s *xsess, x *xin, code wire.Code, err error) {
	res := wire.Result{TID: x.open.TID, Code: code, Text: err.Error()}
	in.remember(s, wire.ABORT, res)
	in.emit(s, wire.ABORT, wire.AppendResult(in.body[:0], res))
	in.stats.Failed++
	in.evs = append(in.evs, Event{Kind: EventFailed, Peer: s.addr, Name: x.open.Name, Size: x.bytes, Err: err})
	if x.sink != nil {
		x.sink.Abort()
		x.sink = nil
	}
	in.release(s, x)
}

// drop ends x with kind (EventAborted, or 0 for no event): a file is kept
// for a resume when the store can, else discarded.
func (in *XInbox) drop(s *xsess, x *xin, kind EventKind, err error) {
	if x.sink != nil {
		if rs, ok := x.sink.(ResumableSink); ok {
			rs.Suspend()
		} else {
			x.sink.Abort()
		}
		x.sink = nil
	}
	if kind != 0 {
		in.stats.Aborted++
		in.evs = append(in.evs, Event{Kind: kind, Peer: s.addr, Name: x.open.Name, Size: x.bytes, Err: err})
	}
	in.release(s, x)
}

// release forgets x and its buffers.
func (in *XInbox) release(s *xsess, x *xin) {
	for i, b := range x.slots {
		if b != nil {
			in.buffered -= len(b)
			in.free = append(in.free, b[:0])
			x.slots[i] = nil
		}
	}
	if len(in.free) > 256 {
		clear(in.free[256:])
		in.free = in.free[:256]
	}
	x.ended = true
	if s.xfers[x.open.TID] == x {
		delete(s.xfers, x.open.TID)
		in.active--
	}
}

func (s *xsess) remember(d xdone) {
	s.done[s.ndone%doneMemory] = d
	s.ndone++
}

func (in *XInbox) remember(s *xsess, t wire.Type, r wire.Result) {
	s.remember(xdone{tid: r.TID, res: r, typ: t})
}

func (s *xsess) recall(tid uint32) *xdone {
	for i := range min(s.ndone, doneMemory) {
		if d := &s.done[i]; d.tid == tid {
			return d
		}
	}
	return nil
}

// resumeKey names the partial file of a transfer: its name, size and
// modification time, hashed.
func resumeKey(o wire.Open) string {
	h := sha256.New()
	h.Write([]byte(o.Name))
	var b [16]byte
	binary.BigEndian.PutUint64(b[:], o.Size)
	binary.BigEndian.PutUint64(b[8:], uint64(o.MTime))
	h.Write(b[:])
	return fmt.Sprintf("%x", h.Sum(nil)[:12])
}
