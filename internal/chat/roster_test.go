package chat

import (
	"reflect"
	"testing"
)

func TestParseRoster(t *testing.T) {
	tests := []struct {
		line string
		want RosterChange
		ok   bool
	}{
		{"*** welcome, bob; here (2): alice, bob", RosterChange{Set: []string{"alice", "bob"}}, true},
		{"*** welcome, bob; here (300): a, b and 298 more", RosterChange{Set: []string{"a", "b"}}, true},
		{"*** here (3): admin, alice, bob", RosterChange{Set: []string{"admin", "alice", "bob"}}, true},
		{"*** carol joined", RosterChange{Add: "carol"}, true},
		{"*** carol left (quit: bye)", RosterChange{Remove: "carol"}, true},
		{"*** carol was kicked by admin (spam)", RosterChange{Remove: "carol"}, true},
		{"*** bob is now known as bobby", RosterChange{Remove: "bob", Add: "bobby"}, true},
		{"<mallory> *** eve joined", RosterChange{}, false},
		{"* mallory *** eve joined", RosterChange{}, false},
		{"*** server shutting down; goodbye", RosterChange{}, false},
		{"error: nickname is taken", RosterChange{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseRoster(tt.line)
		if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseRoster(%q) = %+v, %v; want %+v, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzParseRoster checks that only server lines change the roster, and that
// every events line the hub itself writes is understood.
func FuzzParseRoster(f *testing.F) {
	for _, s := range []string{"*** a joined", "*** here (1): a", "<a> b", "*** a is now known as b", "*** welcome, x; here (0): "} {
		f.Add(s, "bob")
	}
	f.Fuzz(func(t *testing.T, line, nick string) {
		if rc, ok := ParseRoster(line); ok && line[:4] != "*** " {
			t.Fatalf("non-server line %q changed the roster: %+v", line, rc)
		}
		if CheckNick(nick) != nil {
			return
		}
		for _, e := range []*Event{{Type: TypeJoin, Nick: nick}, {Type: TypeLeave, Nick: nick, Text: "quit"}, {Type: TypeKick, Nick: nick, By: "admin"}} {
			line := string(e.Line()[:len(e.Line())-1])
			rc, ok := ParseRoster(line)
			if !ok || (rc.Add != nick && rc.Remove != nick) {
				t.Fatalf("hub line %q not understood: %+v %v", line, rc, ok)
			}
		}
	})
}
