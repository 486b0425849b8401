package timeproto

import (
	"bytes"
	"fmt"
	"strconv"
	"time"
)

// Command is a request line of netkit's time service. The zero value is not
// a command.
type Command int

const (
	// CommandTime ("TIME") asks for the time in UTC, formatted by FormatTime.
	CommandTime Command = iota + 1
	// CommandISO ("ISO") asks for the server's local time, formatted by
	// FormatISO.
	CommandISO
	// CommandQuit ("QUIT") asks the server to close the connection.
	CommandQuit
)

var commandNames = [...]string{
	CommandTime: "TIME",
	CommandISO:  "ISO",
	CommandQuit: "QUIT",
}

// String returns the command as sent on the wire, or "Command(n)" for a
// value that is not a command.
func (c Command) String() string {
	if c > 0 && int(c) < len(commandNames) {
		return commandNames[c]
	}
	return "Command(" + strconv.Itoa(int(c)) + ")"
}

// maxQuoted bounds how much of a bad line goes into an error message, so a
// long junk line does not make a long log entry.
const maxQuoted = 32

// ParseCommand decodes one command line. Case does not matter, and blanks
// around the command and a trailing "\n" or "\r\n" are ignored. Anything
// else, including an empty line, is ErrUnknownCommand.
func ParseCommand(line []byte) (Command, error) {
	word := bytes.Trim(trimEOL(line), " \t")
	for c := CommandTime; c <= CommandQuit; c++ {
		if equalFoldASCII(word, commandNames[c]) {
			return c, nil
		}
	}
	return 0, fmt.Errorf("%w %q", ErrUnknownCommand, clip(word))
}

// Layouts for the replies. Milliseconds are enough for a line protocol whose
// round trip is itself milliseconds; the fixed width keeps replies aligned.
const (
	timeLayout = "2006-01-02T15:04:05.000Z07:00"
	isoLayout  = "2006-01-02T15:04:05.000-07:00"
)

// FormatTime formats t as the reply to TIME: RFC 3339 in UTC with
// milliseconds (truncated), such as "2026-11-21T22:04:05.123Z", without a
// line ending. Only years 0 to 9999 can be parsed back.
func FormatTime(t time.Time) string {
	return t.UTC().Format(timeLayout)
}

// FormatISO formats t as the reply to ISO: ISO 8601 in the local time zone
// (t.Local()) with milliseconds (truncated) and a numeric offset, even for
// UTC, such as "2026-11-21T23:04:05.123+01:00", without a line ending. Only
// years 0 to 9999 can be parsed back.
//
// ISO 8601 offsets stop at minutes, so where the local offset has seconds
// (local mean time before a zone adopted standard time, such as -03:30:52
// in St. John's before 1935), t is shown at the offset cut to whole
// minutes: the wall clock then differs from the zone's by under a minute,
// but the line still names the instant t.
func FormatISO(t time.Time) string {
	t = t.Local()
	if _, off := t.Zone(); off%60 != 0 {
		t = t.In(time.FixedZone("", off-off%60))
	}
	return t.Format(isoLayout)
}

// ParseReply decodes a reply line written by FormatTime or FormatISO, or any
// other time that time.RFC3339Nano parses (RFC 3339, and a little more),
// ignoring a trailing "\n" or "\r\n". Malformed lines are ErrBadReply.
func ParseReply(line []byte) (time.Time, error) {
	s := trimEOL(line)
	t, err := time.Parse(time.RFC3339Nano, string(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("%w %q", ErrBadReply, clip(s))
	}
	return t, nil
}

// trimEOL removes one trailing "\n", then one trailing "\r".
func trimEOL(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r"))
}

// equalFoldASCII reports whether b equals the upper-case ASCII word up to
// ASCII case. Unlike bytes.EqualFold it does not let "ſ" stand for "S".
func equalFoldASCII(b []byte, word string) bool {
	if len(b) != len(word) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != word[i] {
			return false
		}
	}
	return true
}

func clip(b []byte) []byte {
	if len(b) > maxQuoted {
		return b[:maxQuoted]
	}
	return b
}
