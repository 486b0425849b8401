package rudp

import (
	"bytes"
	"errors"
	"net"
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
