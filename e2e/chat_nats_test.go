package e2e

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

// natsListening starts the line in which nats-server (v2.9, Debian's)
// logs its client address; with -p -1 it picks a free port itself.
const natsListening = "Listening for client connections on "

// natsReady is the line nats-server logs once it serves clients.
const natsReady = "Server is ready"

// natsLost is how an instance tells its users that NATS is gone.
const natsLost = "*** lost contact with the other chat servers: messages reach this server's users only"

// roomPoll is how often a test asks /who again while the instances'
// views of the room converge. The servers run with a rate limit far above
// it (see startRoom), so the polling is never throttled.
const roomPoll = 100 * time.Millisecond

// startNATS starts Debian's nats-server with JetStream on a port it picks,
// and returns the process and its client URL.
func startNATS(t *testing.T) (*proc, string) {
	t.Helper()
	path := peer(t, "nats-server")
	p := start(t, command{path: path, args: []string{"-js", "-a", "127.0.0.1", "-p", "-1", "-sd", t.TempDir()}})
	var addr string
	// It logs to standard error.
	_, err := p.stderr.wait(p.exited, startTimeout, func(line string) bool {
		if _, a, ok := strings.Cut(line, natsListening); ok {
			addr = strings.TrimSpace(a)
		}
		return addr != "" && strings.Contains(line, natsReady)
	})
	if err != nil {
		t.Fatalf("%s: waiting for %q and %q: %v\nstderr: %q", p.c, natsListening, natsReady, err, p.stderr)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		t.Fatalf("%s: client address %q: %v", p.c, addr, err)
	}
	return p, (&url.URL{Scheme: "nats", Host: addr}).String()
}

// startRoom starts nats-server and n chat instances linked through it, and
// returns nats-server's process and the instances.
func startRoom(t *testing.T, n int) (*proc, []*server) {
	t.Helper()
	nats, natsURL := startNATS(t)
	var srvs []*server
	for range n {
		// A rate far above what the tests send, so that polling /who is
		// never throttled; flood control has its own tests.
		srvs = append(srvs, startServer(t, "", []string{"chat/tcp"}, "chat", "serve", "--listen", "127.0.0.1:0", "--json",
			"--console=false", "--chat-rate", "100", "--chat-burst", "100", "--nats", natsURL))
	}
	return nats, srvs
}

// roomUser is someone in the chat over a plain TCP connection: what the
// server sends is kept by lines, for the test to wait on.
type roomUser struct {
	name   string // the nickname the test means to use, for messages
	where  string // which instance, for messages
	conn   net.Conn
	log    *lineLog
	closed chan struct{} // closed when the server's side has ended
	next   int           // how many lines earlier expectations used up
}

// dialRoom connects to the chat at addr and waits for the greeting.
func dialRoom(t *testing.T, where, addr, name string) *roomUser {
	t.Helper()
	conn, err := (&net.Dialer{Timeout: runTimeout}).DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatalf("%s: dial %s (%s): %v", name, addr, where, err)
	}
	u := &roomUser{name: name, where: where, conn: conn, log: newLineLog(), closed: make(chan struct{})}
	go func() {
		defer close(u.closed)
		io.Copy(u.log, conn)
	}()
	t.Cleanup(func() {
		conn.Close()
		<-u.closed
	})
	u.expect(t, "the greeting", strings.TrimSuffix(chatGreetingLine, "\n"))
	return u
}

// chatGreetingLine is chat.Greeting, spelled out so that a change to it
// is a change the test sees.
const chatGreetingLine = "Welcome to netkit chat. Choose a nickname:\n"

// joinRoom connects as nick and waits for the welcome.
func joinRoom(t *testing.T, where, addr, nick string) *roomUser {
	t.Helper()
	u := dialRoom(t, where, addr, nick)
	u.send(t, nick)
	u.expectFunc(t, "the welcome", func(line string) bool {
		return strings.HasPrefix(line, "*** welcome, "+nick+"; here (")
	})
	return u
}

