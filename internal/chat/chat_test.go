package chat

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/service"
	"github.com/netkit/netkit/internal/testwait"
)

func TestCheckNick(t *testing.T) {
	tests := []struct {
		nick string
		want error
	}{
		{"alice", nil},
		{"Bob_2", nil},
		{"d.e-f", nil},
		{"élodie", nil},
		{"a", nil},
		{strings.Repeat("x", MaxNickLen), nil},
		{strings.Repeat("x", MaxNickLen+1), ErrNickInvalid},
		{"", ErrNickInvalid},
		{"-dash", ErrNickInvalid},
		{"has space", ErrNickInvalid},
		{"semi;colon", ErrNickInvalid},
		{"\x1b[31mred", ErrNickInvalid},
		{"admin", ErrNickReserved},
		{"ADMIN", ErrNickReserved},
		{"Server", ErrNickReserved},
		{"\xff\xfe", ErrNickInvalid},
	}
	for _, tt := range tests {
		if err := CheckNick(tt.nick); !errors.Is(err, tt.want) {
			t.Errorf("CheckNick(%q) = %v, want %v", tt.nick, err, tt.want)
		}
	}
}

func TestCleanText(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"hello", "hello", nil},
		{"  padded\t", "padded", nil},
		{"tab\there", "tab here", nil},
		{"bell\x07 and \x1b[2Jclear", "bell and [2Jclear", nil},
		{"del\x7f", "del", nil},
		{"c1\u0085x", "c1x", nil},
		{"line\u2028sep", "linesep", nil},
		{"ünïcödé ✓", "ünïcödé ✓", nil},
		{"bad \xff utf8", "", ErrInvalidUTF8},
		{strings.Repeat("a", MaxTextLen), strings.Repeat("a", MaxTextLen), nil},
		{strings.Repeat("a", MaxTextLen+1), "", ErrTooLong},
	}
	for _, tt := range tests {
		got, err := CleanText([]byte(tt.in))
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("CleanText(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestParseLine(t *testing.T) {
	tests := []struct {
		in   string
		want Command
		err  error
	}{
		{"hello", Command{Op: OpSay, Text: "hello"}, nil},
		{"//not a command", Command{Op: OpSay, Text: "/not a command"}, nil},
		{"/me waves", Command{Op: OpMe, Text: "waves"}, nil},
		{"/ME waves", Command{Op: OpMe, Text: "waves"}, nil},
		{"/msg bob hi there", Command{Op: OpMsg, Target: "bob", Text: "hi there"}, nil},
		{"/msg bob", Command{}, ErrUsage},
		{"/nick new", Command{Op: OpNick, Target: "new"}, nil},
		{"/nick two words", Command{}, ErrUsage},
		{"/who", Command{Op: OpWho}, nil},
		{"/quit", Command{Op: OpQuit}, nil},
		{"/quit see you", Command{Op: OpQuit, Text: "see you"}, nil},
		{"/help", Command{Op: OpHelp}, nil},
		{"/kick bob spamming links", Command{Op: OpKick, Target: "bob", Text: "spamming links"}, nil},
		{"/kick", Command{}, ErrUsage},
		{"/ban 10.0.0.9 2h", Command{Op: OpBan, Target: "10.0.0.9", Text: "2h"}, nil},
		{"/unban 10.0.0.9", Command{Op: OpUnban, Target: "10.0.0.9"}, nil},
		{"/ban 10.0.0.0/8", Command{Op: OpBan, Target: "10.0.0.0/8"}, nil},
		{"/bans", Command{Op: OpBans}, nil},
		{"/auth tok", Command{Op: OpAuth, Text: "tok"}, nil},
		{"/say hi", Command{Op: OpSay, Text: "hi"}, nil},
		{"/dance", Command{}, ErrUnknownCommand},
		{"/", Command{}, ErrUnknownCommand},
	}
	for _, tt := range tests {
		got, err := ParseLine(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("ParseLine(%q) = %+v, %v; want %+v, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"hi", "/msg a b", "/ban x 1h", "/", "//", "/me", "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		text, err := CleanText(in)
		if err != nil {
			return
		}
		if strings.ContainsAny(text, "\n\r\x00\x1b") || len(text) > MaxTextLen {
			t.Fatalf("CleanText(%q) = %q: control characters or too long", in, text)
		}
		cmd, err := ParseLine(text)
		if err != nil {
			return
		}
		if cmd.Op == OpSay && len(cmd.Text) > len(text) {
			t.Fatalf("message grew")
		}
		e := &Event{Type: TypeMsg, From: "x", Text: cmd.Text}
		if strings.Count(string(e.Line()), "\n") != 1 {
			t.Fatalf("event line %q is not one line", e.Line())
		}
	})
}

// recv collects n events for m, or what arrived before its queue closed,
// failing after 5 seconds.
func recv(t *testing.T, m *Member, n int) []string {
	t.Helper()
	var got []string
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < n {
		if m.q.len() == 0 {
			m.q.mu.Lock()
			closed := m.q.closed
			m.q.mu.Unlock()
			if closed {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("got %d of %d events: %q", len(got), n, got)
			}
			time.Sleep(time.Millisecond)
			continue
		}
		batch, _ := m.Take(nil)
		for _, e := range batch {
			got = append(got, strings.TrimSuffix(string(e.Line()), "\n"))
		}
	}
	return got
}

func TestHubFlow(t *testing.T) {
	h := NewHub(HubConfig{History: 2})
	a := h.NewMember(netip.MustParseAddr("10.0.0.1"), nil)
	b := h.NewMember(netip.MustParseAddr("10.0.0.2"), nil)
	if err := h.Join(context.Background(), a, "alice"); err != nil {
		t.Fatal(err)
	}
	h.Say(a, "one")
	h.Say(a, "two")
	h.Say(a, "three")
	if err := h.Join(context.Background(), b, "ALICE"); !errors.Is(err, ErrNickTaken) {
		t.Errorf("join under a taken nick (other case) = %v, want ErrNickTaken", err)
	}
	if err := h.Join(context.Background(), b, "bob"); err != nil {
		t.Fatal(err)
	}
	// bob sees the welcome and the last two messages only.
	want := []string{"*** welcome, bob; here (2): alice, bob", "<alice> two", "<alice> three"}
	if got := recv(t, b, 3); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("newcomer got %q, want %q", got, want)
	}
	recv(t, a, 5) // welcome, 3 messages, bob joined
	if err := h.Private(b, "Alice", "psst"); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, a, 1)[0]; got != "[private] <bob> to alice: psst" {
		t.Errorf("private: %q", got)
	}
	recv(t, b, 1)
	if err := h.Private(b, "carol", "x"); !errors.Is(err, ErrNoSuchUser) {
		t.Errorf("private to nobody = %v", err)
	}
	if err := h.Rename(context.Background(), b, "alice"); !errors.Is(err, ErrNickTaken) {
		t.Errorf("rename to taken = %v", err)
	}
	if err := h.Rename(context.Background(), b, "Bobby"); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, a, 1)[0]; got != "*** bob is now known as Bobby" {
		t.Errorf("rename: %q", got)
	}
	recv(t, b, 1)
	if err := h.Kick("admin", "bobby", "testing"); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, b, 2); len(got) != 1 || got[0] != "*** Bobby was kicked by admin (testing)" {
		t.Errorf("kicked member got %q, then its queue should close", got)
	}
	if got := recv(t, a, 1)[0]; got != "*** Bobby was kicked by admin (testing)" {
		t.Errorf("others got %q", got)
	}
	h.Leave(b, "quit") // after a kick: nothing
	if h.Len() != 1 {
		t.Errorf("Len = %d, want 1", h.Len())
	}
}

