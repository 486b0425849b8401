package e2e

import (
	"fmt"
	"io"
	"os/user"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// TestRPSNetcat plays one game with nc on one side, typing the line
// protocol as a person would (in Polish), and netkit's bot on the other,
// which always plays rock: nc wins 3:0, both are told, and the
// connections close.
func TestRPSNetcat(t *testing.T) {
	t.Parallel()
	nc := netcat(t)
	srv := startServer(t, "", []string{"rps/tcp"}, "serve", "--random-ports", "--json", "--only", "rps")
	host, port := srv.hostPort(t, "rps/tcp")
	u := &chatUser{name: "nc-player", p: start(t, command{path: nc, args: []string{host, port}, pipeStdin: true})}
	u.expectFunc(t, "the greeting", func(l string) bool { return strings.HasPrefix(l, "welcome rps first-to 3: ") })
	u.send(t, "ola")
	u.expectFunc(t, "the welcome", func(l string) bool { return strings.HasPrefix(l, "welcome ola token ") })
	u.expectFunc(t, "waiting alone", func(l string) bool { return strings.HasPrefix(l, "waiting 1: ") })

	bot := start(t, netkitCmd(t, "rps", srv.addr(t, "rps/tcp"), "--name", "bot", "--auto", "rock"))
	u.expect(t, "the match", "matched bot first-to 3: you play bot, first to 3 wins")
	u.expectFunc(t, "the first round", func(l string) bool { return strings.HasPrefix(l, "round 1 move") })
	u.send(t, "kamień") // a draw
	u.expectFunc(t, "the draw", func(l string) bool { return strings.HasPrefix(l, "result 1 rock rock draw") })
	u.expect(t, "the score", "score 0 0")
	u.send(t, "oops")
	u.expectFunc(t, "the error for a bad move", func(l string) bool {
		return strings.HasPrefix(l, `error unknown move "oops": say rock, paper, scissors`) && strings.Contains(l, "kamień, papier, nożyce")
	})
	for i, mv := range []string{"papier", "P", "paper"} {
		u.send(t, mv)
		u.expectFunc(t, "a won round", func(l string) bool { return strings.HasPrefix(l, fmt.Sprintf("result %d paper rock win", i+2)) })
		u.expect(t, "the score", fmt.Sprintf("score %d 0", i+1))
	}
	u.expect(t, "the game over", "game over bot win 3 0: you beat bot 3:0")
	// nc ends once its input has ended and the server has hung up.
	u.p.stdin.Close()
	if code, ok := u.p.wait(runTimeout); !ok || code != 0 {
		t.Errorf("nc: exit %d (exited: %v); the server should have closed the connection", code, ok)
	}
	code, ok := bot.wait(runTimeout)
	if !ok || code != 0 {
		t.Fatalf("the bot: exit %d (exited: %v)\nstdout: %s\nstderr: %s", code, ok, bot.stdout, bot.stderr)
	}
	out := bot.stdout.String()
	for _, want := range []string{"You play ola; first to 3 wins.", "Round 1: your rock, ola's rock: a draw.", "Game over: you lost 0:3 against ola."} {
		if !strings.Contains(out, want) {
			t.Errorf("the bot's output lacks %q:\n%s", want, out)
		}
	}
}

// TestRPSBots has netkit's --auto bots play each other through the
// suite, some in rooms, with JSON output; each exits 0 after its game.
func TestRPSBots(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "", []string{"rps/tcp"}, "serve", "--random-ports", "--json", "--only", "rps")
	addr := srv.addr(t, "rps/tcp")
	const bots = 8
	var wg sync.WaitGroup
	results := make([]result, bots)
	// Two bots that always play the same never finish: the pair in the
	// room differs, and those paired in arrival order play at random.
	strategies := []string{"rock", "cycle", "random"}
	for i := range bots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := []string{"rps", addr, "--name", fmt.Sprintf("bot%d", i), "--auto", strategies[min(i, 2)], "--json"}
			if i < 2 {
				args = append(args, "--room", "pair")
			}
			results[i] = netkit(t, "", args...)
		}()
	}
	wg.Wait()
	for i, r := range results {
		r.wantCode(t, 0)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		last := lines[len(lines)-1]
		if !strings.HasPrefix(last, `{"type":"game"`) || !strings.Contains(last, `"state":"over"`) {
			t.Errorf("bot%d: last line %q, want the game over", i, last)
		}
	}
	// Usage errors exit 2; a server that is gone, 1.
	netkit(t, "", "rps", addr, "--auto", "lizard").wantCode(t, 2)
	netkit(t, "", "rps", addr, "--name", "has space").wantCode(t, 2)
}

