package cli

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer collects output written from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func waitOutput(t *testing.T, b *lockedBuffer, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(b.String()); m != nil {
			return m
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %v in output:\n%s", re, b.String())
	return nil
}

// The menu driven end to end: one menu is the server, another the client;
// wrong answers are asked again, every kind of send arrives.
func TestMenu(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(t.TempDir(), "smallFile.bin")
	os.WriteFile(src, []byte("It is a small file."), 0o644)

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	srvIn, srvFeed := io.Pipe()
	srvOut := &lockedBuffer{}
	srvDone := make(chan error, 1)
	go func() { srvDone <- runMenu(ctx, IO{Stdin: srvIn, Stdout: srvOut, Stderr: srvOut}) }()
	// Wrong choice, then server; a bad address and a bad port first.
	io.WriteString(srvFeed, "7\nx\n1\nnot an/ip\n127.0.0.1\n70000\n0\n"+dir+"\n")
	addr := waitOutput(t, srvOut, regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`))[1]
	port := addr[strings.LastIndex(addr, ":")+1:]

	cliIn, cliFeed := io.Pipe()
	cliOut := &lockedBuffer{}
	cliDone := make(chan error, 1)
	go func() { cliDone <- runMenu(ctx, IO{Stdin: cliIn, Stdout: cliOut, Stderr: cliOut}) }()
	w := bufio.NewWriter(cliFeed)
	w.WriteString("2\n\n" + port + "\n")
	w.WriteString("1\n4\nToto je textova sprava.\n")  // text at F=4
	w.WriteString("2\n0\n4\n2\nwith damage\n")        // bad F, then F=4, every 2nd damaged
	w.WriteString("3\n\n/nonexistent\n" + src + "\n") // default F; a missing file first
	w.WriteString("4\n4\n3\n" + src + "\n")           // file, F=4, every 3rd damaged
	w.WriteString("9\n0\n0\n")                        // wrong choice, log out, quit
	go w.Flush()

	select {
	case err := <-cliDone:
		if err != nil {
			t.Fatalf("client menu: %v\n%s", err, cliOut.String())
		}
	case <-ctx.Done():
		t.Fatalf("client menu did not finish:\n%s", cliOut.String())
	}
	out := cliOut.String()
	for _, want := range []string{
		`"9" is not a whole number from 0 to 4; try again`,
		`"0" is not a whole number from 1 to 1445; try again`,
		`cannot read "/nonexistent"`,
		"logged out:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("client output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "delivered "); n != 4 {
		t.Errorf("%d deliveries, want 4:\n%s", n, out)
	}
	if !regexp.MustCompile(`delivered text \(11 B\) in [0-9.]+ s: \d+ frames, [1-9]\d* retransmissions, [1-9]\d* NACKs`).MatchString(out) {
		t.Errorf("error simulation did not show NACKs and retransmissions:\n%s", out)
	}

	waitOutput(t, srvOut, regexp.MustCompile(`: with damage`))
	srvFeed.Write([]byte("\n0\n")) // stop the server, quit
	if err := <-srvDone; err != nil {
		t.Fatalf("server menu: %v", err)
	}
	sout := srvOut.String()
	for _, want := range []string{
		`"not an/ip" is not an IP address or host name; try again`,
		`"70000" is not a whole number from 0 to 65535; try again`,
		": Toto je textova sprava.",
		"file smallFile.bin, 19 bytes",
		"file smallFile.bin, 19 bytes, stored as " + filepath.Join(dir, "smallFile (1).bin"),
		"server stopped",
	} {
		if !strings.Contains(sout, want) {
			t.Errorf("server output lacks %q:\n%s", want, sout)
		}
	}
	for _, name := range []string{"smallFile.bin", "smallFile (1).bin"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(b) != "It is a small file." {
			t.Errorf("%s: %q, %v", name, b, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("folder holds %d entries, want 2", len(entries))
	}
}