func TestHubDropsSlowMember(t *testing.T) {
	h := NewHub(HubConfig{QueueLen: 4, History: -1})
	hung := make(chan struct{})
	slow := h.NewMember(netip.Addr{}, func() { close(hung) })
	fast := h.NewMember(netip.Addr{}, nil)
	h.Join(context.Background(), slow, "slow")
	h.Join(context.Background(), fast, "fast")
	var got []string
	for i := range 10 {
		h.Say(fast, strings.Repeat("x", i))
		// fast reads everything as it comes; slow reads nothing.
		if fast.q.len() > 0 {
			batch, _ := fast.Take(nil)
			for _, e := range batch {
				got = append(got, strings.TrimSpace(string(e.Line())))
			}
		}
	}
	select {
	case <-hung:
	case <-time.After(5 * time.Second):
		t.Fatal("slow member's connection was not hung up")
	}
	if !strings.Contains(strings.Join(got, "|"), "*** slow left (too slow") {
		t.Errorf("others were not told of the drop: %q", got)
	}
	if got, want := h.Who(), []string{"fast"}; len(got) != 1 || got[0] != want[0] {
		t.Errorf("Who = %q after drop, want %q", got, want)
	}
}

func TestHubBan(t *testing.T) {
	h := NewHub(HubConfig{})
	ip := netip.MustParseAddr("192.0.2.7")
	m := h.NewMember(ip, nil)
	h.Join(context.Background(), m, "mallory")
	console := h.NewMember(netip.Addr{}, nil)
	console.Admin = true
	if _, err := h.Ban(console, ip.String(), time.Hour); err != nil {
		t.Fatal(err)
	}
	if h.Len() != 0 {
		t.Errorf("%d members after banning the address, want 0", h.Len())
	}
	again := h.NewMember(ip, nil)
	if err := h.Join(context.Background(), again, "mallory2"); !errors.Is(err, ErrBanned) {
		t.Errorf("banned address joined: %v", err)
	}
	h.Unban(ip.String())
	if err := h.Join(context.Background(), again, "mallory2"); err != nil {
		t.Errorf("after unban: %v", err)
	}
}