func (u *roomUser) String() string { return u.name + " on " + u.where }

// send writes line and its newline.
func (u *roomUser) send(t *testing.T, line string) {
	t.Helper()
	u.conn.SetWriteDeadline(time.Now().Add(lineTimeout))
	if _, err := io.WriteString(u.conn, line+"\n"); err != nil {
		t.Fatalf("%s: sending %q: %v", u, line, err)
	}
}

// expect waits for the line want, exactly, past the lines earlier
// expectations used up, and uses it up.
func (u *roomUser) expect(t *testing.T, what, want string) {
	t.Helper()
	u.expectFunc(t, fmt.Sprintf("%s %q", what, want), func(line string) bool { return line == want })
}

// expectFunc waits for a line for which match is true, past the lines
// earlier expectations used up, and uses it up.
func (u *roomUser) expectFunc(t *testing.T, what string, match func(string) bool) string {
	t.Helper()
	i := -1
	line, err := u.log.wait(u.closed, lineTimeout, func(line string) bool {
		i++
		return i >= u.next && match(line)
	})
	if err != nil {
		t.Fatalf("%s: waiting for %s: %v\nwhat it got after the lines already matched: %q", u, what, err, u.log.linesFrom(u.next))
	}
	u.next = i + 1
	return line
}

// expectAll waits for every line in want, in any order, past the lines
// earlier expectations used up, and uses up everything to the last of them.
func (u *roomUser) expectAll(t *testing.T, what string, want ...string) {
	t.Helper()
	missing := make(map[string]bool)
	for _, w := range want {
		missing[w] = true
	}
	i := -1
	_, err := u.log.wait(u.closed, lineTimeout, func(line string) bool {
		i++
		if i >= u.next {
			delete(missing, line)
		}
		return len(missing) == 0
	})
	if err != nil {
		var left []string
		for w := range missing {
			left = append(left, w)
		}
		t.Fatalf("%s: waiting for %s: %v; still missing %q\nwhat it got after the lines already matched: %q", u, what, err, left, u.log.linesFrom(u.next))
	}
	u.next = i + 1
}

// count reports how many times the user was sent line.
func (u *roomUser) count(line string) int {
	n := 0
	for _, l := range u.log.linesFrom(0) {
		if l == line {
			n++
		}
	}
	return n
}

// expectWho asks /who until the answer is want. The instances learn of
// each other's nicknames asynchronously (a JetStream key-value watch), so
// the first answer may lag a join by a moment.
func (u *roomUser) expectWho(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(lineTimeout)
	for {
		u.send(t, "/who")
		got := u.expectFunc(t, "the answer to /who", func(line string) bool { return strings.HasPrefix(line, "*** here (") })
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: /who = %q, want %q (still, after %v)", u, got, want, lineTimeout)
		}
		time.Sleep(roomPoll)
	}
}

// msgLine is the line everyone is sent when u says text.
func msgLine(u *roomUser, text string) string { return "<" + u.name + "> " + text }

