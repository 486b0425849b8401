package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// The attacks and user cases of issue 11 (chat and web hardening), as
// written there, against a real netkit with real peers.

// TestChatReaderNotDroppedForSilence is defect 1: with --idle-timeout 3s,
// an nc client that joins and only reads, while another user writes a
// line a second, stays.
func TestChatReaderNotDroppedForSilence(t *testing.T) {
	t.Parallel()
	nc := netcat(t)
	srv := startServer(t, "", []string{"chat/tcp"}, "serve", "--random-ports", "--json", "--only", "chat", "--idle-timeout", "3s")
	host, port := srv.hostPort(t, "chat/tcp")
	reader := joinChat(t, nc, host, port, "reader", "(1): reader")
	writer := joinChat(t, nc, host, port, "writer", "(2): reader, writer")
	reader.expect(t, "the join", "*** writer joined")
	start := time.Now()
	for i := 1; time.Since(start) < 5*time.Second; i++ {
		line := fmt.Sprintf("line %d", i)
		writer.send(t, line)
		reader.expect(t, "the writer's line", "<writer> "+line)
		time.Sleep(time.Second)
	}
	if got := reader.heard("error:"); len(got) > 0 {
		t.Errorf("the reader was told %q", got)
	}
	writer.send(t, "/who")
	writer.expect(t, "both still here", "*** here (2): reader, writer")
}

// TestWebOneAddressCannotLockOthersOut is defect 2: 1,100 WebSocket
// upgrades to /chat/ws from 127.0.0.1 that never send a nickname, and
// curl --interface 127.0.0.2 /healthz answers at once; from 127.0.0.1,
// at its limit, curl is told why.
func TestWebOneAddressCannotLockOthersOut(t *testing.T) {
	t.Parallel()
	curl := peer(t, "curl")
	srv := startServer(t, "", []string{"web/http"}, "serve", "--random-ports", "--json", "--only", "web,chat")
	addr := srv.addr(t, "web/http")
	var wg sync.WaitGroup
	var mu sync.Mutex
	var held []*websocket.Conn
	defer func() {
		for _, c := range held {
			c.CloseNow()
		}
	}()
	next := make(chan struct{})
	go func() {
		for range 1100 {
			next <- struct{}{}
		}
		close(next)
	}()
	for range 32 {
		wg.Go(func() {
			for range next {
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				c, _, err := websocket.Dial(ctx, "ws://"+addr+"/chat/ws", nil)
				cancel()
				if err == nil {
					mu.Lock()
					held = append(held, c)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d upgrades held", len(held))
	start := time.Now()
	code, _, body := curlGet(t, curl, "http://"+addr+"/healthz", "--interface", "127.0.0.2", "--max-time", "5")
	if code != http.StatusOK || body != "ok\n" {
		t.Errorf("curl --interface 127.0.0.2 /healthz: %d %q", code, body)
	}
	t.Logf("/healthz from 127.0.0.2 in %v", time.Since(start).Round(time.Millisecond))
	code, _, body = curlGet(t, curl, "http://"+addr+"/healthz", "--interface", "127.0.0.1", "--max-time", "5")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "too many connections from 127.0.0.1 (limit 256)") {
		t.Errorf("curl from 127.0.0.1 at its limit: %d %q", code, body)
	}
}
