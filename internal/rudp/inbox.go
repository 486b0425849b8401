package rudp

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/netkit/netkit/internal/rudp/wire"
)

// Defaults for InboxConfig, used where a field is zero.
const (
	// DefaultMaxPeers bounds the senders an Inbox serves at once.
	DefaultMaxPeers = 256
	// DefaultMaxPerAddr bounds the senders served at once from one IP
	// address, well below DefaultMaxPeers, so that one address cannot
	// take every slot.
	DefaultMaxPerAddr = 16
	// DefaultIdleEvict is how long a sender must have moved no data
	// before a full receiver may evict it to make room for another.
	DefaultIdleEvict = 5 * time.Second
	// DefaultMaxText bounds a text message, which is held in memory until
	// it is complete.
	DefaultMaxText = 64 << 10
	// DefaultMaxSize bounds a received file.
	DefaultMaxSize = 4 << 30
)

// ErrShuttingDown is the reason given for transfers refused while a
// Receiver shuts down.
var ErrShuttingDown = errors.New("rudp: receiver shutting down")

// InboxConfig configures an Inbox. The zero value receives texts only.
type InboxConfig struct {
	// Store receives the files; nil refuses every file.
	Store FileStore
	// MaxSize bounds a file in bytes: a larger one is refused at its INF
	// when its frame count already says so, and when it grows past the
	// limit otherwise. Zero means DefaultMaxSize, negative no limit but
	// the protocol's (2^24-1 frames).
	MaxSize int64
	// MaxText bounds a text message in bytes the same way; zero means
	// DefaultMaxText.
	MaxText int
	// Timeout forgets a peer silent this long, reporting it EventGone and
	// discarding its unfinished transfer; zero means DefaultTimeout.
	Timeout time.Duration
	// MaxPeers bounds the peers known at once. When full, a peer that
	// has moved no data for IdleEvict is evicted (told with FIN) to make
	// room; if none has, an INF from a further address is answered FIN
	// and counted. Zero means DefaultMaxPeers.
	MaxPeers int
	// MaxPerAddr bounds the peers known at once from one IP address (a
	// peer is an address and port), in the same way; zero means
	// DefaultMaxPerAddr.
	MaxPerAddr int
	// IdleEvict is how long a peer must have moved no data (no INF
	// starting a transfer, no new DAT; keep-alives do not count) before
	// it may be evicted; zero means DefaultIdleEvict.
	IdleEvict time.Duration
}

type xferState uint8

const (
	xferNone     xferState = iota
	xferActive             // DAT frames expected
	xferComplete           // every frame in; repeats are re-ACKed
	xferRefused            // answered with FIN; repeats get FIN again
)

// peer is one sender's session: the transfer in progress or the last one.
// Its memory is bounded: the name buffer, and a text of at most MaxText.
type peer struct {
	lastHeard time.Time
	lastData  time.Time // the last INF that started a transfer, or DAT stored

	state xferState
	info  wire.Header // the INF that started the transfer, crc included
	kind  byte
	plan  wire.Plan
	next  uint32 // the DAT expected
	size  int64  // content bytes received
	name  [wire.MaxName]byte
	nlen  int
	fname string // the name, once complete
	text  []byte
	sink  FileSink

	// last is the final DAT of the last transfer completed, crc
	// included: a resend of it (its ACK was lost) is ACKed again even
	// after an INF of the same shape has started a new transfer.
	last   wire.Header
	lastOK bool
}

