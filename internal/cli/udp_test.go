package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/netkit/netkit/internal/suite"
)

func TestUDPUsageErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f.txt")
	os.WriteFile(file, []byte("x"), 0o644)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"udp", "nosuch"}, "unknown command"},
		{[]string{"udp", "send"}, "nothing to send"},
		{[]string{"udp", "send", "--window", "0", file}, "want 1"},
		{[]string{"udp", "send", "--secret", "k", "--legacy", "--text", "x"}, "cannot encrypt"},
		{[]string{"udp", "send", "--secret", "k", "--window", "1", "--text", "x"}, "cannot encrypt"},
		{[]string{"udp", "send", "--fragment-size", "-1", file}, "1 to 1445"},
		{[]string{"udp", "send", file, "--fragment-size", "1446"}, "1 to 1445"},
		{[]string{"udp", "send", file, "--fragment-size", "0"}, "--fragment-size 0: want 1 to 1445 data bytes per frame (leave it out"},
		{[]string{"udp", "send", "--legacy", "--fragment-size", "0", "--text", "x"}, "see 'netkit udp send --help'"},
		{[]string{"udp", "send", "--corrupt-every", "-1", file}, "--corrupt-every"},
		{[]string{"udp", "send", "--timeout", "0s", file}, "--timeout"},
		{[]string{"udp", "send", "--keepalive", "-1s", file}, "--keepalive"},
		{[]string{"udp", "send", "--text", "x", file}, "--text goes without"},
		{[]string{"udp", "send", "--text", ""}, "empty"},
		{[]string{"udp", "send", file, "-"}, "goes alone"},
		{[]string{"udp", "send", "host:99999", file}, "bad address"},
		{[]string{"udp", "send", file, "127.0.0.1:7740"}, "address goes first"},
		{[]string{"udp", "send", "--bogus", file}, "unknown flag"},
		{[]string{"udp", "recv", "extra"}, "unexpected argument"},
		{[]string{"udp", "recv", "--listen", "nope"}, "--listen"},
		{[]string{"udp", "recv", "--max-size", "lots"}, "--max-size"},
		{[]string{"udp", "recv", "--timeout", "0s"}, "--timeout"},
		{[]string{"udp", "recv", "--max-peers", "0"}, "--max-peers"},
		{[]string{"udp", "recv", "--window", "0"}, "--window"},
		{[]string{"udp", "serve", "--listen", "x"}, "--listen"},
	}
	for _, tt := range tests {
		_, _, err := run(t, "", tt.args...)
		if ExitCode(err) != 2 || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: exit %d, %v; want 2 and %q", tt.args, ExitCode(err), err, tt.want)
		}
	}
}

func TestUDPNoArgsPrintsHelp(t *testing.T) {
	out, _, err := run(t, "", "udp")
	if err != nil || !strings.HasPrefix(out, "Usage: netkit udp") || !strings.Contains(out, "recv") {
		t.Errorf("netkit udp: %v, %q", err, out)
	}
}

func TestUDPSendArgs(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	os.WriteFile("a.txt", []byte("a"), 0o644)
	os.WriteFile("10.0.0.1:80", []byte("a file with an address's name"), 0o644)
	const def = "127.0.0.1:7740"
	tests := []struct {
		args      []string
		text      bool
		wantAddr  string
		wantFiles []string
		stdin     bool
	}{
		{[]string{"a.txt"}, false, def, []string{"a.txt"}, false},
		{[]string{"h:9", "a.txt"}, false, "h:9", []string{"a.txt"}, false},
		{[]string{"somehost", "a.txt"}, false, "somehost:7740", []string{"a.txt"}, false},
		{[]string{"10.0.0.2"}, true, "10.0.0.2:7740", nil, false},
		{[]string{"myhost"}, true, "myhost:7740", nil, false},
		{[]string{"[::1]:9", "-"}, false, "[::1]:9", nil, true},
		{[]string{"-"}, false, def, nil, true},
		{[]string{"10.0.0.1:80"}, false, def, []string{"10.0.0.1:80"}, false},
		{[]string{":9", "a.txt", "b"}, false, "127.0.0.1:9", []string{"a.txt", "b"}, false},
	}
	for _, tt := range tests {
		f := udpSendFlags{fragSize: 1445, window: 1, timeout: time.Second, keepalive: time.Second, textSet: tt.text, text: "x"}
		addr, files, stdin, err := f.parse(tt.args, def)
		if err != nil || addr != tt.wantAddr || !slices.Equal(files, tt.wantFiles) || stdin != tt.stdin {
			t.Errorf("%q: %q %q %v %v; want %q %q %v", tt.args, addr, files, stdin, err, tt.wantAddr, tt.wantFiles, tt.stdin)
		}
	}
}

