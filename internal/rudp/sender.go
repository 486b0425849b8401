package rudp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/netkit/netkit/internal/rudp/wire"
)

// Defaults for SendOptions and InboxConfig, used where a field is zero.
const (
	// DefaultTimeout is how long a peer may stay silent before it is
	// taken for gone.
	DefaultTimeout = 10 * time.Second
	// DefaultKeepAlive is the interval of the KPA frames an idle sender
	// sends after its first transfer.
	DefaultKeepAlive = 3 * time.Second
	// DefaultInitialRTO is the retransmission timeout before the first
	// round-trip sample.
	DefaultInitialRTO = 500 * time.Millisecond
	// DefaultMinRTO is the smallest retransmission timeout. It is far
	// below RFC 6298's one second because stop-and-wait keeps one frame
	// in flight: a resend that was not needed costs one duplicate
	// datagram, and on a LAN or loopback a lost one costs this long.
	DefaultMinRTO = 20 * time.Millisecond
	// DefaultMaxRTO caps the exponential backoff of the retransmission
	// timeout.
	DefaultMaxRTO = 2 * time.Second
	// DefaultMaxQueue bounds the items a Sender holds waiting.
	DefaultMaxQueue = 4096
)

// SendOptions configures a Sender, and so Send and Session. The zero value
// is the legacy defaults.
type SendOptions struct {
	// FragmentSize is F, the data bytes per DAT frame, 1..wire.MaxData;
	// zero means wire.MaxData (1445).
	FragmentSize int
	// Timeout fails the session with ErrPeerGone when the receiver has
	// sent nothing for this long while an answer was awaited; zero means
	// DefaultTimeout.
	Timeout time.Duration
	// KeepAlive is the interval of KPA frames while idle after the first
	// transfer; zero means DefaultKeepAlive, negative none.
	KeepAlive time.Duration
	// InitialRTO, MinRTO and MaxRTO bound the retransmission timeout; zero
	// means DefaultInitialRTO, DefaultMinRTO and DefaultMaxRTO.
	InitialRTO, MinRTO, MaxRTO time.Duration
	// CorruptEvery, when N > 0, sends the first transmission of every N-th
	// DAT frame with one bit flipped after its crc was computed, as the
	// legacy sender's error simulation does: the receiver NACKs it and the
	// resend goes out clean.
	CorruptEvery int
	// MaxQueue bounds the items waiting to be sent; zero means
	// DefaultMaxQueue.
	MaxQueue int
	// Trace, when set, is called by the drivers (Send, Session) with every
	// frame sent and received; OnEvent with every item delivered
	// (EventText, EventFile, Peer set). They are called from the goroutine
	// running the session, and must not block it for long; Trace may be
	// called with the Session's lock held, and must not call its methods.
	// The state machine ignores both.
	Trace   func(FrameTrace)
	OnEvent func(Event)

	// Legacy makes a Session speak only the frames of SEED-PROTOCOL.md,
	// stop-and-wait, without offering the extended mode first. A Window
	// of 1 means the same.
	Legacy bool
	// Window bounds the fragments in flight in the extended mode; zero
	// means DefaultWindow. The receiver may bound it further.
	Window int
	// Secret, when set, seals the session (extended mode only): a Noise
	// handshake authenticated by a key stretched from it with Argon2id.
	Secret string
	// NoAES, with a Secret, never offers AES-256-GCM: the frames are
	// sealed with ChaCha20-Poly1305, as by a peer without AES
	// instructions. By default AES-256-GCM is offered where the CPU has
	// them, and used when the receiver has them too.
	NoAES bool
	// HelloWait is how long the extended offer waits for an answer
	// before falling back to legacy; zero means DefaultHelloWait.
	HelloWait time.Duration

	fragSet bool // FragmentSize was given
}

