// Package tui is the full-screen terminal client of netkit's chat: a
// scrolling history, an input line and the who-list, built with bubbletea.
// It speaks the same line protocol as nc; the connection is the caller's,
// which tells the model when it drops (DisconnectedMsg), comes back
// (ConnectedMsg) or is given up (GaveUpMsg). Long lines wrap.
package tui

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/textinput"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/netkit/netkit/internal/chat"
)

// Bounds on what the client keeps.
const (
	maxLines     = 2000
	sidebarWidth = 20
)

// LineMsg is a line the server sent.
type LineMsg string

// ClosedMsg says the connection ended, and why, for good: the model waits
// for a key and quits.
type ClosedMsg struct{ Err error }

// DisconnectedMsg says the connection dropped and the caller tries again,
// attempt Attempt of Of, in Wait.
type DisconnectedMsg struct {
	Err         error
	Attempt, Of int
	Wait        time.Duration
}

// ConnectedMsg says the caller joined again, as Nick, with the server's
// welcome line.
type ConnectedMsg struct {
	Nick, Welcome string
}

// GaveUpMsg says the caller stopped trying: the model shows why and quits.
type GaveUpMsg struct{ Err error }

var (
	eventStyle   = lipgloss.NewStyle().Faint(true)
	errorStyle   = lipgloss.NewStyle().Foreground(lipgloss.Color("9"))
	privateStyle = lipgloss.NewStyle().Foreground(lipgloss.Color("5"))
	nickStyle    = lipgloss.NewStyle().Bold(true)
	sideStyle    = lipgloss.NewStyle().Width(sidebarWidth).BorderLeft(true).Border(lipgloss.NormalBorder(), false, false, false, true).PaddingLeft(1)
	statusStyle  = lipgloss.NewStyle().Reverse(true)
)

// Model is the client's state. Send writes one line to the server; it is
// called from Update and must not block for long.
type Model struct {
	send   func(string)
	nick   string
	addr   string
	vp     viewport.Model
	input  textinput.Model
	lines  []string
	who    []string
	width  int
	height int
	closed error
	ended  bool
	// down is set while the connection is being reestablished.
	down bool
	// asked is set once the model has asked for the whole who-list, the
	// welcome naming only the first of a large room; hide hides the
	// answer, which fills the who-list rather than the history.
	asked, hide bool
}

// New returns the model for a client joined as nick at addr.
func New(nick, addr string, send func(string)) *Model {
	in := textinput.New()
	in.Placeholder = "type a message, /help for commands"
	in.CharLimit = chat.MaxTextLen
	in.Focus()
	vp := viewport.New()
	vp.SoftWrap = true // a long line wraps rather than running off the edge
	m := &Model{send: send, nick: nick, addr: addr, vp: vp, input: in, width: 80, height: 24}
	m.layout()
	return m
}

// Init starts the cursor blinking.
func (m *Model) Init() tea.Cmd { return textinput.Blink }

// Update handles keys, resizes and lines from the server.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return m, nil
	case LineMsg:
		m.addLine(string(msg))
		return m, nil
	case ClosedMsg:
		m.closed = msg.Err
		m.ended = true
		text := "*** connection closed; press any key to leave"
		if msg.Err != nil {
			text = "*** connection lost: " + msg.Err.Error() + "; press any key to leave"
		}
		m.addLine(text)
		return m, nil
	case DisconnectedMsg:
		m.down = true
		why := "connection lost"
		if msg.Err != nil {
			why += ": " + msg.Err.Error()
		}
		m.addLine("*** " + why + "; reconnecting in " + msg.Wait.String() + " (" + strconv.Itoa(msg.Attempt) + " of " + strconv.Itoa(msg.Of) + ")")
		return m, nil
	case ConnectedMsg:
		m.down = false
		if msg.Nick != m.nick {
			m.addLine("*** " + m.nick + " is taken; you are " + msg.Nick + " now")
			m.nick = msg.Nick
		}
		m.addLine("*** reconnected")
		m.asked = false
		m.addLine(msg.Welcome)
		return m, nil
	case GaveUpMsg:
		m.ended, m.closed = true, msg.Err
		m.addLine("*** gave up: " + msg.Err.Error())
		return m, tea.Quit
	case tea.KeyPressMsg:
		if m.ended {
			return m, tea.Quit
		}
		switch msg.String() {
		case "ctrl+c", "esc":
			m.send("/quit")
			return m, tea.Quit
		case "enter":
			text := strings.TrimSpace(m.input.Value())
			if text == "" {
				return m, nil
			}
			if m.down && !strings.EqualFold(text, "/quit") {
				// Kept in the input, to send once connected again.
				m.addLine("*** not connected: not sent; Enter again once reconnected")
				return m, nil
			}
			m.input.SetValue("")
			m.send(text)
			if strings.EqualFold(text, "/quit") || strings.HasPrefix(strings.ToLower(text), "/quit ") {
				return m, tea.Quit
			}
			return m, nil
		case "pgup", "pgdown", "up", "down", "home", "end":
			var cmd tea.Cmd
			m.vp, cmd = m.vp.Update(msg)
			return m, cmd
		}
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return m, cmd
}

