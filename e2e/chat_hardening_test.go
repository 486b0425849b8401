package e2e

import (
	"fmt"
	"testing"
	"time"
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