// tcp integration

type chatClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func startChat(t *testing.T, h *Handler, limits service.Limits) (string, *service.Server) {
	t.Helper()
	srv := &service.Server{Name: "chat", Handler: h, Limits: limits}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { h.Hub.Close(); srv.Close() })
	return l.Addr().String(), srv
}

func connect(t *testing.T, addr string) *chatClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	c := &chatClient{t: t, conn: conn, r: bufio.NewReader(conn)}
	if got := c.line(); got+"\n" != Greeting {
		t.Fatalf("greeting %q", got)
	}
	return c
}

func join(t *testing.T, addr, nick string) *chatClient {
	t.Helper()
	c := connect(t, addr)
	c.send(nick)
	if got := c.line(); !strings.HasPrefix(got, "*** welcome, "+nick) {
		t.Fatalf("join as %s: %q", nick, got)
	}
	return c
}

func (c *chatClient) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.conn, s+"\n"); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *chatClient) line() string {
	c.t.Helper()
	s, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (partial %q)", err, s)
	}
	return strings.TrimSuffix(s, "\n")
}

// expect reads lines until one equals want, failing on a line that starts
// with "error:" unless that is what is wanted.
func (c *chatClient) expect(want string) {
	c.t.Helper()
	for range 100 {
		got := c.line()
		if got == want || (strings.HasSuffix(want, "*") && strings.HasPrefix(got, strings.TrimSuffix(want, "*"))) {
			return
		}
	}
	c.t.Fatalf("never got %q", want)
}

func (c *chatClient) closed() {
	c.t.Helper()
	if _, err := io.ReadAll(c.r); err != nil {
		c.t.Fatalf("waiting for close: %v", err)
	}
}

func TestTCPChat(t *testing.T) {
	hub := NewHub(HubConfig{})
	addr, _ := startChat(t, &Handler{Hub: hub, AdminToken: "tok-12345678"}, service.Limits{MaxLineLength: 2048})

	alice := join(t, addr, "alice")
	// Taken, reserved and invalid nicks get an error and another prompt.
	bob := connect(t, addr)
	for _, bad := range []string{"Alice", "admin", "bad nick", "\xff"} {
		bob.send(bad)
		bob.expect("error: *")
		bob.expect("Choose a nickname:")
	}
	bob.send("bob")
	bob.expect("*** welcome, bob; here (2): alice, bob")
	alice.expect("*** bob joined")

	bob.send("hello everyone")
	alice.expect("<bob> hello everyone")
	bob.expect("<bob> hello everyone")

	bob.send("bad \xff\xfe utf8")
	bob.expect("error: line is not valid UTF-8")

	bob.send("/dance")
	bob.expect("error: unknown command /dance; try /help")

	bob.send("/kick alice")
	bob.expect("error: admin only: /auth TOKEN first")
	bob.send("/auth wrong-token")
	bob.expect("error: admin only: wrong admin token")

	alice.send("/auth tok-12345678")
	alice.expect("*** you are an admin now*")
	carol := join(t, addr, "carol")
	alice.send("/kick carol be nice")
	carol.expect("*** carol was kicked by alice (be nice)")
	carol.closed()
	bob.expect("*** carol was kicked by alice (be nice)")

	// Overlong line: the server says so and closes; others carry on.
	dave := join(t, addr, "dave")
	dave.send(strings.Repeat("z", 3000))
	dave.expect("error: line too long*")
	dave.closed()
	bob.expect("*** dave left (error: line too long (limit 2048 bytes))")

	// Abrupt disconnect.
	erin := join(t, addr, "erin")
	erin.conn.Close()
	bob.expect("*** erin left (quit)")

	bob.send("/quit see you")
	bob.closed()
	alice.expect("*** bob left (quit: see you)")
}

