package rudp

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/impair"
)

// shutdownPeer is a sender in a shutdown test: a Session run in the
// background, whose result arrives on done.
type shutdownPeer struct {
	s    *Session
	done chan error
	evs  *events
}

// startPeer starts a Session to addr with items, left open for more
// (idle between items, with keep-alives) unless closing.
func startPeer(t *testing.T, addr *net.UDPAddr, opt SendOptions, closing bool, items ...Item) *shutdownPeer {
	t.Helper()
	p := &shutdownPeer{done: make(chan error, 1), evs: newEvents()}
	opt.OnEvent = p.evs.add
	s, err := NewSession(dialUDP(t, addr), opt)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if err := s.Enqueue(it); err != nil {
			t.Fatal(err)
		}
	}
	if closing {
		s.CloseSend()
	}
	p.s = s
	go func() {
		_, err := s.Run(t.Context())
		p.done <- err
	}()
	return p
}

// result waits for the peer's Session to end, at most limit.
func (p *shutdownPeer) result(t *testing.T, what string, limit time.Duration) error {
	t.Helper()
	select {
	case err := <-p.done:
		return err
	case <-time.After(limit):
		t.Fatalf("%s: still running %v later", what, limit)
		return nil
	}
}

// TestReceiverShutdownTellsSenders checks issue 12's defect 2, in every
// mode: once Shutdown has begun, a new transfer is refused at once; a
// transfer in flight finishes within the grace; when the grace is over,
// every sender left, busy or idle, is told and stops at once (long before
// its own timeout) with an error that says so, and an extended transfer
// cut off is kept as a partial file for a resume.
func TestReceiverShutdownTellsSenders(t *testing.T) {
	const senderTimeout = 30 * time.Second // what the senders would wait untold
	const told = 5 * time.Second           // far less: they were told
	for _, m := range modes {
		for _, grace := range []time.Duration{time.Minute, 300 * time.Millisecond} {
			name := m.name + "/finishes within the grace"
			if grace < time.Second {
				name = m.name + "/grace over"
			}
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				r := m.recv(&Receiver{Dir: dir, Timeout: senderTimeout})
				pc := listenUDP(t)
				serveErr := make(chan error, 1)
				go func() { serveErr <- r.Serve(pc) }()
				addr := pc.LocalAddr().(*net.UDPAddr)
				opt := m.send(fast)
				opt.Timeout = senderTimeout

				// An idle sender: one text delivered, then keep-alives.
				idle := startPeer(t, addr, opt, false, Text("first"))
				idle.evs.wait(t, 10*time.Second, "the idle sender's text", count(EventText, 1))

				// A busy one, through a slow link: 400 KB at 200 KB/s.
				data := randomBytes(400<<10, 7)
				if grace < time.Second {
					data = randomBytes(4<<20, 7) // 20 s: cut off by the grace
				}
				slow := startRelay(t, addr, impair.Impairment{Rate: 200 << 10}, impair.Impairment{}, 1)
				busy := startPeer(t, slow, opt, true, File("busy.bin", bytes.NewReader(data), int64(len(data))))
				deadline := time.Now().Add(10 * time.Second)
				for busy.s.Progress().Done == 0 {
					if time.Now().After(deadline) {
						t.Fatal("the busy transfer did not start")
					}
					time.Sleep(10 * time.Millisecond)
				}

				ctx, cancel := context.WithTimeout(t.Context(), grace)
				defer cancel()
				shut := make(chan error, 1)
				go func() { shut <- r.Shutdown(ctx) }()
				// Shutdown takes the lock at once; give it the chance.
				for !shuttingDown(r) {
					time.Sleep(time.Millisecond)
				}

				// A newcomer is refused at once.
				late := startPeer(t, addr, opt, true, Text("too late"))
				err := late.result(t, "a sender after Shutdown", told)
				if !errors.Is(err, ErrRefused) && !errors.Is(err, ErrPeerClosed) {
					t.Errorf("a sender after Shutdown: %v, want it refused", err)
				}
				if !m.legacy && !errors.Is(err, ErrShuttingDown) {
					t.Errorf("a sender after Shutdown: %v, want it to say the receiver is shutting down", err)
				}

				var shutErr error
				select {
				case shutErr = <-shut:
				case <-time.After(grace + 30*time.Second):
					t.Fatal("Shutdown did not return")
				}
				if grace > time.Second {
					if shutErr != nil {
						t.Errorf("Shutdown = %v, want the transfer in flight finished", shutErr)
					}
					if err := busy.result(t, "the busy sender", told); err != nil {
						t.Errorf("the busy sender: %v, want its file delivered", err)
					}
					if got, _ := os.ReadFile(filepath.Join(dir, "busy.bin")); !bytes.Equal(got, data) {
						t.Errorf("busy.bin: %d bytes, want %d", len(got), len(data))
					}
				} else {
					if !errors.Is(shutErr, context.DeadlineExceeded) {
						t.Errorf("Shutdown = %v, want DeadlineExceeded", shutErr)
					}
					err := busy.result(t, "the busy sender, cut off", told)
					if !errors.Is(err, ErrRefused) {
						t.Errorf("the busy sender: %v, want ErrRefused", err)
					}
					if !m.legacy && !errors.Is(err, ErrShuttingDown) {
						t.Errorf("the busy sender: %v, want it to say the receiver is shutting down", err)
					}
					p := partials(t, dir)
					if m.legacy && len(p) != 0 || !m.legacy && len(p) != 1 {
						t.Errorf("partial files %q; want one for an extended transfer (a resume), none for legacy", p)
					}
				}
				err = idle.result(t, "the idle sender", told)
				if !errors.Is(err, ErrPeerClosed) {
					t.Errorf("the idle sender: %v, want ErrPeerClosed", err)
				}
				if !m.legacy && !errors.Is(err, ErrShuttingDown) {
					t.Errorf("the idle sender: %v, want it to say the receiver is shutting down", err)
				}
				if err := <-serveErr; !errors.Is(err, ErrServerClosed) {
					t.Errorf("Serve = %v", err)
				}
				if names := listDir(t, dir); slices.Contains(names, "too late") {
					t.Errorf("folder holds %q", names)
				}
			})
		}
	}
}

// shuttingDown reports whether r's Shutdown has begun.
func shuttingDown(r *Receiver) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.shutting
}