// withDefaults checks o and fills in its defaults.
func (o SendOptions) withDefaults() (SendOptions, error) {
	o.fragSet = o.fragSet || o.FragmentSize != 0
	if o.FragmentSize == 0 {
		o.FragmentSize = wire.MaxData
	}
	if o.FragmentSize < 1 || o.FragmentSize > wire.MaxData {
		return o, fmt.Errorf("%w: fragment size %d, want 1..%d", wire.ErrSize, o.FragmentSize, wire.MaxData)
	}
	if o.CorruptEvery < 0 || o.Timeout < 0 || o.InitialRTO < 0 || o.MinRTO < 0 || o.MaxRTO < 0 || o.MaxQueue < 0 {
		return o, errors.New("rudp: negative send option")
	}
	o.Timeout = or(o.Timeout, DefaultTimeout)
	o.KeepAlive = or(o.KeepAlive, DefaultKeepAlive)
	o.InitialRTO = or(o.InitialRTO, DefaultInitialRTO)
	o.MinRTO = or(o.MinRTO, DefaultMinRTO)
	o.MaxRTO = or(o.MaxRTO, DefaultMaxRTO)
	o.MaxQueue = or(o.MaxQueue, DefaultMaxQueue)
	if o.MinRTO > o.MaxRTO {
		return o, fmt.Errorf("rudp: MinRTO %v above MaxRTO %v", o.MinRTO, o.MaxRTO)
	}
	return o, nil
}

