package chat

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Event types, as they appear in the JSON "type" field.
const (
	TypeMsg     = "msg"     // From says Text to everyone
	TypeMe      = "me"      // From does Text
	TypePrivate = "private" // From says Text to To only
	TypeJoin    = "join"    // Nick joined
	TypeLeave   = "leave"   // Nick left, Text says why
	TypeKick    = "kick"    // By removed Nick, Text says why
	TypeNick    = "nick"    // Nick is now NewNick
	TypeSystem  = "system"  // a notice from the server
	TypeError   = "error"   // something the recipient did failed
	TypeWho     = "who"     // Users are here
	TypeWelcome = "welcome" // Nick joined successfully; Users are here
	TypeHelp    = "help"    // Text is the list of commands
)

// Event is one thing that happened in the room. It is immutable once
// published, so one Event is shared by every recipient; its encodings are
// computed once, on first use, whatever the number of recipients.
type Event struct {
	Type    string   `json:"type"`
	From    string   `json:"from,omitempty"`
	To      string   `json:"to,omitempty"`
	Nick    string   `json:"nick,omitempty"`
	NewNick string   `json:"new_nick,omitempty"`
	By      string   `json:"by,omitempty"`
	Text    string   `json:"text,omitempty"`
	Users   []string `json:"users,omitempty"`
	// Count is how many are here when Users lists only some of them.
	Count int       `json:"count,omitempty"`
	Time  time.Time `json:"time"`
	// Origin and Seq identify the instance that published the event and
	// its sequence there, so that events relayed between instances are
	// delivered exactly once.
	Origin string `json:"origin,omitempty"`
	Seq    uint64 `json:"seq,omitempty"`

	lineOnce, jsonOnce sync.Once
	line, js           []byte
}

// Line returns the event as one line of the TCP protocol, with its "\n".
func (e *Event) Line() []byte {
	e.lineOnce.Do(func() { e.line = []byte(e.format() + "\n") })
	return e.line
}

// JSON returns the event as a JSON object, for WebSocket clients.
func (e *Event) JSON() []byte {
	e.jsonOnce.Do(func() {
		b, err := json.Marshal(e)
		if err != nil {
			b = []byte(`{"type":"error","text":"unencodable event"}`)
		}
		e.js = b
	})
	return e.js
}

func (e *Event) format() string {
	switch e.Type {
	case TypeMsg:
		return "<" + e.From + "> " + e.Text
	case TypeMe:
		return "* " + e.From + " " + e.Text
	case TypePrivate:
		return "[private] <" + e.From + "> to " + e.To + ": " + e.Text
	case TypeJoin:
		return "*** " + e.Nick + " joined"
	case TypeLeave:
		return "*** " + e.Nick + " left (" + e.Text + ")"
	case TypeKick:
		s := "*** " + e.Nick + " was kicked by " + e.By
		if e.Text != "" {
			s += " (" + e.Text + ")"
		}
		return s
	case TypeNick:
		return "*** " + e.Nick + " is now known as " + e.NewNick
	case TypeSystem:
		return "*** " + e.Text
	case TypeError:
		return "error: " + e.Text
	case TypeWho:
		return fmt.Sprintf("*** here (%d): %s", max(e.Count, len(e.Users)), listNames(e.Users, e.Count))
	case TypeWelcome:
		return fmt.Sprintf("*** welcome, %s; here (%d): %s", e.Nick, max(e.Count, len(e.Users)), listNames(e.Users, e.Count))
	case TypeHelp:
		return "*** " + strings.ReplaceAll(e.Text, "\n", "\n*** ")
	}
	return "*** " + e.Text
}

// errorEvent is the event telling one user that what they did failed.
func errorEvent(err error) *Event {
	msg := strings.TrimPrefix(err.Error(), "chat: ")
	return &Event{Type: TypeError, Text: msg, Time: time.Now()}
}

// listNames joins names, saying how many more there are when they are only
// the first of count.
func listNames(names []string, count int) string {
	s := strings.Join(names, ", ")
	if count > len(names) {
		s += fmt.Sprintf(" and %d more", count-len(names))
	}
	return s
}