// Inbox is the sans-IO state machine of a legacy receiver serving many
// senders at once, keyed by their address (legacy frames carry no transfer
// id). Per peer, as SEED-PROTOCOL.md has it:
//
//   - INF: ACK repeating it and start the transfer; the same INF again
//     (its ACK was lost) is ACKed again without restarting; another INF
//     starts another transfer, discarding an unfinished one. A transfer
//     refused (bad name, too large, no file store, shutting down) is
//     answered with FIN, and so is every repeat of its frames.
//   - DAT: the one expected (seq == next) is checked against the plan
//     (wire.Plan.Check), stored and ACKed; one already stored (a resend
//     after a lost ACK) is ACKed again and not stored twice; one whose crc
//     fails is answered with NACK; the rest are dropped.
//   - KPA: the all-zero ACK. FIN: the peer's session ends.
//
// Texts are collected (up to MaxText) and reported as EventText; files are
// streamed to the FileStore as they arrive, never held, and reported as
// EventFile once committed. A peer silent for Timeout is forgotten with an
// EventGone and its unfinished file discarded.
//
// An Inbox does no network I/O and reads no clock: its driver feeds it
// datagrams (Handle) and time (Tick) and sends the replies. It is not safe
// for concurrent use.
type Inbox struct {
	cfg      InboxConfig
	peers    map[netip.AddrPort]*peer
	perAddr  map[netip.Addr]int // peers by IP address
	deadline time.Time          // no peer expires before; may be early
	refusing error              // while set, new transfers are refused with it
	active   int
	stats    InboxStats
	reply    []byte
	dgrm     [][]byte
	to       []netip.AddrPort // where each of dgrm goes
	bufs     [][]byte         // frames for addresses other than cur
	nbuf     int
	evs      []Event
	cur      netip.AddrPort // the peer being handled, for events
}

// NewInbox returns an Inbox with the configuration cfg.
func NewInbox(cfg InboxConfig) *Inbox {
	cfg.MaxSize = or(cfg.MaxSize, DefaultMaxSize)
	cfg.MaxText = or(cfg.MaxText, DefaultMaxText)
	cfg.Timeout = or(cfg.Timeout, DefaultTimeout)
	cfg.MaxPeers = or(cfg.MaxPeers, DefaultMaxPeers)
	cfg.MaxPerAddr = or(cfg.MaxPerAddr, DefaultMaxPerAddr)
	cfg.IdleEvict = or(cfg.IdleEvict, DefaultIdleEvict)
	return &Inbox{
		cfg:     cfg,
		peers:   make(map[netip.AddrPort]*peer),
		perAddr: make(map[netip.Addr]int),
		reply:   make([]byte, 0, wire.MaxFrame),
		dgrm:    make([][]byte, 0, 1),
	}
}

// Refuse makes the Inbox refuse new transfers with FIN, reporting them as
// EventRefused with err; transfers in progress go on. Refuse(nil) accepts
// again. A Receiver refuses while it shuts down.
func (in *Inbox) Refuse(err error) { in.refusing = err }

// Active returns the number of transfers in progress.
func (in *Inbox) Active() int { return in.active }

// Deadline is when Tick must be called next, as in the last Output.
func (in *Inbox) Deadline() time.Time { return in.deadline }

// Stats returns the counters so far.
func (in *Inbox) Stats() InboxStats {
	st := in.stats
	st.Peers, st.Active = len(in.peers), in.active
	return st
}

// Handle takes one datagram from the address from, received at now, and
// returns the answer to send back to from, if any, with the events it
// caused.
func (in *Inbox) Handle(datagram []byte, from netip.AddrPort, now time.Time) Output {
	in.reset(from)
	in.stats.Datagrams++
	p := in.peers[from]
	f, err := wire.Parse(datagram)
	if err != nil {
		// A damaged DAT is NACKed, so the sender resends it at once; but
		// only to a peer with a transfer, lest anyone use the answer to
		// bounce datagrams off this one.
		if errors.Is(err, wire.ErrCRC) && f.Type == wire.DAT && p != nil && p.state == xferActive {
			p.lastHeard = now
			in.stats.NACKs++
			in.send(wire.NackFor(f))
		} else {
			in.stats.Malformed++
		}
		return in.output()
	}
	if p != nil {
		p.lastHeard = now
	}
	switch f.Type {
	case wire.KPA:
		in.send(wire.AckFor(f))
	case wire.FIN:
		if p != nil {
			in.forget(from, p, EventEnd, fmt.Errorf("%w: the sender ended the session", ErrAborted))
		}
	case wire.INF:
		if p == nil {
			if !in.admit(from, now) {
				// Answered, so that a sender learns it was refused
				// rather than that nobody is there; a FIN is shorter
				// than the INF, so this amplifies nothing.
				in.stats.PeersRefused++
				in.send(wire.Fin())
				return in.output()
			}
			p = &peer{lastHeard: now, lastData: now}
			in.peers[from] = p
			in.perAddr[from.Addr()]++
			in.deadline = earliest(in.deadline, now.Add(in.cfg.Timeout))
		}
		in.info(p, f, now)
	case wire.DAT:
		if p == nil {
			in.stats.Dropped++
			return in.output()
		}
		in.data(p, f, now)
	default:
		in.stats.Dropped++ // ACK, NACK: a sender sends none
	}
	return in.output()
}