func or[T int | int64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

type sendState uint8

const (
	sendIdle sendState = iota // nothing outstanding but perhaps a KPA
	sendInfo                  // an INF waits for its ACK
	sendData                  // a DAT waits for its ACK
	sendDone                  // FIN sent, or failed
)

// queued is an item waiting, already planned.
type queued struct {
	item Item
	plan wire.Plan
}

// Sender is the sans-IO state machine of one legacy sending session: a
// queue of items sent one after the other to one receiver, stop-and-wait,
// as SEED-PROTOCOL.md has it. INF, then DAT 1..count, each sent again on a
// NACK at once and on a retransmission timeout (RFC 6298 estimates,
// doubled on each timeout up to MaxRTO); KPA every KeepAlive while idle
// after the first transfer; FIN when the queue is drained after CloseSend.
// A receiver silent for Timeout while an answer is awaited fails the
// session with ErrPeerGone.
//
// A Sender does no I/O and reads no clock: its driver feeds it the
// datagrams that arrive (Handle) and the passing of time (Tick), and sends
// what the returned Output holds. It is deterministic and not safe for
// concurrent use. The only reads it makes are of the items' io.ReaderAt.
type Sender struct {
	opt     SendOptions
	queue   []queued
	closing bool
	state   sendState
	err     error

	// The item in flight.
	item Item
	plan wire.Plan
	seq  uint32 // the DAT outstanding
	done int64  // its content bytes acknowledged
	kind [1]byte

	// The frame outstanding.
	frame  []byte     // its clean encoding; cap wire.MaxFrame
	sent   wire.Frame // what an answer must match
	sentAt time.Time  // its first transmission
	sends  int        // its transmissions so far
	retxAt time.Time

	// Keep-alive and liveness.
	ctl         []byte // an encoded KPA or FIN
	kpaOut      bool   // a KPA awaits its ACK
	kpaAt       time.Time
	waiting     bool      // an answer is awaited
	silentSince time.Time // since when, or the peer's last valid answer if later
	answered    bool      // a valid answer has arrived in this session

	dats  uint64 // DAT first transmissions, for CorruptEvery
	dirty []byte

	rto   rtoEstimator
	stats Stats

	out  Output
	evs  []Event
	dgrm [][]byte
}

// NewSender returns a Sender with the options o, idle and with nothing
// queued. It fails for options out of range (a fragment size outside
// 1..1445 is wire.ErrSize).
func NewSender(o SendOptions) (*Sender, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Sender{
		opt:   o,
		frame: make([]byte, 0, wire.MaxFrame),
		ctl:   make([]byte, 0, wire.HeaderLen),
		dirty: make([]byte, 0, wire.MaxFrame),
		rto:   newRTO(o.InitialRTO, o.MinRTO, o.MaxRTO),
		dgrm:  make([][]byte, 0, 2),
	}, nil
}

// Enqueue adds it to the queue. It fails with ErrClosed after CloseSend or
// once the session has ended, ErrQueueFull when MaxQueue items wait, and
// with the errors of wire.NewPlan for an item that cannot be sent (a bad
// file name, more than 2^24-1 frames). The item starts at the next Handle
// or Tick that finds the Sender idle: call Tick after Enqueue.
func (s *Sender) Enqueue(it Item) error {
	if s.closing || s.state == sendDone {
		return ErrClosed
	}
	if len(s.queue) >= s.opt.MaxQueue {
		return ErrQueueFull
	}
	f := s.opt.FragmentSize
	if it.fragSize != 0 {
		f = it.fragSize
	}
	if it.corruptEvery < 0 {
		return fmt.Errorf("rudp: cannot send %s: negative corrupt-every %d", it.describe(), it.corruptEvery)
	}
	p, err := it.plan(f)
	if err != nil {
		return fmt.Errorf("rudp: cannot send %s: %w", it.describe(), err)
	}
	s.queue = append(s.queue, queued{it, p})
	return nil
}

// CloseSend ends the session once the queue is drained: the next Handle or
// Tick that finds the Sender idle sends FIN and the Sender is done.
func (s *Sender) CloseSend() { s.closing = true }

// Done reports whether the session has ended, by FIN or by failure.
func (s *Sender) Done() bool { return s.state == sendDone }

// Err returns why the session failed, or nil.
func (s *Sender) Err() error { return s.err }

// Stats returns the counters so far.
func (s *Sender) Stats() Stats {
	st := s.stats
	st.SRTT, st.RTTVar, st.RTTSamples, st.RTO = s.rto.srtt, s.rto.rttvar, s.rto.samples, s.rto.rto
	st.Legacy = true
	return st
}

// Progress describes the item in flight.
type Progress struct {
	// Active reports whether an item is in flight; the rest is zero when
	// not.
	Active bool
	File   bool
	Name   string
	// Done and Size are its content bytes acknowledged and its size.
	Done, Size int64
	// Queued counts the items waiting behind it.
	Queued int
}

// Progress describes the item in flight.
func (s *Sender) Progress() Progress {
	if s.state != sendInfo && s.state != sendData {
		return Progress{Queued: len(s.queue)}
	}
	return Progress{Active: true, File: s.item.IsFile(), Name: s.item.name, Done: s.done, Size: s.item.size, Queued: len(s.queue)}
}

// Handle takes one datagram from the receiver, received at now, and
// returns what to do. Datagrams that are not valid frames are counted and
// ignored; so are answers that do not match the frame outstanding
// (wire.Answers), as duplicates and late answers do not.
func (s *Sender) Handle(datagram []byte, now time.Time) Output {
	s.reset()
	if s.state == sendDone {
		return s.output()
	}
	s.stats.Received++
	f, err := wire.Parse(datagram)
	if err != nil {
		s.stats.Dropped++
		return s.output()
	}
	// Only a valid answer shows that the receiver is there: junk, stale
	// answers and the sender's own frames coming back leave the timeout
	// running.
	switch f.Type {
	case wire.FIN:
		if s.state == sendIdle {
			s.fail(ErrPeerClosed)
		} else {
			s.fail(fmt.Errorf("%w: the receiver answered %s with FIN", ErrRefused, s.item.describe()))
		}
		return s.output()
	case wire.ACK, wire.NACK:
		switch {
		case (s.state == sendInfo || s.state == sendData) && wire.Answers(s.sent, f):
			s.heard(now)
			if f.Type == wire.NACK {
				s.stats.NACKs++
				s.retransmit(now)
			} else {
				s.acked(now)
			}
		case s.kpaOut && f.Type == wire.ACK && wire.Answers(wire.KeepAlive(), f):
			s.heard(now)
			s.kpaOut = false
			if s.state == sendIdle {
				s.waiting = false
			}
		default:
			s.stats.Stale++
		}
	default:
		// INF, DAT, KPA: a receiver sends none. The frame just sent,
		// coming back, is an echo service's doing.
		s.stats.Dropped++
		if !s.answered && (f.Type == wire.KPA || bytes.Equal(datagram, s.frame)) {
			s.fail(ErrEcho)
			return s.output()
		}
	}
	s.pump(now)
	return s.output()
}

// heard notes a valid answer from the receiver at now.
func (s *Sender) heard(now time.Time) {
	s.silentSince = now
	s.answered = true
}

// Tick tells the Sender that time has come to now: it retransmits the
// frame outstanding when its timeout has expired, sends a KPA when one is
// due, fails the session when the peer has been silent too long, and
// starts what was enqueued while idle.
func (s *Sender) Tick(now time.Time) Output {
	s.reset()
	if s.state == sendDone {
		return s.output()
	}
	if s.waiting && !now.Before(s.silentSince.Add(s.opt.Timeout)) {
		s.abort(fmt.Errorf("%w: no answer for %v", ErrPeerGone, s.opt.Timeout))
		return s.output()
	}
	if (s.state == sendInfo || s.state == sendData) && !now.Before(s.retxAt) {
		s.stats.Timeouts++
		s.rto.timedOut()
		s.retransmit(now)
	}
	s.pump(now)
	if s.state == sendIdle && s.keepAliveDue(now) {
		s.ctl = wire.Append(s.ctl[:0], wire.KeepAlive())
		s.kpaOut = true
		s.kpaAt = now.Add(s.opt.KeepAlive)
		s.expect(now)
		s.stats.KeepAlives++
		s.emit(s.ctl)
	}
	return s.output()
}

// Abort ends the session at once with err (ctx.Err(), say): it sends FIN,
// so that the receiver drops what it has of the item in flight, and Err
// returns err from then on. It does nothing once the session has ended.
func (s *Sender) Abort(err error) Output {
	s.reset()
	s.abort(err)
	return s.output()
}

// keepAliveDue reports whether an idle Sender must send a KPA now.
func (s *Sender) keepAliveDue(now time.Time) bool {
	return s.opt.KeepAlive > 0 && s.stats.Items > 0 && !now.Before(s.kpaAt)
}

// pump starts the next item, or ends the session, when idle.
func (s *Sender) pump(now time.Time) {
	if s.state != sendIdle {
		return
	}
	if len(s.queue) > 0 {
		q := s.queue[0]
		s.queue[0] = queued{}
		s.queue = s.queue[1:]
		if len(s.queue) == 0 {
			s.queue = s.queue[:0:0] // let the backing array go
		}
		s.start(q, now)
		return
	}
	if s.closing {
		s.abort(nil)
	}
}

// start sends the INF of q.
func (s *Sender) start(q queued, now time.Time) {
	s.item, s.plan, s.done, s.seq = q.item, q.plan, 0, 0
	s.kind[0] = q.plan.Kind
	inf := s.plan.Info()
	inf.Data = s.kind[:]
	s.frame = wire.Append(s.frame[:0], inf)
	s.sent = inf
	s.state = sendInfo
	s.transmit(now)
}

// acked moves on after the ACK of the frame outstanding.
func (s *Sender) acked(now time.Time) {
	// Karn: only frames sent once give a sample. Nor does a file's last
	// DAT: its ACK waits for the receiver to sync and name the file, and
	// measures the disk rather than the network.
	lastOfFile := s.state == sendData && s.seq == s.plan.Count && s.item.IsFile()
	if s.sends == 1 && !lastOfFile {
		s.rto.sample(now.Sub(s.sentAt))
	} else {
		s.rto.progress()
	}
	if s.state == sendData {
		if fr, _ := s.plan.Fragment(s.seq); !fr.Name {
			s.done += fr.End - fr.Start
			s.stats.Bytes += fr.End - fr.Start
		}
		if s.seq == s.plan.Count {
			s.complete(now)
			return
		}
	} else if s.plan.Count == 0 {
		s.complete(now) // an empty text: the INF is all there is
		return
	}
	s.sendData(s.seq+1, now)
}

// sendData sends DAT seq of the item in flight, reading it into the frame
// buffer in place.
func (s *Sender) sendData(seq uint32, now time.Time) {
	fr, err := s.plan.Fragment(seq)
	if err != nil {
		s.abort(fmt.Errorf("rudp: %s: %w", s.item.describe(), err)) // cannot happen with a plan from NewPlan
		return
	}
	n := int(fr.End - fr.Start)
	buf := s.frame[:wire.HeaderLen+n]
	data := buf[wire.HeaderLen:]
	if fr.Name {
		copy(data, s.item.name[fr.Start:fr.End])
	} else if m, err := s.item.data.ReadAt(data, fr.Start); m < n {
		if err == nil || errors.Is(err, io.EOF) {
			err = fmt.Errorf("%w: %d bytes at offset %d, want %d", ErrChanged, m, fr.Start, n)
		}
		s.abort(fmt.Errorf("rudp: reading %s: %w", s.item.describe(), err))
		return
	}
	hdr := wire.Header{Seq: seq, Count: s.plan.Count, Size: uint16(n), Type: wire.DAT}
	// data aliases the frame buffer right where Append copies it: the
	// copy is onto itself, and nothing is allocated.
	s.frame = wire.Append(s.frame[:0], wire.Frame{Header: hdr, Data: data})
	s.sent = wire.Frame{Header: hdr}
	s.seq = seq
	s.state = sendData
	s.transmit(now)
}

// transmit sends the frame outstanding for the first time, damaged when
// CorruptEvery says so.
func (s *Sender) transmit(now time.Time) {
	s.sends = 1
	s.sentAt = now
	s.retxAt = now.Add(s.rto.rto)
	s.expect(now)
	out := s.frame
	if s.state == sendData {
		s.dats++
		n := uint64(s.opt.CorruptEvery)
		if s.item.corruptEvery > 0 {
			n = uint64(s.item.corruptEvery)
		}
		if n > 0 && s.dats%n == 0 {
			s.dirty = append(s.dirty[:0], s.frame...)
			wire.Corrupt(s.dirty, int(s.dats*37)) // any bit of the data will do
			s.stats.Corrupted++
			out = s.dirty
		}
	}
	s.emit(out)
}

// retransmit sends the frame outstanding again, clean.
func (s *Sender) retransmit(now time.Time) {
	s.sends++
	s.stats.Retransmissions++
	s.retxAt = now.Add(s.rto.rto)
	s.expect(now)
	s.emit(s.frame)
}

// complete finishes the item in flight.
func (s *Sender) complete(now time.Time) {
	ev := Event{Kind: EventText, Text: s.item.text, Size: s.item.size}
	if s.item.IsFile() {
		ev = Event{Kind: EventFile, Name: s.item.name, Size: s.item.size}
	}
	s.evs = append(s.evs, ev)
	s.stats.Items++
	s.item, s.sent = Item{}, wire.Frame{}
	s.state = sendIdle
	s.waiting = s.kpaOut
	s.kpaAt = now.Add(s.opt.KeepAlive)
}

// expect notes that an answer is awaited from now on.
func (s *Sender) expect(now time.Time) {
	if !s.waiting {
		s.waiting = true
		s.silentSince = now
	}
}

// abort ends the session with FIN; err nil is the normal end.
func (s *Sender) abort(err error) {
	if s.state == sendDone {
		return
	}
	s.ctl = wire.Append(s.ctl[:0], wire.Fin())
	s.emit(s.ctl)
	s.fail(err)
}

// fail ends the session without a word to the peer.
func (s *Sender) fail(err error) {
	s.state, s.err = sendDone, err
	s.item, s.queue = Item{}, nil
	s.waiting, s.kpaOut = false, false
}

func (s *Sender) emit(b []byte) {
	s.dgrm = append(s.dgrm, b)
	s.stats.Frames++
	s.stats.WireBytes += uint64(len(b))
}

func (s *Sender) reset() {
	clear(s.evs)
	s.evs = s.evs[:0]
	s.dgrm = s.dgrm[:0]
}

// output assembles what the call produced, with the next deadline.
func (s *Sender) output() Output {
	var d time.Time
	if s.state == sendInfo || s.state == sendData {
		d = s.retxAt
	}
	if s.waiting {
		d = earliest(d, s.silentSince.Add(s.opt.Timeout))
	}
	if s.state == sendIdle && s.opt.KeepAlive > 0 && s.stats.Items > 0 {
		d = earliest(d, s.kpaAt)
	}
	s.out = Output{Datagrams: s.dgrm, Events: s.evs, Deadline: d}
	return s.out
}

// earliest is the earlier of two deadlines, the zero time meaning none.
func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}
