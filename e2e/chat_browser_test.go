package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserTimeout bounds everything a browser test does with the browser,
// from starting it to the last screenshot.
const browserTimeout = 60 * time.Second

// pollInterval is how often a condition on a page is checked: often
// enough not to slow the test, seldom enough to leave the two cores to the
// server and the browser.
const pollInterval = 50 * time.Millisecond

// chromium returns the path of Debian's chromium.
func chromium(t *testing.T) string {
	t.Helper()
	return peer(t, "chromium")
}

// browser is one headless Chromium with one tab, driven through the
// DevTools protocol.
type browser struct {
	ctx context.Context // the tab's; ends at browserTimeout
	out *lineLog        // what Chromium and chromedp said, for failures

	mu      sync.Mutex
	console []chromedp.ConsoleMessage // what the page wrote to its console
}

// startBrowser starts Chromium headless with a fresh profile and opens a
// tab with a 1000×640 viewport. The browser is closed when the test ends,
// and an uncaught exception or an error on the console of a page fails the
// test.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	b := &browser{out: newLineLog()}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		// Chromium refuses to run as root with its sandbox.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		// Nothing but the page under test on the network.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.CombinedOutput(b.out),
	)
	// The bound is on the whole life of the browser: the first action
	// starts it under this context.
	ctx, cancelTimeout := context.WithTimeout(context.Background(), browserTimeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	logf := func(format string, args ...any) { fmt.Fprintf(b.out, "chromedp: "+format+"\n", args...) }
	var cancelTab context.CancelFunc
	b.ctx, cancelTab = chromedp.NewContext(allocCtx, chromedp.WithErrorf(logf), chromedp.WithLogf(logf))

	// Subscribing starts the browser and opens the tab.
	messages := chromedp.Console(b.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		// Close the browser gracefully, so that it has let go of its
		// profile before the test removes it; then kill what is left.
		if err := chromedp.Cancel(b.ctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("closing chromium: %v", err)
		}
		cancelTab()
		cancelAlloc()
		cancelTimeout()
		<-done
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, m := range b.console {
			switch {
			case m.IsException():
				t.Errorf("uncaught exception in the page: %s:%d: %s", m.URL, m.Line+1, m)
			case m.Type == chromedp.ConsoleError && strings.HasSuffix(m.URL, "/favicon.ico"):
				// netkit has no icon, and the page's CSP forbids a data:
				// URL for one.
			case m.Type == chromedp.ConsoleError:
				t.Errorf("error in the page's console: %s: %s", m.URL, m)
			default:
				t.Logf("console.%s: %s: %s", m.Type, m.URL, m)
			}
		}
		if t.Failed() {
			t.Logf("chromium's output:\n%s", clip(b.out.String()))
		}
	})
	// The viewport, not the window, so that screenshots have one size
	// whatever the browser's idea of its window.
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1000, 640)); err != nil {
		t.Fatalf("starting chromium: %v\n%s", err, clip(b.out.String()))
	}
	return b
}

// do runs actions in the tab, failing the test on the first error.
func (b *browser) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// chatPage is the chat page open in a browser.
type chatPage struct {
	*browser
}

// waitFor waits at most lineTimeout for the JavaScript function fn, called
// with args, to return true in the page. On failure it shows what the page
// showed.
func (p chatPage) waitFor(t *testing.T, what, fn string, args ...any) {
	t.Helper()
	p.poll(t, what, p.state, fn, args...)
}

// poll waits at most lineTimeout for the JavaScript function fn, called
// with args, to return true in the page, failing t with what state says
// the page showed when it does not.
func (b *browser) poll(t *testing.T, what string, state func() string, fn string, args ...any) {
	t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.PollFunction[bool](fn,
		chromedp.WithPollingArgs(args...),
		chromedp.WithPollingInterval(pollInterval),
		chromedp.WithPollingTimeout(lineTimeout)))
	if err != nil {
		t.Fatalf("the page: waiting for %s: %v\n%s", what, err, state())
	}
}

// waitLog waits for a line of the page's log that contains text.
func (p chatPage) waitLog(t *testing.T, what, text string) {
	t.Helper()
	p.waitFor(t, fmt.Sprintf("%s (a line with %q)", what, text),
		`(text) => [...document.querySelectorAll("#log li")].some((li) => li.textContent.includes(text))`, text)
}

// waitWho waits for the list of who is here to be exactly want, and the
// count above it to agree.
func (p chatPage) waitWho(t *testing.T, what string, want ...string) {
	t.Helper()
	p.waitFor(t, fmt.Sprintf("%s (who is here: %q)", what, want), `(want) => {
		const got = [...document.querySelectorAll("#who li")].map((li) => li.textContent);
		return got.length === want.length && got.every((g, i) => g === want[i]) &&
			document.getElementById("count").textContent === String(want.length);
	}`, want)
}

// waitStatus waits for the status in the page's header to be want.
func (p chatPage) waitStatus(t *testing.T, want string) {
	t.Helper()
	p.waitFor(t, fmt.Sprintf("the status %q", want),
		`(want) => document.getElementById("status").textContent === want`, want)
}

