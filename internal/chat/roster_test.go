package chat

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseRoster(t *testing.T) {
	tests := []struct {
		name string
		line string
		want RosterChange
		ok   bool
	}{
		{"welcome", "*** welcome, bob; here (2): alice, bob", RosterChange{Set: []string{"alice", "bob"}, Count: 2}, true},
		{"welcome, big room", "*** welcome, bob; here (300): a, b and 298 more", RosterChange{Set: []string{"a", "b"}, Count: 300}, true},
		{"who", "*** here (3): admin, alice, bob", RosterChange{Set: []string{"admin", "alice", "bob"}, Count: 3}, true},
		{"join", "*** carol joined", RosterChange{Add: []string{"carol"}}, true},
		{"leave", "*** carol left (quit: bye)", RosterChange{Remove: []string{"carol"}}, true},
		{"kick", "*** carol was kicked by admin (spam)", RosterChange{Remove: []string{"carol"}}, true},
		{"rename", "*** bob is now known as bobby", RosterChange{Remove: []string{"bob"}, Add: []string{"bobby"}, Rename: true}, true},
		{"batch of joins", "*** joined: u1, u2, admin", RosterChange{Add: []string{"u1", "u2", "admin"}}, true},
		{"batch of leaves", "*** left (quit): u1, u2", RosterChange{Remove: []string{"u1", "u2"}}, true},
		{"batch of leaves, reason with the separator", "*** left (quit: x): mallory, eve): u1, u2", RosterChange{Remove: []string{"u1", "u2"}}, true},
		{"someone called left joins", "*** left joined", RosterChange{Add: []string{"left"}}, true},
		{"someone called left leaves", "*** left left (quit)", RosterChange{Remove: []string{"left"}}, true},
		{"batch with a bad name", "*** joined: u1, not a nick", RosterChange{}, false},
		{"empty batch", "*** joined: ", RosterChange{}, false},
		{"rename to a bad name", "*** bob is now known as bo b", RosterChange{}, false},
		{"message", "<mallory> *** eve joined", RosterChange{}, false},
		{"forged batch", "<mallory> *** joined: eve", RosterChange{}, false},
		{"action", "* mallory *** eve joined", RosterChange{}, false},
		{"notice", "*** server shutting down; goodbye", RosterChange{}, false},
		{"error", "error: nickname is taken", RosterChange{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseRoster(tt.line)
			if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseRoster(%q) = %+v, %v; want %+v, %v", tt.line, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// FuzzParseRoster checks that only server lines change the roster, and that
// every events line the hub itself writes is understood.
func FuzzParseRoster(f *testing.F) {
	for _, s := range []string{"*** a joined", "*** here (1): a", "<a> b", "*** a is now known as b", "*** welcome, x; here (0): ",
		"*** joined: a, b", "*** left (quit: x): y): a, b"} {
		f.Add(s, "bob")
	}
	f.Fuzz(func(t *testing.T, line, nick string) {
		if rc, ok := ParseRoster(line); ok && line[:4] != "*** " {
			t.Fatalf("non-server line %q changed the roster: %+v", line, rc)
		}
		if CheckNick(nick) != nil {
			return
		}
		for _, e := range []*Event{{Type: TypeJoin, Nick: nick}, {Type: TypeLeave, Nick: nick, Text: "quit"}, {Type: TypeKick, Nick: nick, By: "admin"},
			{Type: TypeJoin, Users: []string{"a", nick}}, {Type: TypeLeave, Users: []string{nick, "b"}, Text: line}} {
			if e.Type == TypeLeave && strings.ContainsAny(e.Text, "\n\r") {
				continue
			}
			line := string(e.Line()[:len(e.Line())-1])
			rc, ok := ParseRoster(line)
			if !ok || (!slices.Contains(rc.Add, nick) && !slices.Contains(rc.Remove, nick)) {
				t.Fatalf("hub line %q not understood: %+v %v", line, rc, ok)
			}
		}
	})
}

// TestListEvents checks that a batch is split into lines of at most
// MaxListLine, in order, with every name on exactly one of them, and that
// each line reads back as the names it carries.
func TestListEvents(t *testing.T) {
	var names []string
	for i := range 500 {
		names = append(names, fmt.Sprintf("user-%03d-%s", i, strings.Repeat("x", i%14)))
	}
	tests := []struct {
		name   string
		typ    string
		reason string
		names  []string
		events int // how many events, 0 for "more than one"
		single bool
	}{
		{"one join", TypeJoin, "", names[:1], 1, true},
		{"two joins", TypeJoin, "", names[:2], 1, false},
		{"many joins", TypeJoin, "", names, 0, false},
		{"many leaves", TypeLeave, "quit", names, 0, false},
		{"leaves with a reason too long for a list", TypeLeave, "quit: " + strings.Repeat("r", MaxTextLen), names[:3], 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs := listEvents(tt.typ, tt.reason, tt.names)
			if tt.events > 0 && len(evs) != tt.events || tt.events == 0 && len(evs) < 2 {
				t.Fatalf("%d events, want %d", len(evs), tt.events)
			}
			var got []string
			for _, e := range evs {
				line := e.Line()
				if !tt.single && len(line) > MaxListLine {
					t.Errorf("line of %d bytes, over %d: %q", len(line), MaxListLine, line)
				}
				if strings.Count(string(line), "\n") != 1 {
					t.Errorf("event %q is not one line", line)
				}
				if e.Type != tt.typ || (tt.single != (e.Nick != "")) {
					t.Errorf("event %+v", e)
				}
				rc, ok := ParseRoster(strings.TrimSuffix(string(line), "\n"))
				if !ok {
					t.Fatalf("line %q not understood", line)
				}
				if tt.typ == TypeJoin {
					got = append(got, rc.Add...)
				} else {
					got = append(got, rc.Remove...)
				}
			}
			if !slices.Equal(got, tt.names) {
				t.Errorf("names announced %q, want %q", got, tt.names)
			}
		})
	}
}