// Tick forgets the peers silent for Timeout at now, reporting each with
// EventGone.
func (in *Inbox) Tick(now time.Time) Output {
	in.reset(netip.AddrPort{})
	if in.deadline.IsZero() || now.Before(in.deadline) {
		return in.output()
	}
	in.deadline = time.Time{}
	for addr, p := range in.peers {
		expiry := p.lastHeard.Add(in.cfg.Timeout)
		if now.Before(expiry) {
			in.deadline = earliest(in.deadline, expiry)
			continue
		}
		in.cur = addr
		in.forget(addr, p, EventGone, fmt.Errorf("%w: silent for %v", ErrPeerGone, in.cfg.Timeout))
	}
	return in.output()
}

// admit makes room for a new peer from the address from, evicting an idle
// one if need be, and reports whether there is room.
func (in *Inbox) admit(from netip.AddrPort, now time.Time) bool {
	if in.perAddr[from.Addr()] >= in.cfg.MaxPerAddr && !in.evict(from.Addr(), now) {
		return false
	}
	return len(in.peers) < in.cfg.MaxPeers || in.evict(netip.Addr{}, now)
}

// evict forgets the peer (from the IP address ip, when valid) that has
// moved no data for the longest, if that is IdleEvict or more, telling
// it with FIN, and reports whether it found one. Legacy frames carry no
// session id, so a sender that sends one INF and then only keep-alives
// would otherwise hold its slot for as long as it likes.
func (in *Inbox) evict(ip netip.Addr, now time.Time) bool {
	var (
		idle     *peer
		idleAddr netip.AddrPort
	)
	for addr, p := range in.peers {
		if ip.IsValid() && addr.Addr() != ip {
			continue
		}
		if now.Sub(p.lastData) >= in.cfg.IdleEvict && (idle == nil || p.lastData.Before(idle.lastData)) {
			idle, idleAddr = p, addr
		}
	}
	if idle == nil {
		return false
	}
	cur := in.cur
	in.cur = idleAddr
	if idle.state == xferActive {
		in.abort(idle, EventAborted, fmt.Errorf("%w: it moved no data for %v while the receiver was full", ErrAborted, now.Sub(idle.lastData).Truncate(time.Second)))
	}
	in.cur = cur
	in.stats.Evicted++
	in.remove(idleAddr)
	in.sendTo(idleAddr, wire.Fin())
	return true
}

// remove forgets the peer at addr.
func (in *Inbox) remove(addr netip.AddrPort) {
	delete(in.peers, addr)
	if n := in.perAddr[addr.Addr()] - 1; n > 0 {
		in.perAddr[addr.Addr()] = n
	} else {
		delete(in.perAddr, addr.Addr())
	}
}

// Close forgets every peer, discarding unfinished transfers with an
// EventAborted whose error wraps reason, and tells each peer with FIN,
// so that a sender stops at once rather than wait for its timeout. The
// Inbox may be used again.
func (in *Inbox) Close(reason error) Output {
	in.reset(netip.AddrPort{})
	for addr, p := range in.peers {
		in.cur = addr
		if p.state == xferActive {
			in.abort(p, EventAborted, fmt.Errorf("%w: %w", ErrAborted, reason))
		}
		in.remove(addr)
		in.sendTo(addr, wire.Fin())
	}
	in.deadline = time.Time{}
	return in.output()
}

// forget ends p's session: its unfinished transfer is discarded and
// reported as kind with err, and the session's end as kind too (EventEnd,
// EventGone).
func (in *Inbox) forget(addr netip.AddrPort, p *peer, kind EventKind, err error) {
	ev := Event{Kind: kind, Peer: addr}
	if p.state == xferActive {
		ev.Name, ev.Size = p.fname, p.size
		if kind == EventEnd {
			in.abort(p, EventAborted, err)
		} else {
			in.abort(p, 0, nil)
		}
	}
	if kind == EventGone {
		ev.Err = err
		in.stats.Gone++
	}
	in.evs = append(in.evs, ev)
	in.remove(addr)
}