// state describes what the page shows, for a failure message.
func (p chatPage) state() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	js, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](`({
		status: document.getElementById("status").textContent,
		joinError: document.getElementById("join-error").textContent,
		who: [...document.querySelectorAll("#who li")].map((li) => li.textContent),
		log: [...document.querySelectorAll("#log li")].map((li) => li.textContent),
	})`))
	if err != nil {
		return fmt.Sprintf("(cannot read the page: %v)", err)
	}
	var s struct {
		Status    string   `json:"status"`
		JoinError string   `json:"joinError"`
		Who       []string `json:"who"`
		Log       []string `json:"log"`
	}
	if json.Unmarshal(js, &s) != nil {
		return string(js)
	}
	return fmt.Sprintf("status: %q\njoin error: %q\nwho: %q\nlog:\n  %s", s.Status, s.JoinError, s.Who, strings.Join(s.Log, "\n  "))
}

// artifactDir is where tests leave files for a person to look at:
// $NETKIT_ARTIFACTS, or netkit-artifacts in the temporary directory.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("NETKIT_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "netkit-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestChatBrowser has a person in headless Chromium chat on the page at
// /chat with a person on nc: joining, who is here, messages both ways, an
// action, a private message and a change of nickname, after which it
// leaves a screenshot of the page in artifactDir. Then the page loses its
// connection and rejoins without showing the history twice, and leaves the
// room for good by /quit and by a kick.
func TestChatBrowser(t *testing.T) {
	t.Parallel()
	nc := netcat(t)
	const adminToken = "e2e-admin-token"
	srv := startServer(t, "", []string{"web/http", "chat/tcp"}, "serve", "--random-ports", "--json", "--only", "web,chat", "--admin-token", adminToken)
	host, port := srv.hostPort(t, "chat/tcp")
	// Started after the server, so closed before it: the page does not
	// see the server go away.
	b := startBrowser(t)
	page := chatPage{b}

	b.do(t, "opening the chat page", chromedp.Navigate("http://"+srv.addr(t, "web/http")+"/chat"))
	b.do(t, "joining as webuser",
		chromedp.SendKeys(chromedp.ID("nick"), "webuser"),
		chromedp.Click(chromedp.ID("join-button")),
		chromedp.WaitVisible(chromedp.ID("text")),
		chromedp.WaitNotVisible(chromedp.ID("join")),
	)
	page.waitStatus(t, "connected as webuser")
	page.waitWho(t, "the page's user alone", "webuser (you)")

	ncUser := joinChat(t, nc, host, port, "nc-user", "(2): nc-user, webuser")
	page.waitLog(t, "nc-user's join", "nc-user joined")
	page.waitWho(t, "both users", "nc-user", "webuser (you)")

	b.do(t, "sending a message from the page",
		chromedp.SendKeys(chromedp.ID("text"), "hello from the browser"),
		chromedp.Click(chromedp.CSS("#send-form button")),
	)
	ncUser.expect(t, "the page's message", "<webuser> hello from the browser")
	page.waitLog(t, "the page's own message", "<webuser> hello from the browser")
	page.waitFor(t, "the input to be empty after sending",
		`() => document.getElementById("text").value === ""`)

	ncUser.send(t, "hello from nc <b>not bold</b>")
	page.waitLog(t, "nc-user's message, as text", "<nc-user> hello from nc <b>not bold</b>")
	ncUser.send(t, "/me waves")
	page.waitLog(t, "nc-user's action", "* nc-user waves")
	ncUser.send(t, "/msg webuser just between us")
	page.waitLog(t, "nc-user's private message", "[private] nc-user → webuser: just between us")

	// Enter sends, as a person would.
	b.do(t, "renaming from the page", chromedp.SendKeys(chromedp.ID("text"), "/nick webuser2\n"))
	ncUser.expect(t, "the rename", "*** webuser is now known as webuser2")
	page.waitWho(t, "the renamed user", "nc-user", "webuser2 (you)")
	page.waitStatus(t, "connected as webuser2")
	page.waitLog(t, "the rename", "webuser is now known as webuser2")

	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shot := filepath.Join(artifactDir(t), "chat.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the chat page: %s", shot)

	// The connection drops: the page rejoins under its nickname, and of
	// the history the server replays it shows only what it had not.
	b.do(t, "closing the page's WebSocket", chromedp.Evaluate[chromedp.Void](`ws.close()`))
	ncUser.expectFunc(t, "the page's user leaving", func(line string) bool { return strings.HasPrefix(line, "*** webuser2 left (") })
	ncUser.expect(t, "the page's user rejoining", "*** webuser2 joined")
	page.waitStatus(t, "connected as webuser2")
	page.waitWho(t, "both users after the reconnect", "nc-user", "webuser2 (you)")
	// The hub sends the history before anything said after the join.
	ncUser.send(t, "welcome back")
	page.waitLog(t, "the message after the reconnect", "<nc-user> welcome back")
	page.waitFor(t, "each message of the history once",
		`() => [...document.querySelectorAll("#log li")].filter((li) => li.textContent.includes("hello from the browser")).length === 1`)

	// /quit leaves for good: no reconnect, the form to join again.
	b.do(t, "quitting from the page", chromedp.SendKeys(chromedp.ID("text"), "/quit bye\n"))
	ncUser.expect(t, "the page's user quitting", "*** webuser2 left (quit: bye)")
	page.waitJoinForm(t, "You left the room.")
	page.waitStatus(t, "not connected")

	// Joining again, with the nickname the form remembers; then a kick
	// is the end too.
	b.do(t, "joining again", chromedp.Click(chromedp.ID("join-button")))
	ncUser.expect(t, "the page's user rejoining", "*** webuser2 joined")
	page.waitStatus(t, "connected as webuser2")
	ncUser.send(t, "/auth "+adminToken)
	ncUser.expect(t, "admin rights", "*** you are an admin now: /kick, /ban, /unban and /bans are yours, and /who says where each is from")
	ncUser.send(t, "/kick webuser2 test over")
	ncUser.expect(t, "the kick", "*** webuser2 was kicked by nc-user (test over)")
	page.waitJoinForm(t, "You were kicked by nc-user (test over).")
	page.waitStatus(t, "not connected")
	ncUser.send(t, "/who")
	ncUser.expect(t, "nc-user alone", "*** here (1): nc-user")
}

