package wire

import (
	"fmt"
	"path/filepath"
	"unicode"
	"unicode/utf8"
)

// SanitizeName vets a file name received in a transfer before a receiver
// opens anything by it in its folder. It returns the name unchanged when it
// is a plain base name, and otherwise fails with ErrBadName wrapped with
// the reason: an empty name, "." or "..", a name longer than MaxName bytes,
// invalid UTF-8, a path separator ('/' or '\\', which also rules out
// absolute paths on Unix and Windows alike), NUL or any other control
// character (C0, DEL, C1), a Unicode format character (category Cf:
// direction overrides such as U+202E, zero-width spaces and joiners,
// which make a name list as another), or a name filepath.IsLocal refuses on the
// receiving system (reserved device names such as NUL or COM1 on Windows).
//
// It refuses rather than repairs: the legacy sender sends only a base name,
// so anything else is a bug or an attack, and a repaired name ("../x" made
// "x") could overwrite a file the sender never named.
func SanitizeName(name string) (string, error) {
	if reason := badName(name); reason != "" {
		return "", fmt.Errorf("%w: %s", ErrBadName, reason)
	}
	return name, nil
}

// badName says what is wrong with name, or "" if nothing is.
func badName(name string) string {
	switch {
	case name == "":
		return "empty"
	case len(name) > MaxName:
		return fmt.Sprintf("%d bytes, more than %d", len(name), MaxName)
	case !utf8.ValidString(name):
		return "not valid UTF-8"
	case name == "." || name == "..":
		return fmt.Sprintf("%q is a directory", name)
	}
	for _, r := range name {
		switch {
		case r == '/' || r == '\\':
			return fmt.Sprintf("contains the path separator %q", r)
		case r == 0:
			return "contains NUL"
		case unicode.IsControl(r):
			return fmt.Sprintf("contains the control character %U", r)
		case unicode.Is(unicode.Cf, r):
			// Format characters: bidirectional overrides that make
			// "bidi\u202etxt.exe" list as "bidiexe.txt", zero-width
			// joiners and spaces that make two names look alike.
			return fmt.Sprintf("contains the invisible format character %U", r)
		}
	}
	if !filepath.IsLocal(name) {
		return "not a local file name on this system"
	}
	return ""
}
