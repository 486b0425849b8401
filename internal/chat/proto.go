package chat

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what users send.
const (
	MaxNickLen = 24
	MinNickLen = 1
	// MaxTextLen bounds one message, in bytes after cleaning.
	MaxTextLen = 1024
)

var (
	// ErrNickInvalid is returned for a nickname with forbidden characters
	// or length.
	ErrNickInvalid = errors.New("chat: invalid nickname")
	// ErrNickReserved is returned for names that would impersonate the
	// server or its admin.
	ErrNickReserved = errors.New("chat: nickname is reserved")
	// ErrNickTaken is returned when someone already has the nickname.
	ErrNickTaken = errors.New("chat: nickname is taken")
	// ErrInvalidUTF8 is returned for a line that is not UTF-8.
	ErrInvalidUTF8 = errors.New("chat: line is not valid UTF-8")
	// ErrTooLong is returned for a message over MaxTextLen.
	ErrTooLong = errors.New("chat: message too long")
	// ErrUnknownCommand is returned for a /command the server does not know.
	ErrUnknownCommand = errors.New("chat: unknown command")
	// ErrUsage is returned for a known command with wrong arguments.
	ErrUsage = errors.New("chat: wrong use of command")
	// ErrNoSuchUser is returned when a command names someone not here.
	ErrNoSuchUser = errors.New("chat: no such user")
	// ErrNotAdmin is returned for an admin command from a user who is not.
	ErrNotAdmin = errors.New("chat: admin only")
	// ErrBanned is returned when a banned user or address tries to join.
	ErrBanned = errors.New("chat: banned")
)

// CleanText checks that line is UTF-8, strips control characters (a tab
// becomes a space) and surrounding space, and bounds the length.
//
// Invisible format characters (Unicode category Cf) are stripped too, as
// are the line and paragraph separators: the bidirectional overrides and
// isolates (U+202A-202E, U+2066-2069) that show text reversed, the marks
// U+200E and U+200F, zero-width spaces, the byte order mark, soft hyphens.
// Kept, because real text needs them: U+200D (zero width joiner) between
// two visible characters, as in emoji sequences (👩‍💻) and Indic
// scripts; U+200C (zero width non-joiner) between two letters, as in
// Persian; and the tag characters U+E0020-E007F right after a black flag
// U+1F3F4 or another tag, as in the flags of England or Scotland.
func CleanText(line []byte) (string, error) {
	if !utf8.Valid(line) {
		return "", ErrInvalidUTF8
	}
	out := clean(string(line))
	if len(out) > MaxTextLen {
		return "", fmt.Errorf("%w (limit %d bytes)", ErrTooLong, MaxTextLen)
	}
	return out, nil
}

// clean is CleanText for a string known to be UTF-8, with no bound on the
// length.
func clean(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	var prev rune = -1 // the last rune kept
	for i, r := range s {
		switch {
		case r == '\t':
			b.WriteByte(' ')
			prev = ' '
			continue
		case unicode.IsControl(r), r == '\u2028', r == '\u2029':
			// Dropped: terminal escapes, bidi tricks on newlines.
			continue
		case unicode.Is(unicode.Cf, r):
			next, size := utf8.DecodeRuneInString(s[i+utf8.RuneLen(r):])
			if size == 0 {
				next = -1
			}
			if !keepFormat(prev, r, next) {
				continue
			}
		}
		b.WriteRune(r)
		prev = r
	}
	return strings.TrimSpace(b.String())
}

// keepFormat reports whether the format character r, between the rune
// kept before it (-1 at the start) and the one after it, is one that real
// text needs there (see CleanText).
func keepFormat(prev, r, next rune) bool {
	visible := func(c rune) bool {
		return c > ' ' && !unicode.IsSpace(c) && !unicode.IsControl(c) && !unicode.Is(unicode.Cf, c)
	}
	letter := func(c rune) bool { return unicode.IsLetter(c) || unicode.IsMark(c) }
	switch {
	case r == '\u200d':
		return prev >= 0 && visible(prev) && visible(next)
	case r == '\u200c':
		return prev >= 0 && letter(prev) && letter(next)
	case r >= 0xE0020 && r <= 0xE007F:
		return prev == 0x1F3F4 || (prev >= 0xE0020 && prev <= 0xE007E)
	}
	return false
}

