package chat

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/service"
)

// recordLog keeps the log records with a given message, for tests.
type recordLog struct {
	msg string
	mu  sync.Mutex
	got []slog.Record
}

func (h *recordLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.mu.Lock()
		h.got = append(h.got, r)
		h.mu.Unlock()
	}
	return nil
}
func (h *recordLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordLog) WithGroup(string) slog.Handler      { return h }

func (h *recordLog) records() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]slog.Record(nil), h.got...)
}

func attr(r slog.Record, key string) string {
	var v string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

// TestAuthGuessingBounded is defect 3 of issue 11 as written: 200
// connections from one address, each sending 8 wrong /auth lines and then
// the right one. Only the first few guesses are even checked, none of the
// 200 becomes admin, and every wrong token checked is logged at warn with
// the address.
func TestAuthGuessingBounded(t *testing.T) {
	const token = "right-token-123"
	log := &recordLog{msg: "wrong admin token"}
	// The guard's clock stands still: on a slow machine the first wait
	// (1 s) could otherwise end before a guesser's ninth line, the right
	// token, is read, and that try would rightly be let through.
	hub := NewHub(HubConfig{History: -1, Logger: slog.New(log), Clock: newFakeClock()})
	addr, _ := startChat(t, &Handler{Hub: hub, AdminToken: token}, service.Limits{})
	var admins, refusedLines atomic.Int64
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(20 * time.Second))
			var b strings.Builder
			fmt.Fprintf(&b, "guesser%d\n", i)
			for j := range 8 {
				fmt.Fprintf(&b, "/auth wrong-%d-%d\n", i, j)
			}
			b.WriteString("/auth " + token + "\n/quit\n")
			conn.Write([]byte(b.String()))
			r := bufio.NewReader(conn)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				switch {
				case strings.HasPrefix(line, "*** you are an admin now"):
					admins.Add(1)
				case strings.HasPrefix(line, "error: admin only: too many wrong admin tokens"):
					refusedLines.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := admins.Load(); n != 0 {
		t.Errorf("%d of 200 guessers became admin", n)
	}
	recs := log.records()
	if len(recs) == 0 || len(recs) > DefaultAuthBanAfter {
		t.Errorf("%d wrong tokens checked and logged, want 1 to %d", len(recs), DefaultAuthBanAfter)
	}
	for _, r := range recs {
		if r.Level != slog.LevelWarn || attr(r, "peer") != "127.0.0.1" {
			t.Errorf("log record %v %q peer=%q, want WARN with peer 127.0.0.1", r.Level, r.Message, attr(r, "peer"))
		}
	}
	if refusedLines.Load() < 200*9-int64(DefaultAuthBanAfter) {
		t.Errorf("only %d tries refused as too many", refusedLines.Load())
	}
}

// TestAuthGuardSchedule walks the guard through its waits and ban on a
// fake clock.
func TestAuthGuardSchedule(t *testing.T) {
	clock := newFakeClock()
	g := newAuthGuard("tok-12345678", clock, slog.New(slog.DiscardHandler))
	a := netip.MustParseAddr("192.0.2.7")
	other := netip.MustParseAddr("192.0.2.8")
	try := func(tok string) string {
		if err := g.check(a, "x", tok); err != nil {
			return err.Error()
		}
		return "ok"
	}
	for i := range DefaultAuthFree - 1 {
		if got := try("bad"); got != "chat: admin only: wrong admin token" {
			t.Fatalf("wrong try %d: %q", i+1, got)
		}
	}
	if got := try("bad"); !strings.Contains(got, "next try from 192.0.2.7 in 1s") {
		t.Fatalf("last free try: %q", got)
	}
	// During the wait even the right token is refused, unchecked.
	if got := try("tok-12345678"); !strings.Contains(got, "try again in 1s") {
		t.Fatalf("right token during the wait: %q", got)
	}
	// Another address is not held up.
	if err := g.check(other, "y", "tok-12345678"); err != nil {
		t.Fatalf("another address: %v", err)
	}
	wait := DefaultAuthWait
	fails := DefaultAuthFree
	for fails < DefaultAuthBanAfter-1 {
		clock.Advance(wait)
		fails++
		wait *= 2
		if got := try("bad"); !strings.Contains(got, fmt.Sprintf("in %v", wait)) {
			t.Fatalf("wrong try %d: %q, want a wait of %v", fails, got, wait)
		}
	}
	clock.Advance(wait)
	if got := try("bad"); !strings.Contains(got, "/auth is refused until") {
		t.Fatalf("try %d: %q, want the ban", DefaultAuthBanAfter, got)
	}
	clock.Advance(DefaultAuthBan - time.Second)
	if got := try("tok-12345678"); !strings.Contains(got, "refused until") {
		t.Fatalf("right token during the ban: %q", got)
	}
	clock.Advance(time.Second)
	if got := try("tok-12345678"); got != "ok" {
		t.Fatalf("right token after the ban: %q", got)
	}
	// A right token clears the count.
	if got := try("bad"); got != "chat: admin only: wrong admin token" {
		t.Fatalf("after success: %q", got)
	}
}

// TestAuthWithoutToken checks that /auth on a server without a token says
// that remote admin is off.
func TestAuthWithoutToken(t *testing.T) {
	hub := NewHub(HubConfig{})
	addr, _ := startChat(t, &Handler{Hub: hub}, service.Limits{})
	c := join(t, addr, "bob")
	c.send("/auth anything")
	c.expect("error: admin only: remote admin is off on this server (it was started without --admin-token)")
}
