package chat

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mtibben/confusables"
	"golang.org/x/text/secure/precis"
)

// What a nickname may be, and when two are the same.
//
// A nickname is enforced as RFC 8266 (the PRECIS Nickname profile) says:
// compatibility and width forms are folded (NFKC: "Ｂｏｂ" is "Bob"), and
// two nicknames are the same person when they compare equal under it,
// case aside. On top of that, netkit allows letters, marks after a
// letter, digits, and '-', '_', '.' after the first character; all the
// letters of one script (Han may go with Hiragana and Katakana, or with
// Hangul, as Japanese and Korean are written); and no nickname that looks
// like another in the room or a reserved one: two look alike when their
// confusable skeletons (Unicode UTS #39, from the confusables data of
// github.com/mtibben/confusables) are equal, with or without case folded,
// so that "аdmin" with a Cyrillic "а" is not "admin", nor "aIice" with a
// capital I "alice".

// ErrNickConfusable is returned for a nickname that looks like the
// nickname of someone in the room.
var ErrNickConfusable = errors.New("chat: nickname looks like another")

var reserved = map[string]bool{
	"admin": true, "server": true, "system": true, "root": true,
	"operator": true, "netkit": true, "everyone": true, "all": true,
}

// reservedLooks maps the look keys of the reserved names to them.
var reservedLooks = func() map[string]string {
	m := make(map[string]string)
	for r := range reserved {
		for _, k := range lookKeys(r) {
			m[k] = r
		}
	}
	return m
}()

// NormalizeNick returns nick as the room shows it, enforced as RFC 8266
// says, or why it may not be used: 1 to 24 characters, letters, digits,
// '-', '_' and '.', starting with a letter or digit, in one script, and
// neither a reserved name nor like one. Whether someone in the room has
// it, or one like it, is the Hub's to say.
func NormalizeNick(nick string) (string, error) {
	if !utf8.ValidString(nick) {
		return "", fmt.Errorf("%w: not UTF-8", ErrNickInvalid)
	}
	n, err := precis.Nickname.String(nick)
	if err != nil {
		// PRECIS refuses control, format and unassigned characters, and
		// the empty name; say what netkit allows instead.
		n = ""
		for _, r := range nick {
			if !allowedNickRune(r, len(n) > 0) {
				return "", fmt.Errorf("%w: %q is not allowed there; use letters, digits, '-', '_' or '.'", ErrNickInvalid, r)
			}
			n += string(r)
		}
		return "", fmt.Errorf("%w: use %d to %d letters, digits, '-', '_' or '.'", ErrNickInvalid, MinNickLen, MaxNickLen)
	}
	if c := utf8.RuneCountInString(n); c < MinNickLen || c > MaxNickLen {
		return "", fmt.Errorf("%w: use %d to %d letters, digits, '-', '_' or '.'", ErrNickInvalid, MinNickLen, MaxNickLen)
	}
	for i, r := range n {
		if !allowedNickRune(r, i > 0) {
			return "", fmt.Errorf("%w: %q is not allowed there; use letters, digits, '-', '_' or '.'", ErrNickInvalid, r)
		}
	}
	if reserved[foldNick(n)] {
		return "", fmt.Errorf("%w: %q", ErrNickReserved, n)
	}
	for _, k := range lookKeys(n) {
		if r, ok := reservedLooks[k]; ok {
			return "", fmt.Errorf("%w: %q looks like the reserved name %q", ErrNickReserved, n, r)
		}
	}
	if s := mixedScripts(n); s != "" {
		return "", fmt.Errorf("%w: %q mixes scripts (%s); use one", ErrNickInvalid, n, s)
	}
	return n, nil
}

// CheckNick reports whether nick may be used, as NormalizeNick does.
func CheckNick(nick string) error {
	_, err := NormalizeNick(nick)
	return err
}

// allowedNickRune reports whether r may be in a nickname, after its first
// character when later.
func allowedNickRune(r rune, later bool) bool {
	switch {
	case unicode.IsLetter(r), unicode.IsDigit(r):
		return true
	case later && unicode.IsMark(r):
		return true
	case later && (r == '-' || r == '_' || r == '.'):
		return true
	}
	return false
}

// foldNick is the key under which nicknames are compared: "Bob", "bob"
// and "Ｂｏｂ" are the same person (RFC 8266 comparison).
func foldNick(nick string) string {
	ascii := true
	for i := 0; i < len(nick); i++ {
		if nick[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		// What PRECIS comes to for the ASCII a nickname may hold.
		return strings.ToLower(nick)
	}
	if k, err := precis.Nickname.CompareKey(nick); err == nil {
		return k
	}
	return strings.ToLower(nick)
}

// lookKeys returns the keys under which nick is confusable with others:
// its UTS #39 skeleton with case folded before and after ("ADMIN",
// "аdmin", "r00t" whose zeros map to O), and as typed ("aIice" with a
// capital I), since folding case first would hide the capital I's
// likeness to l.
func lookKeys(nick string) [2]string {
	return [2]string{"l:" + strings.ToLower(confusables.Skeleton(foldNick(nick))), "c:" + confusables.Skeleton(nick)}
}

// scriptNames lists the scripts of package unicode but Common and
// Inherited (digits, punctuation, marks), which go with any script.
var scriptNames = func() []string {
	var names []string
	for n := range unicode.Scripts {
		if n != "Common" && n != "Inherited" {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}()

// augmented lists, for the scripts written together with others, the
// sets they belong to (UTS #39's augmented script sets: Japanese, Korean,
// and Han with Bopomofo).
var augmented = map[string][]string{
	"Han":      {"Han", "Jpan", "Kore", "Hanb"},
	"Hiragana": {"Hiragana", "Jpan"},
	"Katakana": {"Katakana", "Jpan"},
	"Hangul":   {"Hangul", "Kore"},
	"Bopomofo": {"Bopomofo", "Hanb"},
}

// mixedScripts returns the scripts nick mixes, as "Cyrillic and Latin",
// or "" if it is of one (UTS #39's single-script test).
func mixedScripts(nick string) string {
	var set []string // the scripts every letter so far may belong to
	var seen []string
	for _, r := range nick {
		s := scriptOf(r)
		if s == "" {
			continue
		}
		if !slices.Contains(seen, s) {
			seen = append(seen, s)
		}
		sets := augmented[s]
		if sets == nil {
			sets = []string{s}
		}
		if set == nil {
			set = slices.Clone(sets)
			continue
		}
		set = slices.DeleteFunc(set, func(x string) bool { return !slices.Contains(sets, x) })
	}
	if set != nil && len(set) == 0 {
		slices.Sort(seen)
		return strings.Join(seen, " and ")
	}
	return ""
}

// scriptOf returns the script of r, or "" for Common and Inherited.
func scriptOf(r rune) string {
	if r < 0x80 {
		if unicode.IsLetter(r) {
			return "Latin"
		}
		return ""
	}
	for _, n := range scriptNames {
		if unicode.Is(unicode.Scripts[n], r) {
			return n
		}
	}
	return ""
}