// TestChatNATS runs one room on two netkit instances linked by a real
// nats-server: joins and messages cross between them, each message reaches
// each user exactly once, a nickname held on one instance is refused on the
// other, /who lists everyone; and when nats-server dies each instance tells
// its users and goes on serving them alone.
func TestChatNATS(t *testing.T) {
	t.Parallel()
	nats, srvs := startRoom(t, 2)
	addrA, addrB := srvs[0].addr(t, "chat/tcp"), srvs[1].addr(t, "chat/tcp")

	// Joins reach the other instance.
	alice := joinRoom(t, "A", addrA, "alice")
	bob := joinRoom(t, "B", addrB, "bob")
	alice.expect(t, "bob's join from B", "*** bob joined")
	carol := joinRoom(t, "A", addrA, "carol")
	alice.expect(t, "carol's join", "*** carol joined")
	bob.expect(t, "carol's join from A", "*** carol joined")
	dave := joinRoom(t, "B", addrB, "dave")
	for _, u := range []*roomUser{alice, bob, carol} {
		u.expect(t, "dave's join", "*** dave joined")
	}
	everyone := []*roomUser{alice, bob, carol, dave}

	// A nickname held on one instance is refused on the other, whatever
	// its case, on the same connection, which may then pick another.
	refused := []struct {
		name, where, addr, nick, want string
	}{
		{"held on A, asked on B", "B", addrB, "alice", `error: nickname is taken: "alice" (on another server)`},
		{"held on A, asked on B, other case", "B", addrB, "CAROL", `error: nickname is taken: "CAROL" (on another server)`},
		{"held on B, asked on A", "A", addrA, "dave", `error: nickname is taken: "dave" (on another server)`},
	}
	for _, tt := range refused {
		t.Run("refused "+tt.name, func(t *testing.T) {
			u := dialRoom(t, tt.where, tt.addr, "erin")
			u.send(t, tt.nick)
			u.expect(t, "the refusal", tt.want)
			u.expect(t, "a new prompt", "Choose a nickname:")
			u.send(t, "/quit")
		})
	}
	erin := dialRoom(t, "B", addrB, "erin")
	erin.send(t, "alice")
	erin.expect(t, "the refusal", `error: nickname is taken: "alice" (on another server)`)
	erin.expect(t, "a new prompt", "Choose a nickname:")
	erin.send(t, "erin")
	erin.expectFunc(t, "the welcome", func(line string) bool { return strings.HasPrefix(line, "*** welcome, erin; here (") })
	for _, u := range everyone {
		u.expect(t, "erin's join", "*** erin joined")
	}
	everyone = append(everyone, erin)

	// /who on either instance lists both instances' users.
	const all = "*** here (5): alice, bob, carol, dave, erin"
	alice.expectWho(t, all)
	erin.expectWho(t, all)

	// Every message reaches every user, whichever instance either is on.
	said := map[*roomUser]string{}
	for _, u := range everyone {
		said[u] = "hello from " + u.name + " on " + u.where
		u.send(t, said[u])
	}
	var lines []string
	for _, u := range everyone {
		lines = append(lines, msgLine(u, said[u]))
	}
	for _, u := range everyone {
		u.expectAll(t, "everyone's message", lines...)
	}
	// Exactly once: a copy coming back through NATS would reach a user
	// after the original. Each sync message is sent once its sender has
	// every message, so NATS carries it after them; a user who has the
	// other instance's sync has whatever NATS delivered before it.
	syncA, syncB := msgLine(alice, "sync A"), msgLine(bob, "sync B")
	alice.send(t, "sync A")
	bob.send(t, "sync B")
	for _, u := range everyone {
		u.expectAll(t, "the sync messages", syncA, syncB)
	}
	for _, u := range everyone {
		for _, line := range append(lines, syncA, syncB) {
			if n := u.count(line); n != 1 {
				t.Errorf("%s got %q %d times, want once", u, line, n)
			}
		}
	}

	// NATS dies: each instance tells its users and serves them alone.
	nats.signal(t, syscall.SIGKILL)
	if _, ok := nats.wait(stopTimeout); !ok {
		t.Fatalf("nats-server still runs %v after SIGKILL", stopTimeout)
	}
	for _, u := range everyone {
		u.expect(t, "the notice that NATS is lost", natsLost)
	}
	onA, onB := []*roomUser{alice, carol}, []*roomUser{bob, dave, erin}
	alice.send(t, "alone on A")
	bob.send(t, "alone on B")
	for _, u := range onA {
		u.expect(t, "alice's message on A alone", msgLine(alice, "alone on A"))
	}
	for _, u := range onB {
		u.expect(t, "bob's message on B alone", msgLine(bob, "alone on B"))
	}
	// Newcomers still get in, and nicknames stay unique on each instance.
	frank := dialRoom(t, "A", addrA, "frank")
	frank.send(t, "carol")
	frank.expect(t, "the refusal of a local nickname", `error: nickname is taken: "carol"`)
	frank.expect(t, "a new prompt", "Choose a nickname:")
	frank.send(t, "frank")
	frank.expectFunc(t, "the welcome while cut off", func(line string) bool { return strings.HasPrefix(line, "*** welcome, frank; here (") })
	for _, u := range onA {
		u.expect(t, "frank's join while cut off", "*** frank joined")
	}
	frank.send(t, "new on A")
	for _, u := range append(onA, frank) {
		u.expect(t, "frank's message", msgLine(frank, "new on A"))
	}
	dave.send(t, "still on B")
	for _, u := range onB {
		u.expect(t, "dave's message on B alone", msgLine(dave, "still on B"))
	}
	// Nothing crossed: there is nothing to carry it.
	for _, u := range onB {
		for _, line := range []string{msgLine(alice, "alone on A"), msgLine(frank, "new on A"), "*** frank joined"} {
			if n := u.count(line); n != 0 {
				t.Errorf("%s got %q with NATS dead", u, line)
			}
		}
	}
}