func TestTerminalSafe(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"two\nlines\tand a tab", "two\nlines\tand a tab"},
		{"Žluťoučký kůň", "Žluťoučký kůň"},
		{"\x1b[2Jclear", `\u001b[2Jclear`},
		{"bell\a", `bell\u0007`},
		{"bad\xff", `bad\xff`},
		{"rtl\u202eevil", `rtl\u202eevil`},
		{"c1\u0085", `c1\u0085`},
	}
	for _, tt := range tests {
		if got := terminalSafe(tt.in); got != tt.want {
			t.Errorf("terminalSafe(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHumanBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"}, {30 << 20, "30.0 MiB"}, {5 << 40, "5.0 TiB"}}
	for _, tt := range tests {
		if got := humanBytes(tt.n); got != tt.want {
			t.Errorf("humanBytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func FuzzTerminalSafe(f *testing.F) {
	for _, s := range []string{"plain", "a\nb", "\x1b[31mred", "bad\xff\xfe", "\u202e", "Žluť"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := terminalSafe(in)
		if !utf8.ValidString(out) {
			t.Fatalf("terminalSafe(%q) = %q, not UTF-8", in, out)
		}
		for _, r := range out {
			if (unicode.IsControl(r) && r != '\n' && r != '\t') || unicode.Is(unicode.Bidi_Control, r) {
				t.Fatalf("terminalSafe(%q) = %q keeps %U", in, out, r)
			}
		}
	})
}

// startUDPRecv runs `netkit ARGS --json` in-process and returns the
// address it listens on, a channel of the events it prints, and a
// function that stops it as Ctrl-C does and returns its error.
func startUDPRecv(t *testing.T, args ...string) (string, <-chan udpEvent, func() error) {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, append(args, "--json"), IO{Stdin: strings.NewReader(""), Stdout: pw, Stderr: io.Discard})
		pw.Close()
	}()
	events := make(chan udpEvent, 100)
	sc := bufio.NewScanner(pr)
	addr := ""
	for addr == "" && sc.Scan() {
		var ev udpEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("bad line %q", sc.Text())
		}
		if ev.Event == "listening" || ev.Service == "udp" {
			addr = ev.Addr
		}
	}
	if addr == "" {
		cancel()
		t.Fatalf("no address printed: %v", <-done)
	}
	go func() {
		defer close(events)
		for sc.Scan() {
			var ev udpEvent
			if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Event != "end" {
				events <- ev
			}
		}
	}()
	stop := func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("did not stop within 10s of cancel")
			return nil
		}
	}
	t.Cleanup(func() { cancel() })
	return addr, events, stop
}

func nextEvent(t *testing.T, events <-chan udpEvent) udpEvent {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("the receiver ended")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return udpEvent{}
}