func (m *Model) layout() {
	m.vp.SetWidth(max(m.width-sidebarWidth-2, 10))
	m.vp.SetHeight(max(m.height-2, 1))
	m.input.SetWidth(max(m.width-4, 10))
	m.refresh(true)
}

// addLine keeps a server line, styled, and follows the who-list changes it
// announces.
func (m *Model) addLine(line string) {
	if rc, ok := chat.ParseRoster(line); ok {
		m.applyRoster(rc)
		switch {
		case rc.Set != nil && rc.Count > len(rc.Set) && !m.asked:
			m.asked, m.hide = true, true
			m.send("/who")
		case rc.Set != nil && m.hide && strings.HasPrefix(line, "*** here ("):
			m.hide = false
			m.refresh(m.vp.AtBottom())
			return
		}
	}
	atBottom := m.vp.AtBottom()
	m.lines = append(m.lines, style(line))
	if len(m.lines) > maxLines {
		m.lines = slices.Delete(m.lines, 0, len(m.lines)-maxLines)
	}
	m.refresh(atBottom)
}

func (m *Model) applyRoster(rc chat.RosterChange) {
	if rc.Set != nil {
		m.who = slices.Clone(rc.Set)
	}
	if len(rc.Remove) > 0 {
		gone := make(map[string]bool, len(rc.Remove))
		for _, n := range rc.Remove {
			gone[strings.ToLower(n)] = true
		}
		m.who = slices.DeleteFunc(m.who, func(n string) bool { return gone[strings.ToLower(n)] })
		if rc.Rename && strings.EqualFold(rc.Remove[0], m.nick) {
			m.nick = rc.Add[0]
		}
	}
	if len(rc.Add) > 0 {
		here := make(map[string]bool, len(m.who))
		for _, n := range m.who {
			here[strings.ToLower(n)] = true
		}
		for _, n := range rc.Add {
			if !here[strings.ToLower(n)] {
				here[strings.ToLower(n)] = true
				m.who = append(m.who, n)
			}
		}
	}
	slices.SortFunc(m.who, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
}

func (m *Model) refresh(follow bool) {
	m.vp.SetContent(strings.Join(m.lines, "\n"))
	if follow {
		m.vp.GotoBottom()
	}
}

func style(line string) string {
	switch {
	case strings.HasPrefix(line, "*** "), strings.HasPrefix(line, "* "):
		return eventStyle.Render(line)
	case strings.HasPrefix(line, "error: "):
		return errorStyle.Render(line)
	case strings.HasPrefix(line, "[private]"):
		return privateStyle.Render(line)
	case strings.HasPrefix(line, "<"):
		if i := strings.Index(line, "> "); i > 0 {
			return nickStyle.Render(line[:i+1]) + line[i+1:]
		}
	}
	return line
}

// View draws the history beside the who-list, a status bar and the input.
func (m *Model) View() tea.View {
	var side strings.Builder
	side.WriteString(nickStyle.Render("here") + "\n")
	for i, n := range m.who {
		if i == m.vp.Height()-2 && len(m.who) > i+1 {
			side.WriteString("…\n")
			break
		}
		if strings.EqualFold(n, m.nick) {
			n += " (you)"
		}
		side.WriteString(n + "\n")
	}
	body := lipgloss.JoinHorizontal(lipgloss.Top, m.vp.View(), sideStyle.Height(m.vp.Height()).Render(side.String()))
	status := " netkit chat · " + m.nick + " @ " + m.addr + " · " + strconv.Itoa(len(m.who)) + " here · PgUp/PgDn scroll · Esc quits"
	switch {
	case m.ended:
		status = " disconnected · press any key"
	case m.down:
		status = " reconnecting to " + m.addr + " · Esc quits"
	}
	if len(status) < m.width {
		status += strings.Repeat(" ", m.width-len(status))
	}
	v := tea.NewView(body + "\n" + statusStyle.Render(status) + "\n" + m.input.View())
	v.AltScreen = true
	return v
}
