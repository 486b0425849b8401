package wire

import (
	"encoding/binary"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// The bodies that end a transfer: END, and DONE and ABORT (a Result).

// Offsets and lengths in an END body.
const (
	endTIDOffset = 0
	endSumOffset = 4
	sumLen       = 32                    // a SHA-256
	endLen       = endSumOffset + sumLen // 36, exactly
)

// End is an END body: the transfer id and the SHA-256 of the whole
// content.
//
//	  0               4                                              36
//	+---+---+---+---+---+---+---+---+---+---- ... ----+---+---+---+---+
//	|  transfer id  |              SHA-256 of the content              |
//	+---+---+---+---+---+---+---+---+---+---- ... ----+---+---+---+---+
type End struct {
	TID uint32
	Sum [sumLen]byte
}

// AppendEnd appends e's body.
func AppendEnd(b []byte, e End) []byte {
	b = binary.BigEndian.AppendUint32(b, e.TID)
	return append(b, e.Sum[:]...)
}

// ParseEnd decodes an END body.
func ParseEnd(b []byte) (End, error) {
	if len(b) != endLen {
		return End{}, fmt.Errorf("%w: END", ErrBody)
	}
	e := End{TID: binary.BigEndian.Uint32(b[endTIDOffset:])}
	copy(e.Sum[:], b[endSumOffset:])
	return e, nil
}

// Offsets in a DONE or ABORT body.
const (
	resultTIDOffset  = 0
	resultCodeOffset = 4
	resultTextOffset = resultCodeOffset + 1 // 5: the text runs to the end
)

// Result is a DONE or ABORT body: the transfer id, a code, and a text:
// for DONE with CodeOK the name the file was stored under, otherwise a
// message for a person.
//
//	  0               4   5
//	+---+---+---+---+---+-----------------------
//	|  transfer id  |cod| text, UTF-8, <= 512
//	+---+---+---+---+---+-----------------------
//
// An ABORT with transfer id 0 and CodeShutdown ends the whole session.
type Result struct {
	TID  uint32
	Code Code
	Text string
}

// AppendResult appends r's body, its text cut to MaxMessage bytes.
func AppendResult(b []byte, r Result) []byte {
	b = binary.BigEndian.AppendUint32(b, r.TID)
	return appendMessage(append(b, byte(r.Code)), r.Text)
}

// ParseResult decodes a DONE or ABORT body.
func ParseResult(b []byte) (Result, error) {
	if len(b) < resultTextOffset {
		return Result{}, fmt.Errorf("%w: DONE or ABORT", ErrBody)
	}
	msg, err := parseMessage(b[resultTextOffset:])
	if err != nil {
		return Result{}, err
	}
	return Result{TID: binary.BigEndian.Uint32(b[resultTIDOffset:]), Code: Code(b[resultCodeOffset]), Text: msg}, nil
}

// appendMessage appends s cut to MaxMessage bytes (at a UTF-8 boundary).
func appendMessage(b []byte, s string) []byte {
	if len(s) > MaxMessage {
		cut := MaxMessage
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return append(b, s...)
}

// parseMessage returns b as a message for a person: invalid UTF-8 and
// control characters (C0, DEL and C1, which terminals may obey) replaced
// by '?', so that it is never longer than b.
func parseMessage(b []byte) (string, error) {
	if len(b) > MaxMessage {
		return "", fmt.Errorf("%w: message of %d bytes", ErrBody, len(b))
	}
	m := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n <= 1:
			m = append(m, '?')
		case unicode.IsControl(r):
			m = append(m, '?')
		default:
			m = append(m, b[:n]...)
		}
		b = b[n:]
	}
	return string(m), nil
}