func TestUDPSendRecv(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "inbox") // created by recv
	addr, events, stop := startUDPRecv(t, "udp", "recv", "--listen", "127.0.0.1:0", "--dir", dir)

	src := t.TempDir()
	content := strings.Repeat("It is a small file. ", 5000)
	os.WriteFile(filepath.Join(src, "smallFile.bin"), []byte(content), 0o644)
	os.WriteFile(filepath.Join(src, "empty"), nil, 0o644)

	out, _, err := run(t, "", "udp", "send", addr, "--text", "Toto je textova sprava.", "--fragment-size", "4")
	if err != nil || !strings.HasPrefix(out, "sent 1 item, 23 bytes, to "+addr) {
		t.Fatalf("send --text: %q, %v", out, err)
	}
	if ev := nextEvent(t, events); ev.Event != "text" || ev.Text != "Toto je textova sprava." {
		t.Errorf("event %+v", ev)
	}

	out, _, err = run(t, "", "udp", "send", addr, filepath.Join(src, "smallFile.bin"), filepath.Join(src, "empty"),
		"--json", "--corrupt-every", "7", "--fragment-size", "1000", "--legacy")
	var sum udpSummary
	if err != nil || json.Unmarshal([]byte(out), &sum) != nil {
		t.Fatalf("send files: %q, %v", out, err)
	}
	if sum.Items != 2 || sum.Bytes != int64(len(content)) || sum.NACKs == 0 || sum.NACKs != sum.Corrupted || sum.To != addr || sum.Mode != "legacy" {
		t.Errorf("summary %+v", sum)
	}
	for _, want := range []string{"smallFile.bin", "empty"} {
		ev := nextEvent(t, events)
		if ev.Event != "file" || ev.Name != want || ev.Path != filepath.Join(dir, want) {
			t.Errorf("event %+v, want %s stored", ev, want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "smallFile.bin")); string(b) != content {
		t.Errorf("stored %d bytes, want %d", len(b), len(content))
	}

	// The extended mode, with its error simulation: a damaged DATA is
	// dropped by the receiver and sent again after the SACKs show the gap.
	out, _, err = run(t, "", "udp", "send", addr, filepath.Join(src, "smallFile.bin"), "--json", "--corrupt-every", "7", "--overwrite-never-exists-ignore")
	if err == nil {
		t.Fatalf("an unknown flag was taken: %q", out)
	}
	out, _, err = run(t, "", "udp", "send", addr, filepath.Join(src, "smallFile.bin"), "--json", "--corrupt-every", "7")
	sum = udpSummary{}
	if err != nil || json.Unmarshal([]byte(out), &sum) != nil {
		t.Fatalf("send extended: %q, %v", out, err)
	}
	if sum.Mode != "extended" || sum.Corrupted == 0 || sum.Lost < sum.Corrupted || sum.Retransmissions < sum.Corrupted {
		t.Errorf("extended summary %+v", sum)
	}
	if ev := nextEvent(t, events); ev.Event != "file" || ev.Path != filepath.Join(dir, "smallFile (1).bin") {
		t.Errorf("event %+v, want smallFile (1).bin stored", ev)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "smallFile (1).bin")); string(b) != content {
		t.Errorf("stored %d bytes, want %d", len(b), len(content))
	}

	_, _, err = run(t, "one\r\ntwo\n\nthree", "udp", "send", addr, "-", "--keepalive", "10ms")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"one", "two", "three"} {
		if ev := nextEvent(t, events); ev.Event != "text" || ev.Text != want {
			t.Errorf("event %+v, want text %q", ev, want)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("recv returned %v after Ctrl-C", err)
	}
}

func TestUDPSendNoReceiver(t *testing.T) {
	addr, _, stop := startUDPRecv(t, "udp", "recv", "--listen", "127.0.0.1:0", "--dir", t.TempDir())
	stop() // now nothing listens there
	_, _, err := run(t, "", "udp", "send", addr, "--text", "anyone?", "--timeout", "300ms")
	if ExitCode(err) != 1 || !strings.Contains(err.Error(), "stopped answering") {
		t.Errorf("err %v", err)
	}
}

// TestUDPServe runs the suite's service (netkit udp serve) and checks
// that a file sent to it lands in the data directory's inbox.
func TestUDPServe(t *testing.T) {
	data := t.TempDir()
	addr, _, stop := startUDPRecv(t, "udp", "serve", "--listen", "127.0.0.1:0", "--data", data)
	src := filepath.Join(t.TempDir(), "to-the-suite.txt")
	os.WriteFile(src, []byte("hello, service"), 0o644)
	if _, _, err := run(t, "", "udp", "send", addr, src); err != nil {
		t.Fatal(err)
	}
	// The last ACK is sent once the file is committed.
	b, err := os.ReadFile(filepath.Join(data, suite.UDPInbox, "to-the-suite.txt"))
	if err != nil || string(b) != "hello, service" {
		t.Errorf("inbox file: %q, %v", b, err)
	}
	if err := stop(); err != nil {
		t.Errorf("serve returned %v", err)
	}
}

