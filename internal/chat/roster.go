package chat

import "strings"

// RosterChange is what one server line of the TCP protocol says about who
// is here, for clients that keep a who-list.
type RosterChange struct {
	// Set, when not nil, replaces the list (welcome and /who lines; it
	// may be only the first names of a large room).
	Set []string
	// Add and Remove name one member each.
	Add, Remove string
}

// ParseRoster reads a server line and reports how it changes the who-list,
// or false if it does not. Only lines starting with "*** " come from the
// server itself; messages start with "<", "* " or "[private]", so a user
// cannot forge a roster line.
func ParseRoster(line string) (RosterChange, bool) {
	rest, ok := strings.CutPrefix(line, "*** ")
	if !ok {
		return RosterChange{}, false
	}
	if strings.HasPrefix(rest, "welcome, ") || strings.HasPrefix(rest, "here (") {
		_, list, ok := strings.Cut(rest, "): ")
		if !ok {
			return RosterChange{}, false
		}
		list, _, _ = strings.Cut(list, " and ")
		var names []string
		for _, n := range strings.Split(list, ", ") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
		return RosterChange{Set: names}, names != nil
	}
	nick, verb, ok := strings.Cut(rest, " ")
	if !ok || CheckNick(nick) != nil && !strings.EqualFold(nick, AdminNick) {
		return RosterChange{}, false
	}
	switch {
	case verb == "joined":
		return RosterChange{Add: nick}, true
	case strings.HasPrefix(verb, "left ("), strings.HasPrefix(verb, "was kicked by "):
		return RosterChange{Remove: nick}, true
	case strings.HasPrefix(verb, "is now known as "):
		newNick := strings.TrimPrefix(verb, "is now known as ")
		return RosterChange{Remove: nick, Add: newNick}, true
	}
	return RosterChange{}, false
}
