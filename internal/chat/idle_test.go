package chat

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/service"
	"github.com/netkit/netkit/internal/testwait"
)

// TestTCPReaderStays is defect 1 of issue 11 as a user met it: a member
// that only reads a lively room stays past the idle timeout.
func TestTCPReaderStays(t *testing.T) {
	hub := NewHub(HubConfig{History: -1})
	const idle = 300 * time.Millisecond
	addr, _ := startChat(t, &Handler{Hub: hub}, service.Limits{IdleTimeout: idle})
	reader := join(t, addr, "reader")
	writer := join(t, addr, "writer")
	reader.expect("*** writer joined")
	// The writer keeps its own connection alive by writing; the reader
	// never sends a byte, for four idle timeouts.
	deadline := time.Now().Add(4 * idle)
	for i := 0; time.Now().Before(deadline); i++ {
		writer.send("line " + string(rune('a'+i%26)))
		got := reader.line()
		if strings.HasPrefix(got, "error:") || strings.Contains(got, "left") {
			t.Fatalf("the reader was told %q after %v of silence", got, time.Since(deadline.Add(-4*idle)).Round(time.Millisecond))
		}
		time.Sleep(idle / 3)
	}
	if n := hub.Len(); n != 2 {
		t.Errorf("%d members after the reader's long silence, want 2", n)
	}
}

// TestTCPJoinDeadline checks that a connection that never chooses a
// nickname is told and closed after JoinTimeout: silence is allowed only
// to members.
func TestTCPJoinDeadline(t *testing.T) {
	hub := NewHub(HubConfig{})
	addr, srv := startChat(t, &Handler{Hub: hub, JoinTimeout: 200 * time.Millisecond}, service.Limits{IdleTimeout: -1})
	c := connect(t, addr)
	c.expect("error: no nickname chosen within 200ms; goodbye")
	c.closed()
	testwait.For(t, `srv.OpenConns() == 0`, func() bool { return srv.OpenConns() == 0 })
}

// TestWebSocketReaderStays is defect 1 over WebSocket, behind an HTTP
// server whose request timeouts are much shorter than the silence.
func TestWebSocketReaderStays(t *testing.T) {
	hub := NewHub(HubConfig{History: -1})
	ts := httptest.NewUnstartedServer(&Handler{Hub: hub})
	const idle = 300 * time.Millisecond
	ts.Config.ReadTimeout = idle
	ts.Config.WriteTimeout = idle
	ts.Start()
	defer ts.Close()
	url := "ws" + strings.TrimPrefix(ts.URL, "http")
	reader := wsJoin(t, url, "reader")
	reader.expect(TypeWelcome, nil)
	writer := wsJoin(t, url, "writer")
	writer.expect(TypeWelcome, nil)
	deadline := time.Now().Add(4 * idle)
	for time.Now().Before(deadline) {
		writer.send(WSMessage{Text: "tick"})
		reader.expect(TypeMsg, func(e *Event) bool { return e.Text == "tick" })
		time.Sleep(idle / 3)
	}
	if n := hub.Len(); n != 2 {
		t.Errorf("%d members after the reader's long silence, want 2", n)
	}
}