// waitJoinForm waits for the form to join to show, with the notice why.
func (p chatPage) waitJoinForm(t *testing.T, why string) {
	t.Helper()
	p.waitFor(t, fmt.Sprintf("the form to join, saying %q", why), `(why) => {
		const visible = (id) => document.getElementById(id).offsetParent !== null;
		return visible("join") && !visible("room") && !visible("text") &&
			document.getElementById("join-error").textContent === why;
	}`, why)
}

// TestChatBrowserCrowd fills the room past the size at which the server
// announces joins and leaves in batches ("*** joined: a, b, c" to nc, one
// event with the list to the page), and checks that the page's list of who
// is here follows: a crowd joining, half of it leaving at once, a kick
// and a rename.
func TestChatBrowserCrowd(t *testing.T) {
	t.Parallel()
	const adminToken = "e2e-admin-token"
	const crowd = 100
	srv := startServer(t, "", []string{"web/http", "chat/tcp"}, "serve", "--random-ports", "--json", "--only", "web,chat", "--admin-token", adminToken)
	addr := srv.addr(t, "chat/tcp")
	b := startBrowser(t)
	page := chatPage{b}
	b.do(t, "opening the chat page", chromedp.Navigate("http://"+srv.addr(t, "web/http")+"/chat"))
	b.do(t, "joining as webuser",
		chromedp.SendKeys(chromedp.ID("nick"), "webuser"),
		chromedp.Click(chromedp.ID("join-button")),
		chromedp.WaitVisible(chromedp.ID("text")),
	)
	page.waitWho(t, "the page's user alone", "webuser (you)")

	var users []*roomUser
	var want []string
	for i := range crowd {
		name := fmt.Sprintf("crowd%03d", i)
		users = append(users, joinRoom(t, "the server", addr, name))
		want = append(want, name)
	}
	page.waitWho(t, "the crowd", append(slices.Clone(want), "webuser (you)")...)
	// Past 64 members the joins came faster than one per window: some
	// were announced together.
	page.waitFor(t, "a line announcing several joins", `() => [...document.querySelectorAll("#log li")].some((li) => /, .* joined$/.test(li.textContent))`)
	for _, line := range users[0].log.linesFrom(0) {
		if strings.HasPrefix(line, "*** joined: ") {
			t.Logf("a batch as the line protocol has it: %q", line)
			break
		}
	}

	// Half the crowd hangs up at once.
	for _, u := range users[:crowd/2] {
		u.conn.Close()
	}
	users, want = users[crowd/2:], want[crowd/2:]
	page.waitWho(t, "half the crowd", append(slices.Clone(want), "webuser (you)")...)
	page.waitFor(t, "a line announcing several leaves", `() => [...document.querySelectorAll("#log li")].some((li) => /, .* left \(/.test(li.textContent))`)

	// A kick and a rename are announced as ever.
	admin := users[0]
	admin.send(t, "/auth "+adminToken)
	admin.expect(t, "admin rights", "*** you are an admin now: /kick, /ban, /unban and /bans are yours, and /who says where each is from")
	admin.send(t, "/kick "+users[1].name+" crowd control")
	page.waitLog(t, "the kick", users[1].name+" was kicked by "+admin.name+" (crowd control)")
	users[2].send(t, "/nick zed")
	page.waitLog(t, "the rename", users[2].name+" is now known as zed")
	want = append([]string{want[0]}, want[3:]...)
	page.waitWho(t, "after the kick and the rename", append(slices.Clone(want), "webuser (you)", "zed")...)

	// Everyone else leaves.
	for _, u := range users {
		u.conn.Close()
	}
	page.waitWho(t, "the page's user alone again", "webuser (you)")
}
