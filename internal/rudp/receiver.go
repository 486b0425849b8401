package rudp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/netkit/netkit/internal/rudp/wire"
	"github.com/netkit/netkit/internal/udpio"
)

// Receiver serves both protocols on UDP sockets, in the manner of
// net/http.Server: set its fields, call Serve, stop with Shutdown or
// Close. Texts and files from any number of senders (up to MaxPeers at
// once) are received by an Inbox (legacy frames) and an XInbox (extended
// ones), told apart by the frame type; files go to Store, or to a Store on
// Dir. The zero value receives into the current directory with the
// defaults. The fields must not change once serving; the methods are safe
// for concurrent use.
type Receiver struct {
	// Dir is the folder files are stored in when Store is nil; "" is the
	// current directory. It must exist.
	Dir string
	// Overwrite lets a file replace one of the same name in Dir.
	Overwrite bool
	// MaxPartials and MaxPartialBytes bound the partial files kept in
	// Dir for a resume: see StoreOptions.
	MaxPartials     int
	MaxPartialBytes int64
	// MaxSize, MaxText, Timeout, MaxPeers, MaxPerAddr and IdleEvict
	// bound the Inbox and the XInbox: see InboxConfig.
	MaxSize    int64
	MaxText    int
	Timeout    time.Duration
	MaxPeers   int
	MaxPerAddr int
	IdleEvict  time.Duration
	// Window bounds the fragments one extended transfer may have in
	// flight; zero means DefaultWindow.
	Window int
	// Secret, when set, seals every session: senders must hold the same
	// secret, and legacy senders (which cannot encrypt) are refused.
	Secret string
	// Warn, when set, is told what setting up a socket found wanting: a
	// kernel that granted smaller buffers than asked, say.
	Warn func(string)
	// Store, when set, receives the files instead of a Store on Dir.
	Store FileStore
	// Logger receives a line per transfer and per peer gone; nil
	// discards them.
	Logger *slog.Logger
	// OnEvent, when set, is called with every event: texts received,
	// files stored, transfers refused or failed, peers gone. It is called
	// from a serving goroutine and must not block it for long.
	OnEvent func(Event)
	// Trace, when set, is called with every frame received and sent,
	// from a serving goroutine that may hold the Receiver's lock: it must
	// not call the Receiver's methods.
	Trace func(FrameTrace)

	initOnce sync.Once
	initErr  error
	logger   *slog.Logger
	own      *Store // the Store on Dir, closed by Close

	mu       sync.Mutex
	in       *Inbox
	xin      *XInbox
	pc       net.PacketConn // the socket being served
	shutting bool
	closed   bool
	drained  chan struct{} // closed when shutting and no transfer is left
}

func (r *Receiver) init() error {
	r.initOnce.Do(func() {
		r.logger = r.Logger
		if r.logger == nil {
			r.logger = slog.New(slog.DiscardHandler)
		}
		store := r.Store
		if store == nil {
			dir := r.Dir
			if dir == "" {
				dir = "."
			}
			maxSize := or(r.MaxSize, DefaultMaxSize)
			r.own, r.initErr = OpenStore(dir, StoreOptions{
				Overwrite: r.Overwrite, MaxSize: max(maxSize, 0),
				MaxPartials: r.MaxPartials, MaxPartialBytes: r.MaxPartialBytes,
			})
			if r.initErr == nil {
				store = r.own
			}
		}
		r.in = NewInbox(InboxConfig{
			Store: store, MaxSize: r.MaxSize, MaxText: r.MaxText, Timeout: r.Timeout,
			MaxPeers: r.MaxPeers, MaxPerAddr: r.MaxPerAddr, IdleEvict: r.IdleEvict,
		})
		if r.Secret != "" {
			r.in.Refuse(ErrNeedSecret)
		}
		if r.initErr == nil {
			r.xin, r.initErr = NewXInbox(XInboxConfig{
				Store: store, MaxSize: r.MaxSize, MaxText: r.MaxText, Timeout: r.Timeout,
				MaxPeers: r.MaxPeers, MaxPerAddr: r.MaxPerAddr, IdleEvict: r.IdleEvict, Window: r.Window, Secret: r.Secret, Trace: r.Trace,
			})
		}
	})
	return r.initErr
}

