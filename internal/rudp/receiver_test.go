package rudp

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/rudp/wire"
)

// roundTrip writes b on c and returns the answer, failing after limit.
func roundTrip(t *testing.T, c *net.UDPConn, b []byte, limit time.Duration) []byte {
	t.Helper()
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(limit))
	buf := make([]byte, wire.MaxExtFrame)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no answer to %s: %v", describe(b), err)
	}
	return buf[:n]
}

// TestReceiverOneSocket checks that a Receiver refuses a second socket
// (its sessions' replies and its read deadline belong to the first) and
// that the first goes on answering out of itself.
func TestReceiverOneSocket(t *testing.T) {
	ev := newEvents()
	r := &Receiver{Dir: t.TempDir(), OnEvent: ev.add}
	first := startReceiver(t, r)
	c := dialUDP(t, first)
	if got := roundTrip(t, c, kpa, 5*time.Second); !bytes.Equal(got, zeroAck) {
		t.Fatalf("answer %s to a KPA", describe(got))
	}
	second := listenUDP(t)
	secondAddr := second.LocalAddr().(*net.UDPAddr)
	done := make(chan error, 1)
	go func() { done <- r.Serve(second) }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrServing) {
			t.Fatalf("second Serve = %v, want ErrServing", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a second Serve serves too")
	}
	// The second socket was closed: nothing listens there any more.
	if c, err := net.ListenUDP("udp", secondAddr); err == nil {
		c.Close()
	} else {
		t.Errorf("the refused socket is still open: %v", err)
	}
	inf, dats := text("one socket", 4)
	if got := roundTrip(t, c, inf, 5*time.Second); !bytes.Equal(got, ack(inf)) {
		t.Fatalf("answer %s to the INF", describe(got))
	}
	for _, d := range dats {
		if got := roundTrip(t, c, d, 5*time.Second); !bytes.Equal(got, ack(d)) {
			t.Fatalf("answer %s to %s", describe(got), describe(d))
		}
	}
	ev.wait(t, 5*time.Second, "text", count(EventText, 1))
}

// syncBuffer is a bytes.Buffer safe for a logger's goroutine and the
// test's.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestReceiverLogsWhatArrived checks issue 13's item 11 for the
// Receiver's log, which is what netkit serve shows: the text received,
// and the path a file was stored under, in full.
func TestReceiverLogsWhatArrived(t *testing.T) {
	dir := t.TempDir()
	var log syncBuffer
	evs := newEvents()
	addr := startReceiver(t, &Receiver{Dir: dir, Logger: slog.New(slog.NewTextHandler(&log, nil)), OnEvent: evs.add})
	items := []Item{Text("to the log"), File("logged.txt", strings.NewReader("x"), 1)}
	if _, err := Send(t.Context(), dialUDP(t, addr), items, fast); err != nil {
		t.Fatal(err)
	}
	evs.wait(t, 5*time.Second, "the file", count(EventFile, 1))
	for _, want := range []string{`text="to the log"`, "path=" + filepath.Join(dir, "logged.txt")} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log %q, want %s", log.String(), want)
		}
	}
}
