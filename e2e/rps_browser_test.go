package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// rpsPage is the game's page at /rps open in a browser.
type rpsPage struct {
	*browser
}

// waitFor waits at most lineTimeout for the JavaScript function fn, called
// with args, to return true in the page, showing what the page showed on
// failure.
func (p rpsPage) waitFor(t *testing.T, what, fn string, args ...any) {
	t.Helper()
	p.poll(t, what, p.state, fn, args...)
}

// waitText waits for the element id to show exactly want.
func (p rpsPage) waitText(t *testing.T, id, want string) {
	t.Helper()
	p.waitFor(t, fmt.Sprintf("#%s to say %q", id, want),
		`(id, want) => document.getElementById(id).textContent === want`, id, want)
}

// waitLog waits for a line of the page's log that is exactly want.
func (p rpsPage) waitLog(t *testing.T, want string) {
	t.Helper()
	p.waitFor(t, fmt.Sprintf("the line %q in the log", want),
		`(want) => [...document.querySelectorAll("#log li")].some((li) => li.textContent === want)`, want)
}

// move waits for the page to ask for round's move, and clicks mv's button.
func (p rpsPage) move(t *testing.T, round int, mv string) {
	t.Helper()
	p.waitFor(t, fmt.Sprintf("round %d's prompt", round), `(want, mv) =>
		document.getElementById("round").textContent === want && !document.getElementById("move-" + mv).disabled`,
		fmt.Sprintf("round %d: your move", round), mv)
	p.do(t, fmt.Sprintf("playing %s in round %d", mv, round), chromedp.Click(chromedp.ID("move-"+mv)))
}

// state describes what the page shows, for a failure message.
func (p rpsPage) state() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	js, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](`(() => {
		const text = (id) => document.getElementById(id).textContent;
		return {
			status: text("status"), joinError: text("join-error"), opponent: text("opponent"),
			score: text("score-you") + ":" + text("score-them"), round: text("round"),
			result: text("result"), outcome: text("outcome"),
			log: [...document.querySelectorAll("#log li")].map((li) => li.textContent),
		};
	})()`))
	if err != nil {
		return fmt.Sprintf("(cannot read the page: %v)", err)
	}
	var s map[string]any
	if json.Unmarshal(js, &s) != nil {
		return string(js)
	}
	out, _ := json.MarshalIndent(s, "", "  ")
	return string(out)
}

