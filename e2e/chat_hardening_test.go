package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/nats-io/nats.go"
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

// TestChatBadWebSocketMessage is defect 7: a WebSocket text frame that is
// not JSON gets an error to its sender alone, who stays; the room, here
// an nc user, hears nothing of it.
func TestChatBadWebSocketMessage(t *testing.T) {
	t.Parallel()
	nc := netcat(t)
	srv := startServer(t, "", []string{"web/http", "chat/tcp"}, "serve", "--random-ports", "--json", "--only", "web,chat")
	host, port := srv.hostPort(t, "chat/tcp")
	watcher := joinChat(t, nc, host, port, "watcher", "(1): watcher")

	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+srv.addr(t, "web/http")+"/chat/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	write := func(s string) {
		t.Helper()
		if err := ws.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
			t.Fatalf("websocket write %q: %v", s, err)
		}
	}
	read := func(typ string) map[string]any {
		t.Helper()
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				t.Fatalf("websocket: waiting for a %s event: %v", typ, err)
			}
			var e map[string]any
			if err := json.Unmarshal(data, &e); err != nil {
				t.Fatalf("websocket event %q: %v", data, err)
			}
			if e["type"] == typ {
				return e
			}
		}
	}
	write(`{"nick":"webuser"}`)
	read("welcome")
	watcher.expect(t, "the join", "*** webuser joined")

	write("not json")
	if e := read("error"); !strings.Contains(e["text"].(string), "JSON") {
		t.Errorf("error event %v, want it to say JSON is expected", e)
	}
	write(`{"text":"still here"}`)
	// The next line the room hears is the sender's next message.
	watcher.expectFunc(t, "the sender's next line", func(line string) bool { return true })
	if got := watcher.heard("webuser"); len(got) != 2 || got[1] != "<webuser> still here" {
		t.Errorf("the room heard %q, want the join and the next line only", got)
	}
}

// TestChatBanNickSharedAddress is defect 9: everyone on 127.0.0.1, a
// remote admin bans trent by nickname; the admin is not kicked, the
// address is not banned, trent's nickname is; /who and /bans show the
// admin what is in force.
func TestChatBanNickSharedAddress(t *testing.T) {
	t.Parallel()
	nc := netcat(t)
	const token = "e2e-admin-token"
	srv := startServer(t, "", []string{"chat/tcp"}, "chat", "serve", "--listen", "127.0.0.1:0", "--json", "--console=false", "--admin-token", token)
	host, port := srv.hostPort(t, "chat/tcp")
	ops := joinChat(t, nc, host, port, "ops", "(1): ops")
	ops.send(t, "/auth "+token)
	ops.expectFunc(t, "admin rights", func(l string) bool { return strings.HasPrefix(l, "*** you are an admin now") })
	trent := joinChat(t, nc, host, port, "trent", "(2): ops, trent")

	ops.send(t, "/ban trent 1m")
	trent.expect(t, "the kick", "*** trent was kicked by ops (banned for 1m0s)")
	ops.expect(t, "the kick", "*** trent was kicked by ops (banned for 1m0s)")
	ops.expect(t, "the answer", "*** banned the nickname trent for 1m0s")
	if got := ops.heard("ops was kicked"); len(got) > 0 {
		t.Errorf("the admin was told %q", got)
	}
	joinChat(t, nc, host, port, "carol", "(2): carol, ops")
	again := dialChat(t, nc, host, port, "trent again")
	again.send(t, "trent")
	again.expectFunc(t, "the refusal", func(l string) bool {
		return strings.HasPrefix(l, "error: banned: the nickname trent until ")
	})
	ops.send(t, "/who")
	ops.expect(t, "who is here", "*** here (2): carol, ops")
	ops.expect(t, "from where", "*** from: carol 127.0.0.1, ops 127.0.0.1")
	ops.send(t, "/bans")
	ops.expect(t, "the bans", "*** bans in force (1):")
	ops.expectFunc(t, "trent's ban", func(l string) bool {
		return strings.HasPrefix(l, "***   the nickname trent, by ops, ") && strings.HasSuffix(l, " left")
	})
}

// TestChatNATSEventsChecked is defect 8: events published on the room's
// NATS subject by anyone are checked as local input is, and a ban made on
// one instance keeps the nickname out of another.
func TestChatNATSEventsChecked(t *testing.T) {
	t.Parallel()
	_, natsURL := startNATS(t)
	const token = "e2e-admin-token"
	var addrs []string
	for range 2 {
		srv := startServer(t, "", []string{"chat/tcp"}, "chat", "serve", "--listen", "127.0.0.1:0", "--json",
			"--console=false", "--chat-rate", "100", "--chat-burst", "100", "--nats", natsURL, "--admin-token", token)
		addrs = append(addrs, srv.addr(t, "chat/tcp"))
	}
	alice := joinRoom(t, "instance 0", addrs[0], "alice")

	// An attacker with the NATS URL publishes what no instance would.
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	const subject = "netkit.chat.events" // as internal/chat names it
	for _, bad := range []string{
		`{"type":"msg","from":"mallory","text":"\u001b[2Jwiped","origin":"evil","seq":1}`,
		`{"type":"msg","from":"mallory","text":"hi\n<alice> forged","origin":"evil","seq":2}`,
		`{"type":"msg","from":"mallory","text":"abc\u202edcba","origin":"evil","seq":3}`,
		`{"type":"msg","from":"not a nick","text":"hi","origin":"evil","seq":4}`,
		`{"type":"msg","from":"mallory","text":"` + strings.Repeat("a", 2000) + `","origin":"evil","seq":5}`,
		`{"type":"system","text":"ding\u0007","origin":"evil","seq":6}`,
		`not json`,
	} {
		if err := nc.Publish(subject, []byte(bad)); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Publish(subject, []byte(`{"type":"msg","from":"bob","text":"a fine line","origin":"evil","seq":7}`)); err != nil {
		t.Fatal(err)
	}
	alice.expect(t, "the fine line", "<bob> a fine line")
	for _, l := range alice.log.linesFrom(0) {
		if strings.Contains(l, "mallory") || strings.Contains(l, "ding") || strings.Contains(l, "forged") {
			t.Errorf("alice heard %q, from a bad event", l)
		}
	}

	// A ban on one instance holds on the other.
	ops := joinRoom(t, "instance 0", addrs[0], "ops")
	ops.send(t, "/auth "+token)
	ops.expectFunc(t, "admin rights", func(l string) bool { return strings.HasPrefix(l, "*** you are an admin now") })
	trent := joinRoom(t, "instance 1", addrs[1], "trent")
	ops.expect(t, "trent's join", "*** trent joined")
	ops.expectWho(t, "*** here (3): alice, ops, trent")
	ops.send(t, "/ban trent 1h")
	trent.expectFunc(t, "the kick", func(l string) bool { return strings.HasPrefix(l, "*** trent was kicked by ops (banned for ") })
	again := dialRoom(t, "instance 1", addrs[1], "trent again")
	again.send(t, "trent")
	again.expectFunc(t, "the refusal", func(l string) bool {
		return strings.HasPrefix(l, "error: banned: the nickname trent until ")
	})
}
