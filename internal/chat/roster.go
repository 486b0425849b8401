package chat

import (
	"strconv"
	"strings"
)

// RosterChange is what one server line of the TCP protocol says about who
// is here, for clients that keep a who-list. A client applies Set, then
// Remove, then Add.
type RosterChange struct {
	// Set, when not nil, replaces the list (welcome and /who lines; it
	// may be only the first names of a large room).
	Set []string
	// Remove and Add name those who left and joined: one each for a
	// single announcement, many for a batch ("*** joined: a, b, c").
	Remove, Add []string
	// Rename says that Remove[0] is now known as Add[0].
	Rename bool
	// Count is how many are here in all, with Set: more than len(Set)
	// when the line names only the first of a large room.
	Count int
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
		count := len(names)
		if _, after, ok := strings.Cut(rest, "here ("); ok {
			if n, _, ok := strings.Cut(after, ")"); ok {
				if c, err := strconv.Atoi(n); err == nil && c > count {
					count = c
				}
			}
		}
		return RosterChange{Set: names, Count: count}, names != nil
	}
	// Batches: "joined: a, b" and "left (REASON): a, b". The reason is
	// free text, so the list starts after the last "): ", which no
	// nickname contains.
	if list, ok := strings.CutPrefix(rest, "joined: "); ok {
		names, ok := nickList(list)
		return RosterChange{Add: names}, ok
	}
	if strings.HasPrefix(rest, "left (") {
		if i := strings.LastIndex(rest, "): "); i >= 0 {
			names, ok := nickList(rest[i+len("): "):])
			return RosterChange{Remove: names}, ok
		}
	}
	nick, verb, ok := strings.Cut(rest, " ")
	if !ok || !validNick(nick) {
		return RosterChange{}, false
	}
	switch {
	case verb == "joined":
		return RosterChange{Add: []string{nick}}, true
	case strings.HasPrefix(verb, "left ("), strings.HasPrefix(verb, "was kicked by "):
		return RosterChange{Remove: []string{nick}}, true
	case strings.HasPrefix(verb, "is now known as "):
		newNick := strings.TrimPrefix(verb, "is now known as ")
		if !validNick(newNick) {
			return RosterChange{}, false
		}
		return RosterChange{Remove: []string{nick}, Add: []string{newNick}, Rename: true}, true
	}
	return RosterChange{}, false
}

// nickList splits "a, b, c", reporting false unless every name is a
// nickname.
func nickList(list string) ([]string, bool) {
	names := strings.Split(list, ", ")
	for _, n := range names {
		if !validNick(n) {
			return nil, false
		}
	}
	return names, true
}

// validNick reports whether n can be someone in the room: a valid
// nickname, or an instance's console admin.
func validNick(n string) bool {
	return CheckNick(n) == nil || strings.EqualFold(n, AdminNick)
}