// TestChatNATSShutdown stops one instance cleanly: the other instance's
// users should be told that its users left, stop seeing them in /who, and
// those users should be able to come back under their nicknames on the
// instance still running, which is what they do when their server goes
// away.
func TestChatNATSShutdown(t *testing.T) {
	t.Parallel()
	_, srvs := startRoom(t, 2)
	a, b := srvs[0], srvs[1]
	alice := joinRoom(t, "A", a.addr(t, "chat/tcp"), "alice")
	bob := joinRoom(t, "B", b.addr(t, "chat/tcp"), "bob")
	alice.expect(t, "bob's join from B", "*** bob joined")
	bob.expectWho(t, "*** here (2): alice, bob")

	a.signal(t, syscall.SIGTERM)
	if code, ok := a.wait(stopTimeout); !ok || code != 0 {
		t.Fatalf("instance A: exited %v, status %d after SIGTERM; want exit status 0 within %v", ok, code, stopTimeout)
	}
	alice.expect(t, "the goodbye", "*** server shutting down; goodbye")

	// Alice comes back on B under her own name.
	deadline := time.Now().Add(lineTimeout)
	for {
		again := dialRoom(t, "B", b.addr(t, "chat/tcp"), "alice")
		again.send(t, "alice")
		got := again.expectFunc(t, "the answer to the nickname", func(line string) bool {
			return strings.HasPrefix(line, "*** welcome, ") || strings.HasPrefix(line, "error: ")
		})
		again.conn.Close()
		if strings.HasPrefix(got, "*** welcome, alice; ") {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("alice, back on B %v after instance A stopped: got %q, want the welcome: A did not give back its users' nicknames", lineTimeout, got)
			break
		}
		time.Sleep(5 * roomPoll)
	}
	// Bob was told alice left, however the server puts it.
	i := -1
	if _, err := bob.log.wait(bob.closed, lineTimeout, func(line string) bool {
		i++
		return i >= bob.next && strings.HasPrefix(line, "*** alice left")
	}); err != nil {
		t.Errorf("bob on B, after instance A stopped: no line \"*** alice left (...)\": %v; got %q", err, bob.log.linesFrom(bob.next))
	}
}