// Serve receives on pc until Shutdown or Close, then returns
// ErrServerClosed. It always returns a non-nil error, and closes pc. A
// *net.UDPConn is served without allocating per datagram. A Receiver
// serves one socket: while it serves one, Serve on another returns
// ErrServing (the sessions, their replies and the read deadline belong
// to the first); to receive on several, run a Receiver on each.
func (r *Receiver) Serve(pc net.PacketConn) error {
	if err := r.init(); err != nil {
		pc.Close()
		return err
	}
	r.mu.Lock()
	switch {
	case r.closed || r.shutting:
		r.mu.Unlock()
		pc.Close()
		return ErrServerClosed
	case r.pc != nil:
		r.mu.Unlock()
		pc.Close()
		return ErrServing
	}
	r.pc = pc
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.pc = nil
		r.mu.Unlock()
		pc.Close()
	}()

	sock, warns, err := udpio.NewSocket(pc, wire.MaxExtFrame+1, // one more, to tell an oversized datagram
		&udpio.Options{ReadBuffer: SocketBuffer, WriteBuffer: SocketBuffer})
	if err != nil {
		warns = append(warns, "batched socket I/O unavailable: "+err.Error()) // the plain socket still works
	}
	for _, w := range warns {
		r.logger.Warn(w)
		if r.Warn != nil {
			r.Warn(w)
		}
	}
	uc := sock.Batch()
	rd := make([]udpio.Datagram, udpio.DefaultBatch)
	wr := make([]udpio.Datagram, 0, udpio.DefaultBatch)
	var (
		deadline time.Time
		evs      []Event
	)
	write := func() {
		if len(wr) > 0 {
			uc.WriteBatch(wr) // a datagram lost here is lost on the way
			clear(wr)
			wr = wr[:0]
		}
	}
	send := func(out Output, from netip.AddrPort) {
		for i, d := range out.Datagrams {
			to := from
			if len(out.To) > 0 {
				to = out.To[i]
			}
			if r.Trace != nil {
				traceDatagram(r.Trace, TraceOut, to, d)
			}
			if uc != nil {
				if len(wr) == cap(wr) {
					write()
				}
				wr = append(wr, udpio.Datagram{B: d, Addr: to})
			} else {
				sock.WriteTo(d, to)
			}
		}
		write() // the machine's buffers are reused by its next call
		evs = append(evs, out.Events...)
	}
	for {
		n, err := sock.Read(rd)
		now := time.Now()
		if err != nil {
			n = 0
		}
		for i := range n {
			rd[i].Addr = netip.AddrPortFrom(rd[i].Addr.Addr().Unmap(), rd[i].Addr.Port())
			if r.Trace != nil {
				traceDatagram(r.Trace, TraceIn, rd[i].Addr, rd[i].B)
			}
		}
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return ErrServerClosed
		}
		evs = evs[:0]
		for _, d := range rd[:n] {
			if wire.IsExtended(d.B) {
				send(r.xin.Handle(d.B, d.Addr, now), d.Addr)
			} else {
				send(r.in.Handle(d.B, d.Addr, now), d.Addr)
			}
		}
		switch {
		case err == nil:
			send(r.xin.Flush(now), netip.AddrPort{}) // the acks held back over the batch
		case errors.Is(err, os.ErrDeadlineExceeded):
			send(r.in.Tick(now), netip.AddrPort{})
			send(r.xin.Tick(now), netip.AddrPort{})
		case transient(err):
			r.mu.Unlock()
			continue
		default:
			r.mu.Unlock()
			return fmt.Errorf("rudp: read: %w", err)
		}
		r.checkDrained()
		d := earliest(r.in.Deadline(), r.xin.Deadline())
		r.mu.Unlock()
		if d != deadline {
			pc.SetReadDeadline(d)
			deadline = d
		}
		r.report(evs)
		clear(evs)
	}
}

// checkDrained wakes Shutdown once the last transfer has ended; r.mu is
// held.
func (r *Receiver) checkDrained() {
	if r.drained != nil && r.in.Active()+r.xin.Active() == 0 {
		close(r.drained)
		r.drained = nil
	}
}