// TestRPSTLS plays a game between two netkit bots over TLS, trusting the
// server by its fingerprint.
func TestRPSTLS(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "", []string{fingerprintKey, "rps/tls"}, "serve", "--random-ports", "--tls", "--only", "rps")
	addr := srv.addr(t, "rps/tls")
	var wg sync.WaitGroup
	results := make([]result, 2)
	for i, auto := range []string{"rock", "cycle"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = netkit(t, "", "rps", addr, "--tls", "--fingerprint", srv.fingerprint, "--name", auto+"-bot", "--room", "tls", "--auto", auto)
		}()
	}
	wg.Wait()
	for _, r := range results {
		r.wantCode(t, 0)
		if !strings.Contains(r.stdout, "Game over: you ") {
			t.Errorf("%s: no result:\n%s", r.c, r.stdout)
		}
	}
}

// TestRPSConnectionLost plays with netkit rps as a person would, a move a
// line of standard input, on a server with --rounds 2 against nc: the
// client prompts for the move, shows the round and the score, and when
// the server dies mid-game it says the connection was lost and exits 1.
func TestRPSConnectionLost(t *testing.T) {
	t.Parallel()
	nc := netcat(t)
	srv := startServer(t, "", []string{"rps/tcp"}, "serve", "--random-ports", "--json", "--only", "rps", "--rounds", "2")
	host, port := srv.hostPort(t, "rps/tcp")
	u := &chatUser{name: "nc-player", p: start(t, command{path: nc, args: []string{host, port}, pipeStdin: true})}
	u.expectFunc(t, "the greeting", func(l string) bool { return strings.HasPrefix(l, "welcome rps first-to 2: ") })
	u.send(t, "ola")
	u.expectFunc(t, "waiting alone", func(l string) bool { return strings.HasPrefix(l, "waiting 1: ") })

	c := netkitCmd(t, "rps", srv.addr(t, "rps/tcp"), "--name", "typist")
	c.pipeStdin = true
	person := start(t, c)
	u.expect(t, "the match", "matched typist first-to 2: you play typist, first to 2 wins")
	person.waitLine(t, "the match", func(l string) bool { return l == "You play ola; first to 2 wins." })
	if _, err := io.WriteString(person.stdin, "rock\n"); err != nil {
		t.Fatal(err)
	}
	u.expectFunc(t, "the first round", func(l string) bool { return strings.HasPrefix(l, "round 1 move") })
	u.send(t, "papier")
	u.expectFunc(t, "the won round", func(l string) bool { return strings.HasPrefix(l, "result 1 paper rock win") })
	person.waitLine(t, "the score", func(l string) bool { return l == "Score: you 0, ola 1." })

	srv.signal(t, syscall.SIGKILL)
	code, ok := person.wait(runTimeout)
	if !ok || code != 1 {
		t.Fatalf("netkit rps: exit %d (exited: %v), want 1\nstdout: %s\nstderr: %s", code, ok, person.stdout, person.stderr)
	}
	out := person.stdout.String()
	for _, want := range []string{
		"Round 1, your move (rock, paper, scissors / kamień, papier, nożyce): ",
		"Round 1: your rock, ola's paper: you lose the round.",
		"Connection lost before the game ended.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("netkit rps's output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(person.stderr.String(), "connection lost before the game ended") {
		t.Errorf("netkit rps's error: %s", person.stderr)
	}
}

// TestRPSDefaultName: without --name, netkit rps plays under the login
// name, which the opponent is shown.
func TestRPSDefaultName(t *testing.T) {
	t.Parallel()
	nc := netcat(t)
	me, err := user.Current()
	// What docs/rps.md allows a name to be (and not a move).
	if err != nil || !regexp.MustCompile(`^[\pL\pN][\pL\pN._-]{0,23}$`).MatchString(me.Username) || len(me.Username) < 2 {
		t.Skipf("the login name %q cannot be a player's name (%v)", me.Username, err)
	}
	srv := startServer(t, "", []string{"rps/tcp"}, "serve", "--random-ports", "--json", "--only", "rps")
	host, port := srv.hostPort(t, "rps/tcp")
	u := &chatUser{name: "nc-player", p: start(t, command{path: nc, args: []string{host, port}, pipeStdin: true})}
	u.expectFunc(t, "the greeting", func(l string) bool { return strings.HasPrefix(l, "welcome rps first-to 3: ") })
	u.send(t, "ola")
	u.expectFunc(t, "waiting alone", func(l string) bool { return strings.HasPrefix(l, "waiting 1: ") })
	start(t, netkitCmd(t, "rps", srv.addr(t, "rps/tcp"), "--auto", "rock"))
	u.expectFunc(t, "the match", func(l string) bool { return strings.HasPrefix(l, "matched "+me.Username+" first-to 3") })
}
