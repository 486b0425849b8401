package tui

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

func press(m *Model, key string) tea.Cmd {
	var msg tea.KeyPressMsg
	switch key {
	case "enter":
		msg = tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		msg = tea.KeyPressMsg{Code: tea.KeyEscape}
	default:
		msg = tea.KeyPressMsg{Code: rune(key[0]), Text: key}
	}
	_, cmd := m.Update(msg)
	return cmd
}

func typeText(m *Model, s string) {
	for _, r := range s {
		press(m, string(r))
	}
}

func TestModel(t *testing.T) {
	var sent []string
	m := New("alice", "127.0.0.1:7710", func(s string) { sent = append(sent, s) })
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 20})
	for _, l := range []string{
		"*** welcome, alice; here (2): alice, bob",
		"<bob> hi",
		"*** carol joined",
		"*** bob is now known as robert",
		"*** carol left (quit)",
	} {
		m.Update(LineMsg(l))
	}
	if got := strings.Join(m.who, ","); got != "alice,robert" {
		t.Errorf("who = %q, want alice,robert", got)
	}
	view := m.View().Content
	for _, want := range []string{"hi", "carol left", "robert", "alice (you)", "2 here"} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}

	typeText(m, "hello all")
	press(m, "enter")
	if len(sent) != 1 || sent[0] != "hello all" {
		t.Fatalf("sent %q", sent)
	}
	if m.input.Value() != "" {
		t.Errorf("input not cleared: %q", m.input.Value())
	}
	press(m, "enter") // empty input sends nothing
	if len(sent) != 1 {
		t.Errorf("empty line sent: %q", sent)
	}

	// A rename of our own nick follows us.
	m.Update(LineMsg("*** alice is now known as ali"))
	if m.nick != "ali" {
		t.Errorf("nick = %q after our rename", m.nick)
	}

	if cmd := press(m, "esc"); cmd == nil {
		t.Fatal("esc did not quit")
	}
	if sent[len(sent)-1] != "/quit" {
		t.Errorf("esc sent %q, want /quit", sent[len(sent)-1])
	}
}

func TestModelClosed(t *testing.T) {
	m := New("a", "x", func(string) {})
	m.Update(ClosedMsg{Err: errors.New("reset")})
	if !strings.Contains(m.View().Content, "connection lost: reset") {
		t.Error("closed connection not shown")
	}
	if cmd := press(m, "x"); cmd == nil {
		t.Error("a key after the end did not quit")
	}
}

func TestHistoryBounded(t *testing.T) {
	m := New("a", "x", func(string) {})
	for range maxLines + 100 {
		m.Update(LineMsg("<b> spam"))
	}
	if len(m.lines) != maxLines {
		t.Errorf("kept %d lines, want %d", len(m.lines), maxLines)
	}
}

// TestModelBatches follows a big room's who-list through batched joins and
// leaves, a leave of someone whose join came in the same burst, a kick and
// a rename, as the server announces them.
func TestModelBatches(t *testing.T) {
	m := New("alice", "x", func(string) {})
	tests := []struct {
		line string
		want string
	}{
		{"*** welcome, alice; here (3): alice, bob, carol", "alice,bob,carol"},
		{"*** joined: dave, erin, frank", "alice,bob,carol,dave,erin,frank"},
		{"*** joined: Gina, alice", "alice,bob,carol,dave,erin,frank,Gina"}, // ourselves, in the batch of our join: no double
		{"*** joined: hank", "alice,bob,carol,dave,erin,frank,Gina,hank"},
		{"*** left (quit): dave, hank", "alice,bob,carol,erin,frank,Gina"},
		{"*** left (quit: see you): later): erin", "alice,bob,carol,frank,Gina"},
		{"*** left (timeout): nobody", "alice,bob,carol,frank,Gina"},
		{"*** frank was kicked by admin (spam)", "alice,bob,carol,Gina"},
		{"*** gina is now known as ginny", "alice,bob,carol,ginny"},
		{"<bob> *** joined: mallory", "alice,bob,carol,ginny"},
		{"*** alice is now known as ali", "ali,bob,carol,ginny"},
	}
	for _, tt := range tests {
		m.Update(LineMsg(tt.line))
		if got := strings.Join(m.who, ","); got != tt.want {
			t.Errorf("after %q: who = %q, want %q", tt.line, got, tt.want)
		}
	}
	if m.nick != "ali" {
		t.Errorf("nick = %q after our rename", m.nick)
	}
	if !strings.Contains(m.View().Content, "4 here") {
		t.Errorf("view lacks the count:\n%s", m.View().Content)
	}
}