// Shutdown stops taking new transfers and sessions at once (refused with
// FIN, or REJECT and ABORT "shutting down"), waits until those in
// progress have ended (complete, failed, or their sender gone), then
// closes the Receiver, telling every sender left as Close does. If ctx
// ends first, Shutdown closes at once and returns ctx's error: the
// transfers cut off are ended as by Close.
func (r *Receiver) Shutdown(ctx context.Context) error {
	r.init()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.shutting = true
	var wait chan struct{}
	if r.in != nil {
		r.in.Refuse(ErrShuttingDown)
		r.xin.Refuse(ErrShuttingDown)
		if r.in.Active()+r.xin.Active() > 0 {
			if r.drained == nil {
				r.drained = make(chan struct{})
			}
			wait = r.drained
		}
	}
	r.mu.Unlock()
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
			r.Close()
			return ctx.Err()
		}
	}
	return r.Close()
}

// Close stops at once: the unfinished transfers are ended, legacy ones
// discarded (their temporary files removed), extended ones kept as
// partial files for a resume; every sender known is told (legacy FIN,
// extended ABORT "shutting down" and CLOSE), so that it stops at once
// with a clear message; then the socket being served is closed.
func (r *Receiver) Close() error {
	r.init()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	var evs []Event
	if r.in != nil {
		// Every sender left is told, so that it stops at once with a
		// clear message rather than wait for its timeout.
		out := r.in.Close(ErrServerClosed)
		r.tell(out)
		evs = slices.Clone(out.Events)
		out = r.xin.Close(wire.CodeShutdown, ErrServerClosed)
		r.tell(out)
		evs = append(evs, out.Events...)
	}
	if r.pc != nil {
		r.pc.Close()
	}
	if r.drained != nil {
		close(r.drained)
		r.drained = nil
	}
	r.mu.Unlock()
	r.report(evs)
	if r.own != nil {
		r.own.Close()
	}
	return nil
}

// tell sends out's datagrams on the socket being served, if any; r.mu
// is held. The serving goroutine may be writing too: a PacketConn is safe
// for that.
func (r *Receiver) tell(out Output) {
	if r.pc == nil {
		return
	}
	for i, d := range out.Datagrams {
		if r.Trace != nil {
			traceDatagram(r.Trace, TraceOut, out.To[i], d)
		}
		r.pc.WriteTo(d, net.UDPAddrFromAddrPort(out.To[i]))
	}
}

// Stats returns the Inbox's counters so far.
func (r *Receiver) Stats() InboxStats {
	if r.init() != nil {
		return InboxStats{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.in.Stats().add(r.xin.Stats())
}

// logText bounds the text of a message in a log line.
const logText = 1024

// pathOf is where a file stored as name is: in the Store's folder when
// the Store says which (Store does).
func (r *Receiver) pathOf(name string) string {
	var store any = r.Store
	if r.own != nil {
		store = r.own
	}
	if d, ok := store.(interface{ Dir() string }); ok {
		return filepath.Join(d.Dir(), name)
	}
	return name
}

// report logs events and passes them to OnEvent, without r.mu held.
func (r *Receiver) report(evs []Event) {
	for _, ev := range evs {
		l := r.logger.With("peer", ev.Peer)
		switch ev.Kind {
		case EventText:
			text, cut := ev.Text, false
			if len(text) > logText {
				text, cut = strings.ToValidUTF8(text[:logText], ""), true
			}
			l.Info("text received", "bytes", ev.Size, "text", text, "truncated", cut)
		case EventFile:
			l.Info("file stored", "name", ev.Name, "path", r.pathOf(ev.Path), "bytes", ev.Size)
		case EventRefused:
			l.Warn("transfer refused", "name", ev.Name, "err", ev.Err)
		case EventFailed:
			l.Error("transfer failed", "name", ev.Name, "err", ev.Err)
		case EventAborted:
			l.Info("transfer aborted", "name", ev.Name, "bytes", ev.Size, "err", ev.Err)
		case EventGone:
			l.Info("peer gone", "name", ev.Name, "bytes", ev.Size, "err", ev.Err)
		case EventEnd:
			l.Debug("session ended")
		}
		if r.OnEvent != nil {
			r.OnEvent(ev)
		}
	}
}
