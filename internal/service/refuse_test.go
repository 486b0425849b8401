package service_test

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/service"
)

// countHandler counts the log records with a given message.
type countHandler struct {
	msg string
	n   *atomic.Int64
}

func (h countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h countHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.n.Add(1)
	}
	return nil
}
func (h countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countHandler) WithGroup(string) slog.Handler      { return h }

// TestRefusedClientsAllTold is defect 6 of issue 11 as written: of 2,000
// connections from one address to a limit of 256, every one refused gets
// its line, and the refusals make a line or two of log, not one each.
func TestRefusedClientsAllTold(t *testing.T) {
	const limit, total = 256, 2000
	var logged atomic.Int64
	srv := &service.Server{
		Handler: lineEcho,
		Limits:  service.Limits{MaxConnsPerIP: limit},
		Logger:  slog.New(countHandler{msg: "refused", n: &logged}),
	}
	addr := start(t, srv)
	for i := range limit {
		c := dial(t, addr)
		c.send("hi\n")
		if got := c.line(); got != "got: hi" {
			t.Fatalf("connection %d of %d: got %q", i+1, limit, got)
		}
	}
	var told, silent atomic.Int64
	var wg sync.WaitGroup
	next := make(chan struct{})
	go func() {
		for range total - limit {
			next <- struct{}{}
		}
		close(next)
	}()
	for range 64 {
		wg.Go(func() {
			for range next {
				conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					silent.Add(1)
					continue
				}
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				line, _ := bufio.NewReader(conn).ReadString('\n')
				conn.Close()
				if strings.HasPrefix(line, "error: too many connections from 127.0.0.1 (limit 256)") {
					told.Add(1)
				} else {
					silent.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if told.Load() != total-limit {
		t.Errorf("%d refused clients told why, %d not; want all %d told", told.Load(), silent.Load(), total-limit)
	}
	if n := logged.Load(); n > 2 {
		t.Errorf("%d log lines for %d refusals from one address, want 1 (and a summary later)", n, total-limit)
	}
}
