package e2e

import (
	"fmt"
	"io"
	"strings"
	"testing"
)

// chatGreeting is the line the chat service sends first.
const chatGreeting = "Welcome to netkit chat. Choose a nickname:"

// chatUser is someone in the chat through nc, speaking the line protocol
// by hand as a person would.
type chatUser struct {
	name string // for failure messages: the nickname the test means to use
	p    *proc
	next int // how many lines of output earlier expectations used up
}

// dialChat connects nc to the chat service and waits for the greeting.
func dialChat(t *testing.T, nc, host, port, name string) *chatUser {
	t.Helper()
	// No -N: a user that closes its input still hears the room until the
	// server hangs up, which is how the test sees that it does.
	u := &chatUser{name: name, p: start(t, command{path: nc, args: []string{host, port}, pipeStdin: true})}
	u.expect(t, "the greeting", chatGreeting)
	return u
}

// joinChat connects as nick and waits for the welcome, which must list
// here, the room as it is after the join.
func joinChat(t *testing.T, nc, host, port, nick, here string) *chatUser {
	t.Helper()
	u := dialChat(t, nc, host, port, nick)
	u.send(t, nick)
	u.expect(t, "the welcome", "*** welcome, "+nick+"; here "+here)
	return u
}

// send writes line and its newline to the server.
func (u *chatUser) send(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(u.p.stdin, line+"\n"); err != nil {
		t.Fatalf("%s: sending %q: %v", u.name, line, err)
	}
}

// expect waits for the line want, exactly, past the lines that earlier
// expectations matched, and uses it up.
func (u *chatUser) expect(t *testing.T, what, want string) {
	t.Helper()
	u.expectFunc(t, fmt.Sprintf("%s %q", what, want), func(line string) bool { return line == want })
}

// expectFunc waits for a line for which match is true, past the lines
// that earlier expectations matched, and uses it up.
func (u *chatUser) expectFunc(t *testing.T, what string, match func(string) bool) string {
	t.Helper()
	i := -1
	// wait calls match once for each line, in order, from the first.
	line, err := u.p.stdout.wait(u.p.exited, lineTimeout, func(line string) bool {
		i++
		return i >= u.next && match(line)
	})
	if err != nil {
		t.Fatalf("%s: waiting for %s: %v\nwhat %s got after the lines already matched: %q\nstderr: %q",
			u.name, what, err, u.name, u.p.stdout.linesFrom(u.next), u.p.stderr)
	}
	u.next = i + 1
	return line
}

// heard reports the lines the user got that contain s.
func (u *chatUser) heard(s string) []string {
	var found []string
	for _, line := range u.p.stdout.linesFrom(0) {
		if strings.Contains(line, s) {
			found = append(found, line)
		}
	}
	return found
}

// TestChatNetcat has three people chat through nc: joins, refused
// nicknames, messages, /who, a private /msg the third does not see, and a
// /quit the others are told about.
func TestChatNetcat(t *testing.T) {
	t.Parallel()
	nc := netcat(t)
	srv := startServer(t, "", []string{"chat/tcp"}, "serve", "--random-ports", "--json", "--only", "chat")
	host, port := srv.hostPort(t, "chat/tcp")

	alice := joinChat(t, nc, host, port, "alice", "(1): alice")
	bob := joinChat(t, nc, host, port, "bob", "(2): alice, bob")
	alice.expect(t, "the join", "*** bob joined")

	// Refused nicknames: each gets an error line and a new prompt, on the
	// same connection, and the next try may succeed.
	carol := dialChat(t, nc, host, port, "carol")
	refused := []struct {
		name, nick, want string
	}{
		{"taken, in other case", "ALICE", `error: nickname is taken: "ALICE"`},
		{"reserved", "admin", `error: nickname is reserved: "admin"`},
		{"with a space", "carol c", `error: invalid nickname: ' ' is not allowed there; use letters, digits, '-', '_' or '.'`},
	}
	for _, tt := range refused {
		carol.send(t, tt.nick)
		carol.expect(t, "the error for a nickname "+tt.name, tt.want)
		carol.expect(t, "a new prompt after a nickname "+tt.name, "Choose a nickname:")
	}
	carol.send(t, "carol")
	carol.expect(t, "the welcome", "*** welcome, carol; here (3): alice, bob, carol")
	alice.expect(t, "the join", "*** carol joined")
	bob.expect(t, "the join", "*** carol joined")

	// Messages go to everyone, the sender included. Lines sent by two
	// people at once may arrive in either order, so bob answers only once
	// everyone has read alice.
	alice.send(t, "hello bob")
	for _, u := range []*chatUser{alice, bob, carol} {
		u.expect(t, "alice's message", "<alice> hello bob")
	}
	bob.send(t, "hi alice")
	for _, u := range []*chatUser{alice, bob, carol} {
		u.expect(t, "bob's message", "<bob> hi alice")
	}

	bob.send(t, "/who")
	bob.expect(t, "the answer to /who", "*** here (3): alice, bob, carol")

	// A private message reaches its addressee and a copy its sender. Then
	// alice speaks to everyone: the room's events reach each member in
	// order, so once carol has that, she would have had the private one.
	const secret = "the password is swordfish"
	alice.send(t, "/msg bob "+secret)
	bob.expect(t, "the private message", "[private] <alice> to bob: "+secret)
	alice.expect(t, "the copy of her private message", "[private] <alice> to bob: "+secret)
	alice.send(t, "done whispering")
	carol.expect(t, "the message after the private one", "<alice> done whispering")
	if got := carol.heard("swordfish"); len(got) > 0 {
		t.Errorf("carol got alice's private message to bob: %q", got)
	}

	// /quit: the others are told why, and the server hangs up.
	bob.send(t, "/quit see you")
	alice.expect(t, "bob's leaving", "*** bob left (quit: see you)")
	carol.expect(t, "bob's leaving", "*** bob left (quit: see you)")
	bob.p.stdin.Close()
	if code, ok := bob.p.wait(stopTimeout); !ok {
		t.Errorf("bob's nc still runs %v after /quit and the end of its input: the server did not hang up", stopTimeout)
	} else if code != 0 {
		t.Errorf("bob's nc exited with status %d after /quit, want 0\nstderr: %q", code, bob.p.stderr)
	}
	carol.send(t, "/who")
	carol.expect(t, "the answer to /who after bob left", "*** here (2): alice, carol")
}