// TestChatNATSCutOff kills nats-server under two instances: each tells its
// users that messages reach only this server's users, so /who should list
// only those, and a private message to a user on the other instance, which
// cannot be delivered, should be refused rather than shown as sent.
func TestChatNATSCutOff(t *testing.T) {
	t.Parallel()
	nats, srvs := startRoom(t, 2)
	alice := joinRoom(t, "A", srvs[0].addr(t, "chat/tcp"), "alice")
	bob := joinRoom(t, "B", srvs[1].addr(t, "chat/tcp"), "bob")
	alice.expect(t, "bob's join from B", "*** bob joined")
	alice.expectWho(t, "*** here (2): alice, bob")

	nats.signal(t, syscall.SIGKILL)
	if _, ok := nats.wait(stopTimeout); !ok {
		t.Fatalf("nats-server still runs %v after SIGKILL", stopTimeout)
	}
	alice.expect(t, "the notice that NATS is lost", natsLost)
	bob.expect(t, "the notice that NATS is lost", natsLost)

	alice.send(t, "/who")
	if got := alice.expectFunc(t, "the answer to /who", func(line string) bool { return strings.HasPrefix(line, "*** here (") }); got != "*** here (1): alice" {
		t.Errorf("alice on A, cut off from B: /who = %q, want %q: bob cannot be reached", got, "*** here (1): alice")
	}
	alice.send(t, "/msg bob are you there?")
	if got := alice.expectFunc(t, "the answer to /msg", func(line string) bool {
		return strings.HasPrefix(line, "[private] ") || strings.HasPrefix(line, "error: ")
	}); !strings.HasPrefix(got, "error: ") {
		t.Errorf("alice on A, cut off from B: /msg bob ... answered %q, want an \"error: ...\" line: the message cannot reach bob, and he never gets it", got)
	}
}

// TestChatBurstKeepsReaders has everyone in a room of 150 send one burst
// of 8 lines at once, which the default flood control lets through (a
// burst of 8), while every client reads all it is sent as fast as it can.
// Nobody should be dropped: the chat drops members that do not read, and
// these all do. The test sits in this file for its helpers; it needs no
// NATS.
func TestChatBurstKeepsReaders(t *testing.T) {
	t.Parallel()
	const users, burst = 150, 8
	srv := startServer(t, "", []string{"chat/tcp"}, "chat", "serve", "--listen", "127.0.0.1:0", "--json", "--console=false")
	addr := srv.addr(t, "chat/tcp")
	var room []*roomUser
	for i := range users {
		room = append(room, joinRoom(t, "the server", addr, fmt.Sprintf("u%d", i)))
	}
	var lines strings.Builder
	for n := range burst {
		fmt.Fprintf(&lines, "burst line %d\n", n)
	}
	for _, u := range room {
		u.conn.SetWriteDeadline(time.Now().Add(lineTimeout))
		if _, err := io.WriteString(u.conn, lines.String()); err != nil {
			t.Fatalf("%s: sending its burst: %v", u, err)
		}
	}
	isBurst := func(line string) bool {
		return strings.HasPrefix(line, "<u") && strings.Contains(line, "> burst line ")
	}
	want := users * burst
	// One bound for all: once a user is short, more waiting is no use.
	deadline := time.Now().Add(lineTimeout)
	var short, cut []string
	for _, u := range room {
		got := 0
		_, err := u.log.wait(u.closed, max(time.Until(deadline), time.Millisecond), func(line string) bool {
			if isBurst(line) {
				got++
			}
			return got == want
		})
		if err == nil {
			continue
		}
		short = append(short, fmt.Sprintf("%s: %d", u.name, got))
		select {
		case <-u.closed:
			cut = append(cut, u.name)
		default:
		}
	}
	if len(short) == 0 {
		return
	}
	// Why, as the others were told.
	var why string
	for _, u := range room {
		for _, line := range u.log.linesFrom(0) {
			if why == "" && strings.Contains(line, " left (") {
				why = line
			}
		}
	}
	t.Errorf("%d of %d users, all reading, got fewer than the %d burst lines (%q...); the server hung up on %d of them (%q...); the others were told %q",
		len(short), users, want, short[:min(len(short), 4)], len(cut), cut[:min(len(cut), 4)], why)
}