// info handles an INF from p.
func (in *Inbox) info(p *peer, f wire.Frame, now time.Time) {
	if p.state != xferNone && p.info == f.Header && p.kind == f.Data[0] {
		switch {
		case p.state == xferRefused:
			in.send(wire.Fin())
			return
		case p.state == xferActive, p.plan.Count == 0:
			// Its ACK was lost. (A complete transfer of one or more
			// frames cannot be repeated: its sender had that ACK before
			// it sent DAT 1. An INF of the same shape after it is a new
			// transfer.)
			in.stats.Repeats++
			in.send(wire.AckFor(f))
			return
		}
	}
	if p.state == xferActive {
		in.abort(p, EventAborted, fmt.Errorf("%w: the sender began another transfer", ErrAborted))
	}
	p.lastData = now
	p.state, p.info, p.kind = xferRefused, f.Header, f.Data[0]
	p.next, p.size, p.nlen, p.fname, p.text = 1, 0, 0, "", p.text[:0]
	if in.refusing != nil {
		in.refuse(p, in.refusing)
		return
	}
	plan, err := wire.PlanOf(f)
	if err != nil {
		in.refuse(p, err)
		return
	}
	p.plan = plan
	content := int64(plan.Count - plan.NameFrames)
	least := int64(0) // the content's smallest possible length
	if content > 0 {
		least = (content-1)*int64(plan.FragSize) + 1
	}
	switch {
	case plan.Kind == wire.KindFile && in.cfg.Store == nil:
		in.refuse(p, errors.New("rudp: this receiver takes no files"))
		return
	case plan.Kind == wire.KindFile && in.cfg.MaxSize > 0 && least > in.cfg.MaxSize:
		in.refuse(p, fmt.Errorf("%w: a file of at least %d bytes, over the limit of %d", ErrTooLarge, least, in.cfg.MaxSize))
		return
	case plan.Kind == wire.KindText && least > int64(in.cfg.MaxText):
		in.refuse(p, fmt.Errorf("%w: a text of at least %d bytes, over the limit of %d", ErrTooLarge, least, in.cfg.MaxText))
		return
	}
	p.state = xferActive
	in.active++
	if plan.Count == 0 && !in.finish(p) { // an empty text: complete at once
		return
	}
	in.send(wire.AckFor(f))
}

// data handles a DAT from p.
func (in *Inbox) data(p *peer, f wire.Frame, now time.Time) {
	switch {
	case p.state == xferRefused:
		in.send(wire.Fin())
		return
	case p.state == xferActive && f.Seq == p.next:
		fr, err := p.plan.Check(f)
		if err != nil {
			in.stats.Malformed++
			return
		}
		if !in.store(p, fr, f.Data) {
			return
		}
		p.lastData = now
		if p.next++; p.next > p.plan.Count {
			if !in.finish(p) {
				return
			}
			p.last, p.lastOK = f.Header, true
		}
		in.send(wire.AckFor(f))
		return
	case (p.state == xferActive || p.state == xferComplete) && f.Seq < p.next && f.Count == p.plan.Count:
		if _, err := p.plan.Check(f); err == nil {
			in.stats.Duplicates++
			in.send(wire.AckFor(f))
			return
		}
	case p.lastOK && f.Header == p.last:
		in.stats.Duplicates++
		in.send(wire.AckFor(f))
		return
	}
	in.stats.Dropped++
}

// store takes the bytes of one DAT; false means the transfer has ended
// and the peer was answered.
func (in *Inbox) store(p *peer, fr wire.Fragment, data []byte) bool {
	if fr.Name {
		if fr.End > wire.MaxName {
			in.refuse(p, fmt.Errorf("%w: longer than %d bytes", wire.ErrBadName, wire.MaxName))
			return false
		}
		p.nlen = copy(p.name[fr.Start:], data) + int(fr.Start)
		if p.next == p.plan.NameFrames {
			return in.open(p)
		}
		return true
	}
	n := int64(len(data))
	switch {
	case p.kind == wire.KindText:
		if p.size+n > int64(in.cfg.MaxText) {
			in.refuse(p, fmt.Errorf("%w: a text over %d bytes", ErrTooLarge, in.cfg.MaxText))
			return false
		}
		p.text = append(p.text, data...)
	case in.cfg.MaxSize > 0 && p.size+n > in.cfg.MaxSize:
		in.refuse(p, fmt.Errorf("%w: %q is over %d bytes", ErrTooLarge, p.fname, in.cfg.MaxSize))
		return false
	default:
		if _, err := p.sink.Write(data); err != nil {
			in.fail(p, err)
			return false
		}
	}
	p.size += n
	return true
}

