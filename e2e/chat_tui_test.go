package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// tmuxPane is a program running in a detached tmux session of its own
// server (socket), read with capture-pane and typed into with send-keys.
type tmuxPane struct {
	t      *testing.T
	tmux   string
	socket string
}

func newTmuxPane(t *testing.T, shellCmd string, env []string) *tmuxPane {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	p := &tmuxPane{t: t, tmux: peer(t, "tmux"), socket: "cli-" + hex.EncodeToString(b)}
	args := []string{"new-session", "-d", "-s", "t", "-x", "100", "-y", "30"}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	p.run(append(args, shellCmd)...)
	t.Cleanup(func() { p.run("kill-server") })
	return p
}

func (p *tmuxPane) run(args ...string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, p.tmux, append([]string{"-L", p.socket, "-f", "/dev/null"}, args...)...).CombinedOutput()
	if err != nil && args[0] != "kill-server" {
		p.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (p *tmuxPane) capture() string { return p.run("capture-pane", "-p", "-t", "t") }

// waitFor waits until the pane shows what match accepts, and returns it.
func (p *tmuxPane) waitFor(what string, match func(string) bool) string {
	p.t.Helper()
	deadline := time.Now().Add(lineTimeout)
	var screen string
	for time.Now().Before(deadline) {
		if screen = p.capture(); match(screen) {
			return screen
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("the pane never showed %s:\n%s", what, screen)
	return ""
}

// TestChatTUIInTmux is issue 13's item 12, on a real terminal: the
// full-screen client wraps a long line, rejoins with its nick when the
// server comes back, and exits 1 when it gives up.
func TestChatTUIInTmux(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "", []string{"chat/tcp"}, "chat", "serve", "--listen", "127.0.0.1:0", "--console=false")
	addr := srv.addr(t, "chat/tcp")

	c := netkitCmd(t, "chat", addr, "--nick", "alice", "--reconnect", "3")
	shell := netkitPath + " " + strings.Join(c.args, " ") + "; echo EXIT=$?; sleep 600"
	pane := newTmuxPane(t, shell, c.env)
	pane.waitFor("the welcome", func(s string) bool { return strings.Contains(s, "welcome, alice") })

	// A line longer than the history is wide wraps: its end shows.
	long := "START" + strings.Repeat("M", 120) + "END"
	pane.run("send-keys", "-t", "t", "-l", long)
	pane.run("send-keys", "-t", "t", "Enter")
	screen := pane.waitFor("the long line's end", func(s string) bool { return strings.Contains(s, "END") && strings.Contains(s, "<alice> START") })
	for _, line := range strings.Split(screen, "\n") {
		if strings.Contains(line, "<alice> START") && strings.Contains(line, "END") {
			t.Errorf("the long line was not wrapped but fits in %q?", line)
		}
	}

	// The server goes away and comes back on the same port: the client
	// joins again, as alice.
	srv.stop()
	pane.waitFor("the reconnection attempts", func(s string) bool { return strings.Contains(s, "reconnecting in") })
	again := startServer(t, "", []string{"chat/tcp"}, "chat", "serve", "--listen", addr, "--console=false")
	screen = pane.waitFor("the new welcome", func(s string) bool { return strings.Contains(s, "*** reconnected") })
	if strings.Contains(screen, "alice_") {
		t.Errorf("rejoined under another nick although alice was free:\n%s", screen)
	}
	pane.run("send-keys", "-t", "t", "-l", "back again")
	pane.run("send-keys", "-t", "t", "Enter")
	pane.waitFor("a message after reconnecting", func(s string) bool { return strings.Contains(s, "<alice> back again") })

	// The server goes away for good: the client gives up and exits 1.
	again.stop()
	screen = pane.waitFor("the exit status", func(s string) bool { return strings.Contains(s, "EXIT=") })
	if !strings.Contains(screen, "EXIT=1") || !strings.Contains(screen, "gave up reconnecting to "+addr+" after 3 tries") {
		t.Errorf("after giving up, the pane shows:\n%s", screen)
	}
}
