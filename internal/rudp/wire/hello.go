package wire

import (
	"encoding/binary"
	"fmt"
)

// The handshake bodies: HELLO, WELCOME and REJECT. They are never sealed.

// Offsets and lengths in a HELLO body.
const (
	helloMagic         = "NKX"
	helloVersionOffset = len(helloMagic)        // 3
	helloFlagsOffset   = helloVersionOffset + 1 // 4
	helloTokenOffset   = helloFlagsOffset + 1   // 5
	helloLen           = helloTokenOffset + 8   // 13: bytes after it are ignored
)

// Hello is a HELLO body: magic "NKX", version, flags, and a random token
// that the WELCOME repeats and that tells a repeated HELLO from a new one.
//
//	  0   1   2   3   4   5                              13
//	+---+---+---+---+---+---+---+---+---+---+---+---+---+
//	| N   K   X |ver|flg|             token             |
//	+---+---+---+---+---+---+---+---+---+---+---+---+---+
//
// flags are FlagSecret and FlagAESGCM. A later version may add bytes
// after the token; this one ignores them.
type Hello struct {
	Version uint8
	Flags   uint8
	Token   uint64
}

// AppendHello appends h's body.
func AppendHello(b []byte, h Hello) []byte {
	b = append(b, helloMagic...)
	b = append(b, h.Version, h.Flags)
	return binary.BigEndian.AppendUint64(b, h.Token)
}

// ParseHello decodes a HELLO body. Bytes after the token are ignored, so
// that a later version may add fields.
func ParseHello(b []byte) (Hello, error) {
	if len(b) < helloLen || string(b[:len(helloMagic)]) != helloMagic {
		return Hello{}, fmt.Errorf("%w: HELLO", ErrBody)
	}
	return Hello{
		Version: b[helloVersionOffset],
		Flags:   b[helloFlagsOffset],
		Token:   binary.BigEndian.Uint64(b[helloTokenOffset:]),
	}, nil
}

// Offsets and lengths in a WELCOME body.
const (
	welcomeVersionOffset = 0
	welcomeFlagsOffset   = 1
	welcomeTokenOffset   = 2
	welcomeWindowOffset  = welcomeTokenOffset + 8  // 10
	welcomeLen           = welcomeWindowOffset + 4 // 14: without the salt
	welcomeSaltOffset    = welcomeLen              // 14: the salt, with FlagSecret
)

// Welcome is a WELCOME body: the receiver's version and flags, the
// HELLO's token, the most fragments a transfer may have in flight, and
// with FlagSecret the Argon2id salt.
//
//	  0   1   2                               10              14
//	+---+---+---+---+---+---+---+---+---+---+---+---+---+---+-----------
//	|ver|flg|             token             |    window     | salt (16)
//	+---+---+---+---+---+---+---+---+---+---+---+---+---+---+-----------
//
// The salt is there only with FlagSecret. A window of 0 is refused.
type Welcome struct {
	Version uint8
	Flags   uint8
	Token   uint64
	Window  uint32
	Salt    [SaltLen]byte
}

// AppendWelcome appends w's body.
func AppendWelcome(b []byte, w Welcome) []byte {
	b = append(b, w.Version, w.Flags)
	b = binary.BigEndian.AppendUint64(b, w.Token)
	b = binary.BigEndian.AppendUint32(b, w.Window)
	if w.Flags&FlagSecret != 0 {
		b = append(b, w.Salt[:]...)
	}
	return b
}

// ParseWelcome decodes a WELCOME body.
func ParseWelcome(b []byte) (Welcome, error) {
	if len(b) < welcomeLen {
		return Welcome{}, fmt.Errorf("%w: WELCOME", ErrBody)
	}
	w := Welcome{
		Version: b[welcomeVersionOffset],
		Flags:   b[welcomeFlagsOffset],
		Token:   binary.BigEndian.Uint64(b[welcomeTokenOffset:]),
		Window:  binary.BigEndian.Uint32(b[welcomeWindowOffset:]),
	}
	if w.Window == 0 {
		return Welcome{}, fmt.Errorf("%w: WELCOME with window 0", ErrBody)
	}
	if w.Flags&FlagSecret != 0 {
		if len(b) < welcomeSaltOffset+SaltLen {
			return Welcome{}, fmt.Errorf("%w: WELCOME without its salt", ErrBody)
		}
		copy(w.Salt[:], b[welcomeSaltOffset:])
	}
	return w, nil
}

// Offsets in a REJECT body.
const (
	rejectTokenOffset   = 0
	rejectCodeOffset    = rejectTokenOffset + 8 // 8
	rejectMessageOffset = rejectCodeOffset + 1  // 9: the message runs to the end
)

// Reject is a REJECT body: the HELLO's token, why, and a message for a
// person.
//
//	  0                               8   9
//	+---+---+---+---+---+---+---+---+---+-----------------------
//	|             token             |cod| message, UTF-8, <= 512
//	+---+---+---+---+---+---+---+---+---+-----------------------
type Reject struct {
	Token   uint64
	Code    Code
	Message string
}

// AppendReject appends r's body, its message cut to MaxMessage bytes.
func AppendReject(b []byte, r Reject) []byte {
	b = binary.BigEndian.AppendUint64(b, r.Token)
	return appendMessage(append(b, byte(r.Code)), r.Message)
}

// ParseReject decodes a REJECT body.
func ParseReject(b []byte) (Reject, error) {
	if len(b) < rejectMessageOffset {
		return Reject{}, fmt.Errorf("%w: REJECT", ErrBody)
	}
	msg, err := parseMessage(b[rejectMessageOffset:])
	if err != nil {
		return Reject{}, err
	}
	return Reject{Token: binary.BigEndian.Uint64(b[rejectTokenOffset:]), Code: Code(b[rejectCodeOffset]), Message: msg}, nil
}