// TestModelBigRoom checks that a welcome naming only the first of a large
// room makes the model ask for the whole list once, and that the answer
// fills the who-list without flooding the history.
func TestModelBigRoom(t *testing.T) {
	var sent []string
	m := New("alice", "x", func(s string) { sent = append(sent, s) })
	m.Update(LineMsg("*** welcome, alice; here (4): alice, bob and 2 more"))
	if !slices.Equal(sent, []string{"/who"}) {
		t.Fatalf("sent %q, want one /who", sent)
	}
	m.Update(LineMsg("*** here (4): alice, bob, carol, dave"))
	if got := strings.Join(m.who, ","); got != "alice,bob,carol,dave" {
		t.Errorf("who = %q", got)
	}
	if len(m.lines) != 1 {
		t.Errorf("history %q, want the welcome alone", m.lines)
	}
	m.Update(LineMsg("*** here (4): alice, bob, carol, dave")) // a /who the user typed
	m.Update(LineMsg("*** welcome, alice; here (5): alice, bob and 3 more"))
	if len(sent) != 1 || len(m.lines) != 3 {
		t.Errorf("sent %q, history %q: asked again, or hid a /who the user typed", sent, m.lines)
	}
}

// TestModelWraps checks that a line longer than the history is wide wraps:
// its end shows (issue 13, item 12).
func TestModelWraps(t *testing.T) {
	m := New("a", "x", func(string) {})
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.Update(LineMsg("<b> START" + strings.Repeat("M", 120) + "END"))
	view := m.View().Content
	if !strings.Contains(view, "END") || !strings.Contains(view, "START") {
		t.Errorf("a long line is cut off:\n%s", view)
	}
}

// TestModelReconnects follows a dropped connection: the history says so,
// typing is kept while down, the welcome comes back, and a change of nick
// is shown; giving up quits.
func TestModelReconnects(t *testing.T) {
	var sent []string
	m := New("alice", "x", func(s string) { sent = append(sent, s) })
	m.Update(LineMsg("*** welcome, alice; here (2): alice, bob"))
	m.Update(DisconnectedMsg{Err: errors.New("EOF"), Attempt: 1, Of: 3, Wait: 500 * time.Millisecond})
	if v := m.View().Content; !strings.Contains(v, "connection lost: EOF; reconnecting in 500ms (1 of 3)") || !strings.Contains(v, "reconnecting to x") {
		t.Errorf("drop not shown:\n%s", v)
	}
	typeText(m, "still there?")
	press(m, "enter")
	if len(sent) != 0 || m.input.Value() != "still there?" {
		t.Errorf("while down: sent %q, input %q; want nothing sent and the text kept", sent, m.input.Value())
	}
	m.Update(ConnectedMsg{Nick: "alice", Welcome: "*** welcome, alice; here (1): alice"})
	press(m, "enter")
	if !slices.Equal(sent, []string{"still there?"}) {
		t.Errorf("after reconnecting: sent %q", sent)
	}
	if got := strings.Join(m.who, ","); got != "alice" {
		t.Errorf("who = %q after the new welcome", got)
	}
	m.Update(ConnectedMsg{Nick: "alice_", Welcome: "*** welcome, alice_; here (2): alice, alice_"})
	if m.nick != "alice_" || !strings.Contains(m.View().Content, "alice is taken; you are alice_ now") {
		t.Errorf("nick %q; view:\n%s", m.nick, m.View().Content)
	}
	if _, cmd := m.Update(GaveUpMsg{Err: errors.New("no answer after 3 tries")}); cmd == nil {
		t.Error("giving up did not quit")
	}
}