func TestTCPFloodDropped(t *testing.T) {
	hub := NewHub(HubConfig{})
	addr, _ := startChat(t, &Handler{Hub: hub, Rate: 20, Burst: 1, FloodWarn: 3, FloodDrop: 6}, service.Limits{})
	// With a rate of 20/s and a burst of 1, lines sent back to back
	// queue behind the limiter: every one after the first is throttled.
	// (At 1000/s a loaded machine taking over a millisecond for a line
	// found the next one on time, and the flooder was never dropped.)
	watcher := join(t, addr, "watcher")
	flooder := join(t, addr, "flooder")
	var b strings.Builder
	for i := range 50 {
		b.WriteString("spam " + strings.Repeat("!", i) + "\n")
	}
	io.WriteString(flooder.conn, b.String())
	flooder.expect("error: you are sending too fast*")
	flooder.expect("error: flooding; disconnected")
	watcher.expect("*** flooder left (flooding)")
}

func TestTCPSlowReaderDropped(t *testing.T) {
	hub := NewHub(HubConfig{QueueLen: 8, History: -1})
	addr, srv := startChat(t, &Handler{Hub: hub}, service.Limits{WriteTimeout: 500 * time.Millisecond})
	lazy := connect(t, addr)
	lazy.send("lazy") // joins and never reads again
	talker := join(t, addr, "talker")
	testwait.For(t, `hub.Len() == 2`, func() bool { return hub.Len() == 2 })
	m := hubMember(hub, "talker")
	msg := strings.Repeat("m", 1000)
	// The talker reads each message before the next is sent, so only the
	// lazy client falls behind: its socket buffers fill, then its queue.
	for range 5000 {
		hub.Say(m, msg)
		for {
			got := talker.line()
			if strings.HasPrefix(got, "*** lazy left (too slow") {
				testwait.For(t, `srv.OpenConns() == 1`, func() bool { return srv.OpenConns() == 1 })
				return
			}
			if strings.HasPrefix(got, "<talker>") {
				break
			}
		}
	}
	t.Fatal("a client that never reads was not dropped")
}

func hubMember(h *Hub, nick string) *Member {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.members[foldNick(nick)]
}

func TestConsole(t *testing.T) {
	hub := NewHub(HubConfig{})
	addr, _ := startChat(t, &Handler{Hub: hub}, service.Limits{})
	pr, pw := io.Pipe()
	out := &syncBuffer{}
	con := &Console{Hub: hub, In: pr, Out: out}
	errc := make(chan error, 1)
	go func() { errc <- con.Run(context.Background()) }()
	testwait.For(t, `hub.Len() == 1`, func() bool { return hub.Len() == 1 })

	bob := join(t, addr, "bob")
	io.WriteString(pw, "hello from the console\n")
	bob.expect("<admin> hello from the console")
	io.WriteString(pw, "/kick bob enough\n")
	bob.expect("*** bob was kicked by admin (enough)")
	bob.closed()
	io.WriteString(pw, "/quit\n")
	if err := <-errc; !errors.Is(err, ErrConsoleQuit) {
		t.Errorf("Run = %v, want ErrConsoleQuit", err)
	}
	if !strings.Contains(out.String(), "*** bob joined") {
		t.Errorf("console output lacks the join: %q", out.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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