// open starts the file once its name is complete.
func (in *Inbox) open(p *peer) bool {
	name := string(p.name[:p.nlen])
	p.fname = name
	if _, err := wire.SanitizeName(name); err != nil {
		in.refuse(p, err)
		return false
	}
	sink, err := in.cfg.Store.Create(name)
	if err != nil {
		if errors.Is(err, wire.ErrBadName) || errors.Is(err, ErrReservedName) {
			in.refuse(p, err)
		} else {
			in.fail(p, err)
		}
		return false
	}
	p.sink = sink
	return true
}

// finish completes p's transfer: the text is delivered, the file
// committed. False means it failed and the peer was answered.
func (in *Inbox) finish(p *peer) bool {
	ev := Event{Kind: EventText, Peer: in.cur, Size: p.size}
	if p.kind == wire.KindFile {
		path, err := p.sink.Commit()
		p.sink = nil
		if err != nil {
			in.fail(p, err)
			return false
		}
		ev.Kind, ev.Name, ev.Path = EventFile, p.fname, path
		in.stats.Files++
	} else {
		ev.Text = string(p.text)
		if cap(p.text) > 4<<10 {
			p.text = nil // keep an idle peer small
		}
		in.stats.Texts++
	}
	in.stats.Bytes += uint64(p.size)
	in.evs = append(in.evs, ev)
	p.state = xferComplete
	in.active--
	return true
}

// refuse ends p's transfer with FIN, for a reason of policy.
func (in *Inbox) refuse(p *peer, err error) {
	in.abort(p, EventRefused, err)
	in.send(wire.Fin())
}

// fail ends p's transfer with FIN, for a local failure.
func (in *Inbox) fail(p *peer, err error) {
	in.abort(p, EventFailed, err)
	in.send(wire.Fin())
}

// abort discards what p's transfer has stored and reports it as kind
// (none when 0; an EventAborted only when a DAT had arrived). Its frames
// are answered with FIN from then on.
func (in *Inbox) abort(p *peer, kind EventKind, err error) {
	if p.sink != nil {
		p.sink.Abort()
		p.sink = nil
	}
	if p.state == xferActive {
		in.active--
	}
	p.state = xferRefused
	p.text = p.text[:0]
	if kind == EventAborted && p.next == 1 {
		// Nothing of it had arrived: a phantom started by a delayed
		// duplicate INF, say. There is nothing to report.
		return
	}
	switch kind {
	case EventRefused:
		in.stats.Refused++
	case EventFailed:
		in.stats.Failed++
	case EventAborted:
		in.stats.Aborted++
	}
	if kind != 0 {
		in.evs = append(in.evs, Event{Kind: kind, Peer: in.cur, Name: p.fname, Size: p.size, Err: err})
	}
}

func (in *Inbox) send(f wire.Frame) {
	if f.Type == wire.ACK {
		in.stats.ACKs++
	}
	in.reply = wire.Append(in.reply[:0], f)
	in.dgrm = append(in.dgrm, in.reply)
	in.to = append(in.to, in.cur)
}

// sendTo sends f to addr, another peer than the one being handled.
func (in *Inbox) sendTo(addr netip.AddrPort, f wire.Frame) {
	if in.nbuf == len(in.bufs) {
		in.bufs = append(in.bufs, make([]byte, 0, wire.MaxFrame))
	}
	b := wire.Append(in.bufs[in.nbuf][:0], f)
	in.bufs[in.nbuf] = b
	in.nbuf++
	in.dgrm = append(in.dgrm, b)
	in.to = append(in.to, addr)
}

func (in *Inbox) reset(from netip.AddrPort) {
	clear(in.evs)
	in.evs = in.evs[:0]
	in.dgrm = in.dgrm[:0]
	in.to = in.to[:0]
	in.nbuf = 0
	in.cur = from
}

func (in *Inbox) output() Output {
	return Output{Datagrams: in.dgrm, To: in.to, Events: in.evs, Deadline: in.deadline}
}