// Op is what a line asks for.
type Op int

// The operations a line can ask for.
const (
	OpSay Op = iota
	OpMe
	OpMsg
	OpNick
	OpWho
	OpQuit
	OpHelp
	OpKick
	OpBan
	OpUnban
	OpAuth
	OpBans
)

// Command is one parsed input line.
type Command struct {
	Op     Op
	Target string // nick or address for /msg, /nick, /kick, /ban
	Text   string // message, action, reason, or duration for /ban
}

// ParseLine turns one cleaned line into a Command. Lines not starting with
// '/' are messages; "//text" sends "/text" as a message.
func ParseLine(s string) (Command, error) {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") {
		return Command{Op: OpSay, Text: strings.TrimPrefix(s, "/")}, nil
	}
	name, rest, _ := strings.Cut(s[1:], " ")
	rest = strings.TrimSpace(rest)
	arg, tail, _ := strings.Cut(rest, " ")
	tail = strings.TrimSpace(tail)
	switch strings.ToLower(name) {
	case "say":
		if rest == "" {
			return Command{}, fmt.Errorf("%w: /say TEXT", ErrUsage)
		}
		return Command{Op: OpSay, Text: rest}, nil
	case "me":
		if rest == "" {
			return Command{}, fmt.Errorf("%w: /me ACTION", ErrUsage)
		}
		return Command{Op: OpMe, Text: rest}, nil
	case "msg", "w", "whisper":
		if arg == "" || tail == "" {
			return Command{}, fmt.Errorf("%w: /msg NICK TEXT", ErrUsage)
		}
		return Command{Op: OpMsg, Target: arg, Text: tail}, nil
	case "nick":
		if arg == "" || tail != "" {
			return Command{}, fmt.Errorf("%w: /nick NEWNAME", ErrUsage)
		}
		return Command{Op: OpNick, Target: arg}, nil
	case "who", "names":
		return Command{Op: OpWho}, nil
	case "quit", "exit":
		return Command{Op: OpQuit, Text: rest}, nil
	case "help", "?":
		return Command{Op: OpHelp}, nil
	case "kick":
		if arg == "" {
			return Command{}, fmt.Errorf("%w: /kick NICK [REASON]", ErrUsage)
		}
		return Command{Op: OpKick, Target: arg, Text: tail}, nil
	case "ban":
		if arg == "" {
			return Command{}, fmt.Errorf("%w: /ban NICK|IP|CIDR [DURATION]", ErrUsage)
		}
		return Command{Op: OpBan, Target: arg, Text: tail}, nil
	case "unban":
		if arg == "" {
			return Command{}, fmt.Errorf("%w: /unban NICK|IP|CIDR", ErrUsage)
		}
		return Command{Op: OpUnban, Target: arg}, nil
	case "bans":
		return Command{Op: OpBans}, nil
	case "auth":
		if arg == "" {
			return Command{}, fmt.Errorf("%w: /auth TOKEN", ErrUsage)
		}
		return Command{Op: OpAuth, Text: arg}, nil
	}
	return Command{}, fmt.Errorf("%w /%s; try /help", ErrUnknownCommand, name)
}

// HelpText lists the commands, one per line.
const HelpText = `commands:
  /who                 who is here
  /me ACTION           say what you do
  /msg NICK TEXT       a private message
  /nick NEWNAME        change your nickname
  /quit [MESSAGE]      leave
  /help                this list
admin only:
  /who                 who is here, and from where
  /kick NICK [REASON]  remove someone
  /ban NICK [DUR]      remove and keep the nickname out (default 1h)
  /ban IP|CIDR [DUR]   keep addresses out, removing all from them but you
  /unban NICK|IP|CIDR  lift a ban
  /bans                the bans in force, with the time left
  /auth TOKEN          become an admin (remote admin)`