// TestRPSBrowser has a person in headless Chromium play a whole game on
// the page at /rps (after a name the server refuses) against netkit's
// bot over TCP, which always plays
// rock: a draw, a win, a loss, then the page's WebSocket drops and it
// comes back to the same game with its token, and two more wins make
// 3:1. Both sides are told the result, the standings on the page and at
// /rps/standings.json have it, and a screenshot of the page is left in
// artifactDir.
func TestRPSBrowser(t *testing.T) {
	t.Parallel()
	curl := peer(t, "curl")
	srv := startServer(t, "", []string{"web/http", "rps/tcp"}, "serve", "--random-ports", "--json", "--only", "web,rps")
	web := "http://" + srv.addr(t, "web/http")
	b := startBrowser(t)
	page := rpsPage{b}

	b.do(t, "opening the rps page", chromedp.Navigate(web+"/rps"))
	page.waitText(t, "standings", "no game has finished yet")
	// A name the server refuses: the form says why, and takes another.
	b.do(t, "joining as rock", chromedp.SendKeys(chromedp.ID("name"), "rock"), chromedp.Click(chromedp.ID("play-button")))
	page.waitText(t, "join-error", `bad name "rock": that is a move; pick another name`)
	b.do(t, "joining as webplayer",
		chromedp.Evaluate[chromedp.Void](`document.getElementById("name").value = ""`),
		chromedp.SendKeys(chromedp.ID("name"), "webplayer"),
		chromedp.Click(chromedp.ID("play-button")),
		chromedp.WaitVisible(chromedp.ID("game")),
		chromedp.WaitNotVisible(chromedp.ID("join")),
	)
	page.waitText(t, "status", "connected as webplayer")
	page.waitText(t, "round", "waiting for an opponent (1 waiting, you included)…")
	wantMetrics(t, curl, web, map[string]string{"netkit_rps_players_waiting": "1", "netkit_rps_games_started_total": "0"})

	bot := start(t, netkitCmd(t, "rps", srv.addr(t, "rps/tcp"), "--name", "bot", "--auto", "rock"))
	page.waitText(t, "opponent", "bot")
	page.waitLog(t, "you play bot, first to 3 wins")
	wantMetrics(t, curl, web, map[string]string{"netkit_rps_players_waiting": "0", "netkit_rps_games_started_total": "1", "netkit_rps_games_in_play": "1"})

	type round struct {
		mv, outcome string
		score       string // the page's, after the round
	}
	rounds := []round{
		{"rock", "a draw", "0:0"},
		{"paper", "you win the round", "1:0"},
		{"scissors", "you lose the round", "1:1"},
		{"paper", "you win the round", "2:1"},
		{"paper", "you win the round", "3:1"},
	}
	for i, r := range rounds {
		n := i + 1
		if n == 5 {
			// The connection drops; the page comes back to its game
			// with its token, within the reconnect grace.
			b.do(t, "closing the page's WebSocket", chromedp.Evaluate[chromedp.Void](`ws.close()`))
			// The bot is told of the pause unless the page came back
			// before the server saw the old connection go; of the
			// return, always.
			bot.waitLine(t, "the page's player coming back", func(l string) bool { return l == "webplayer is back." })
			page.waitLog(t, "back in your game against bot")
			page.waitText(t, "status", "connected as webplayer")
		}
		page.move(t, n, r.mv)
		want := fmt.Sprintf("round %d: your %s, bot's rock: %s", n, r.mv, r.outcome)
		page.waitText(t, "result", want)
		page.waitLog(t, want)
		page.waitFor(t, fmt.Sprintf("the score %s after round %d", r.score, n), `(want) =>
			document.getElementById("score-you").textContent + ":" + document.getElementById("score-them").textContent === want`, r.score)
	}
	page.waitText(t, "outcome", "You won 3:1.")
	page.waitText(t, "round", "game over")
	page.waitLog(t, "you beat bot 3:1")
	page.waitFor(t, "the buttons off and Play again on", `() =>
		["rock", "paper", "scissors"].every((m) => document.getElementById("move-" + m).disabled) &&
		document.getElementById("again").offsetParent !== null`)

	// The bot's side of the same game.
	code, ok := bot.wait(runTimeout)
	if !ok || code != 0 {
		t.Fatalf("the bot: exit %d (exited: %v)\nstdout: %s\nstderr: %s", code, ok, bot.stdout, bot.stderr)
	}
	out := bot.stdout.String()
	for _, want := range []string{
		"You play webplayer; first to 3 wins.",
		"Round 1: your rock, webplayer's rock: a draw.",
		"Round 2: your rock, webplayer's paper: you lose the round.",
		"Round 3: your rock, webplayer's scissors: you win the round.",
		"Round 5: your rock, webplayer's paper: you lose the round.",
		"Score: you 1, webplayer 3.",
		"Game over: you lost 1:3 against webplayer.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the bot's output lacks %q:\n%s", want, out)
		}
	}

	// The standings: on the page, and as JSON for curl.
	page.waitFor(t, "the standings table", `() => {
		const rows = [...document.querySelectorAll("#standings tr")].map((tr) => [...tr.cells].map((td) => td.textContent).join(" "));
		return rows.length === 2 && /^1 webplayer \d+ 1 0 0$/.test(rows[0]) && /^2 bot \d+ 0 1 0$/.test(rows[1]);
	}`)
	status, ctype, body := curlGet(t, curl, web+"/rps/standings.json")
	if status != 200 || ctype != "application/json" {
		t.Fatalf("standings.json: status %d, Content-Type %q", status, ctype)
	}
	var st struct {
		Players []struct {
			Name   string  `json:"name"`
			Rating float64 `json:"rating"`
			Won    int     `json:"won"`
			Lost   int     `json:"lost"`
		} `json:"players"`
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("standings.json: %v\n%s", err, body)
	}
	if len(st.Players) != 2 || st.Players[0].Name != "webplayer" || st.Players[0].Won != 1 || st.Players[1].Name != "bot" || st.Players[1].Lost != 1 ||
		st.Players[0].Rating <= st.Players[1].Rating {
		t.Errorf("standings.json: %s, want webplayer 1 won above bot 1 lost", body)
	}

	wantMetrics(t, curl, web, map[string]string{
		"netkit_rps_games_started_total": "1", "netkit_rps_games_finished_total": "1", "netkit_rps_games_in_play": "0",
		"netkit_rps_players_waiting": "0", `netkit_rps_games_forfeited_total{reason="disconnected"}`: "0",
	})

	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shot := filepath.Join(artifactDir(t), "rps.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the rps page after the game: %s", shot)
}

// wantMetrics waits at most lineTimeout for /metrics on web to have each
// series of want at its value (a gauge may be set a moment after the line
// that the test saw), and fails the test with what it had otherwise.
func wantMetrics(t *testing.T, curl, web string, want map[string]string) {
	t.Helper()
	deadline := time.Now().Add(lineTimeout)
	for {
		status, _, body := curlGet(t, curl, web+"/metrics")
		if status != 200 {
			t.Fatalf("/metrics: status %d", status)
		}
		got := map[string]string{}
		for _, line := range strings.Split(body, "\n") {
			if k, v, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(k, "#") {
				got[k] = v
			}
		}
		var wrong []string
		for k, v := range want {
			if got[k] != v {
				wrong = append(wrong, fmt.Sprintf("%s = %q, want %q", k, got[k], v))
			}
		}
		if len(wrong) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics: %s", strings.Join(wrong, "; "))
		}
		time.Sleep(pollInterval)
	}
}
