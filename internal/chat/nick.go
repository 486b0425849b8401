package chat

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// What a nickname may be, and when two are the same.

var reserved = map[string]bool{
	"admin": true, "server": true, "system": true, "root": true,
	"operator": true, "netkit": true, "everyone": true, "all": true,
}

// CheckNick reports whether nick may be used: 1 to 24 characters, letters,
// digits, '-', '_' and '.', starting with a letter or digit, and not one of
// the reserved names (compared case-insensitively).
func CheckNick(nick string) error {
	n := utf8.RuneCountInString(nick)
	if !utf8.ValidString(nick) || n < MinNickLen || n > MaxNickLen {
		return fmt.Errorf("%w: use %d to %d letters, digits, '-', '_' or '.'", ErrNickInvalid, MinNickLen, MaxNickLen)
	}
	for i, r := range nick {
		ok := unicode.IsLetter(r) || unicode.IsDigit(r) || (i > 0 && (r == '-' || r == '_' || r == '.'))
		if !ok {
			return fmt.Errorf("%w: %q is not allowed there; use letters, digits, '-', '_' or '.'", ErrNickInvalid, r)
		}
	}
	if reserved[strings.ToLower(nick)] {
		return fmt.Errorf("%w: %q", ErrNickReserved, nick)
	}
	return nil
}

// foldNick is the key under which nicknames are compared: "Bob" and "bob"
// are the same person.
func foldNick(nick string) string { return strings.ToLower(nick) }
