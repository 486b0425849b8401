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
	TypeJoin    = "join"    // Nick joined; or, in a batch, Users joined
	TypeLeave   = "leave"   // Nick left, Text says why; or, in a batch, Users left
	TypeKick    = "kick"    // By removed Nick, Text says why
	TypeNick    = "nick"    // Nick is now NewNick
	TypeSystem  = "system"  // a notice from the server
	TypeError   = "error"   // something the recipient did failed
	TypeWho     = "who"     // Users are here
	TypeWelcome = "welcome" // Nick joined successfully; Users are here
	TypeHelp    = "help"    // Text is the list of commands
	TypeBans    = "bans"    // Text lists the bans in force, one a line (to admins)
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
	Count int `json:"count,omitempty"`
	// Addrs says, in an admin's TypeWho, where each of Users connects
	// from: an address, "console" or "another server".
	Addrs map[string]string `json:"addrs,omitempty"`
	// Until is when a ban passed between instances ends.
	Until time.Time `json:"until,omitzero"`
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
		if e.Nick == "" && len(e.Users) > 0 {
			return "*** joined: " + strings.Join(e.Users, ", ")
		}
		return "*** " + e.Nick + " joined"
	case TypeLeave:
		if e.Nick == "" && len(e.Users) > 0 {
			return "*** left (" + e.Text + "): " + strings.Join(e.Users, ", ")
		}
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
		s := fmt.Sprintf("*** here (%d): %s", max(e.Count, len(e.Users)), listNames(e.Users, e.Count))
		if len(e.Addrs) > 0 {
			// A line of its own, which clients keeping a who-list
			// ignore.
			from := make([]string, 0, len(e.Users))
			for _, n := range e.Users {
				from = append(from, n+" "+e.Addrs[n])
			}
			s += "\n*** from: " + strings.Join(from, ", ")
		}
		return s
	case TypeWelcome:
		return fmt.Sprintf("*** welcome, %s; here (%d): %s", e.Nick, max(e.Count, len(e.Users)), listNames(e.Users, e.Count))
	case TypeHelp, TypeBans:
		return "*** " + strings.ReplaceAll(e.Text, "\n", "\n*** ")
	}
	return "*** " + e.Text
}

// MaxListLine bounds a line that names several members who joined or left
// at once, its "\n" included: a batch that does not fit is announced on as
// many lines as it takes, every name on one of them.
const MaxListLine = 1024

// listEvents returns the events announcing that names joined (TypeJoin) or
// left for reason (TypeLeave), as few as fit in lines of MaxListLine. One
// name is announced as it would be alone, and so is each name when reason
// is too long to leave room for names on a line.
func listEvents(typ, reason string, names []string) []*Event {
	single := func(n string) *Event {
		if typ == TypeJoin {
			return &Event{Type: TypeJoin, Nick: n}
		}
		return &Event{Type: TypeLeave, Nick: n, Text: reason}
	}
	prefix := len("*** joined: ")
	if typ == TypeLeave {
		prefix = len("*** left (" + reason + "): ")
	}
	// Room for the names on one line: the prefix, then names joined by
	// ", ", then "\n".
	room := MaxListLine - prefix - 1
	if len(names) == 1 || room < 4*MaxNickLen {
		out := make([]*Event, len(names))
		for i, n := range names {
			out[i] = single(n)
		}
		return out
	}
	var out []*Event
	start, used := 0, 0
	emit := func(end int) {
		if end-start == 1 {
			out = append(out, single(names[start]))
		} else {
			e := &Event{Type: typ, Users: names[start:end:end]}
			if typ == TypeLeave {
				e.Text = reason
			}
			out = append(out, e)
		}
		start, used = end, 0
	}
	for i, n := range names {
		need := len(n)
		if i > start {
			need += len(", ")
		}
		if used+need > room && i > start {
			emit(i)
			need = len(n)
		}
		used += need
	}
	emit(len(names))
	return out
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