// TestUDPServeSecret runs the suite's udp service with a secret: a sender
// with the same secret (here from $NETKIT_SECRET) gets through, one
// without is refused, and the secret never shows in --help.
func TestUDPServeSecret(t *testing.T) {
	data := t.TempDir()
	addr, _, stop := startUDPRecv(t, "udp", "serve", "--listen", "127.0.0.1:0", "--data", data, "--secret", "service secret")
	defer stop()
	src := filepath.Join(t.TempDir(), "sealed.txt")
	os.WriteFile(src, []byte("for the service"), 0o644)
	if _, _, err := run(t, "", "udp", "send", addr, src, "--timeout", "3s"); err == nil || !strings.Contains(err.Error(), "secret") {
		t.Errorf("a sender without the secret: %v", err)
	}
	t.Setenv("NETKIT_SECRET", "service secret")
	if _, _, err := run(t, "", "udp", "send", addr, src); err != nil {
		t.Fatalf("with $NETKIT_SECRET: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(data, suite.UDPInbox, "sealed.txt")); err != nil || string(b) != "for the service" {
		t.Errorf("inbox file: %q, %v", b, err)
	}
	for _, args := range [][]string{{"udp", "send", "--help"}, {"udp", "serve", "--help"}, {"serve", "--help"}} {
		if out, _, _ := run(t, "", args...); strings.Contains(out, "service secret") {
			t.Errorf("%q shows the secret", args)
		}
	}
}

// TestUDPRecvShowsReceived checks issue 13's item 11 for netkit udp recv
// as a person reads it (no --json): each text on standard output with its
// sender, and each stored file with the path it was stored under.
func TestUDPRecvShowsReceived(t *testing.T) {
	dir := t.TempDir()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"udp", "recv", "--listen", "127.0.0.1:0", "--dir", dir}, IO{Stdin: strings.NewReader(""), Stdout: pw, Stderr: io.Discard})
		pw.Close()
	}()
	defer func() {
		cancel()
		<-done
	}()
	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() string {
		t.Helper()
		select {
		case l := <-lines:
			return l
		case <-time.After(10 * time.Second):
			t.Fatal("no line within 10 s")
			return ""
		}
	}
	addr, _, ok := strings.Cut(strings.TrimPrefix(next(), "listening on "), ",")
	if !ok {
		t.Fatal("no listening line")
	}
	if _, _, err := run(t, "", "udp", "send", addr, "--text", "hello, receiver"); err != nil {
		t.Fatal(err)
	}
	if l := next(); !strings.HasPrefix(l, "127.0.0.1:") || !strings.HasSuffix(l, ": hello, receiver") {
		t.Errorf("text line %q, want PEER: hello, receiver", l)
	}
	src := filepath.Join(t.TempDir(), "shown.txt")
	os.WriteFile(src, []byte("12345"), 0o644)
	if _, _, err := run(t, "", "udp", "send", addr, src, "--legacy"); err != nil {
		t.Fatal(err)
	}
	if l, want := next(), "file shown.txt, 5 bytes, stored as "+filepath.Join(dir, "shown.txt"); !strings.HasSuffix(l, want) {
		t.Errorf("file line %q, want it to end %q", l, want)
	}
}

// TestUDPSecretMessages checks issue 13's item 6 for udp: a wrong secret
// is said once, and --legacy to a receiver with a secret says that the
// receiver needs one and that the legacy protocol cannot carry it.
func TestUDPSecretMessages(t *testing.T) {
	addr, _, stop := startUDPRecv(t, "udp", "recv", "--listen", "127.0.0.1:0", "--dir", t.TempDir(), "--secret", "the right one")
	defer stop()
	_, _, err := run(t, "", "udp", "send", addr, "--text", "x", "--secret", "a wrong one")
	if msg := fmt.Sprint(err); ExitCode(err) != 1 || strings.Count(msg, "wrong secret") != 1 || strings.Count(msg, "same --secret") != 1 {
		t.Errorf("wrong secret: exit %d, %q; want 1 and the reason once", ExitCode(err), msg)
	}
	_, _, err = run(t, "", "udp", "send", addr, "--text", "x", "--legacy")
	want := addr + " requires a secret, and the legacy protocol (--legacy, --window 1) cannot carry one: send with --secret and without --legacy"
	if ExitCode(err) != 1 || fmt.Sprint(err) != want {
		t.Errorf("--legacy to a receiver with a secret: exit %d, %v; want 1 and %q", ExitCode(err), err, want)
	}
}
