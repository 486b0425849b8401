package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// The extended frames. They share the legacy frame's shape where a legacy
// peer looks: a 13-byte header with the type at byte 8 and a CRC-32 at
// bytes 9..12 computed the same way. Their types are 16 and above, which a
// legacy receiver drops as unknown, so a HELLO sent to it is ignored and
// the sender falls back to the legacy protocol. docs/protocol.md draws
// every body.
//
//	  0   1   2   3   4   5   6   7   8   9  10  11  12  13
//	+---+---+---+---+---+---+---+---+---+---+---+---+---+-----------------
//	|    session    | packet number |typ|      crc      | body
//	+---+---+---+---+---+---+---+---+---+---+---+---+---+-----------------
//
// session is the id the receiver gave the session (0 before it has one),
// packet number counts the datagrams one side sent in the session, each
// one new, retransmissions included. In a session with a secret, every
// frame after the handshake carries crc 0 and a body sealed with the
// packet number as nonce and bytes 0..8 as additional data; the
// handshake frames (HELLO to HANDSHAKE) are never sealed.
const (
	HELLO     Type = 16 // sender: offers the extended protocol
	WELCOME   Type = 17 // receiver: accepts it, gives the session id
	REJECT    Type = 18 // receiver: refuses the session, says why
	HANDSHAKE Type = 19 // either: a Noise handshake message
	OPEN      Type = 20 // sender: starts a transfer
	ACCEPT    Type = 21 // receiver: takes it, says where to resume
	DATA      Type = 22 // sender: one fragment
	SACK      Type = 23 // receiver: cumulative and selective ack
	END       Type = 24 // sender: all fragments acked; the SHA-256
	DONE      Type = 25 // receiver: the transfer's outcome
	ABORT     Type = 26 // either: a transfer ends in error
	PING      Type = 27 // sender: keep-alive
	PONG      Type = 28 // receiver: its answer
	CLOSE     Type = 29 // either: the session ends
	firstExt       = HELLO
	lastExt        = CLOSE
)

var extNames = [...]string{
	HELLO - firstExt: "HELLO", WELCOME - firstExt: "WELCOME", REJECT - firstExt: "REJECT",
	HANDSHAKE - firstExt: "HANDSHAKE", OPEN - firstExt: "OPEN", ACCEPT - firstExt: "ACCEPT",
	DATA - firstExt: "DATA", SACK - firstExt: "SACK", END - firstExt: "END", DONE - firstExt: "DONE",
	ABORT - firstExt: "ABORT", PING - firstExt: "PING", PONG - firstExt: "PONG", CLOSE - firstExt: "CLOSE",
}

// Extended reports whether t is an extended frame type.
func (t Type) Extended() bool { return t >= firstExt && t <= lastExt }

// Sealable reports whether frames of type t are sealed in a session with
// a secret: every extended type after the handshake.
func (t Type) Sealable() bool { return t >= OPEN && t <= lastExt }

// Sizes of the extended protocol.
const (
	// Version is the extended protocol's version, in HELLO and WELCOME.
	Version = 1
	// MaxDatagram is the largest extended datagram: a 1500-byte MTU less
	// 20 for IP and 8 for UDP.
	MaxDatagram = 1472
	// DataOverhead is what a DATA frame carries besides its fragment:
	// the header, the transfer id and the index.
	DataOverhead = HeaderLen + 8
	// SealOverhead is what sealing adds to a body: the AEAD tag.
	SealOverhead = 16
	// MaxExtFrame is the largest extended frame: a DATA of MaxData bytes,
	// sealed. It exceeds MaxDatagram only when a sealed session asks for
	// more than MaxSealedData bytes per fragment, which then IP-fragments.
	MaxExtFrame = DataOverhead + MaxData + SealOverhead
	// MaxPlainData and MaxSealedData are the largest fragments that keep a
	// DATA frame within MaxDatagram.
	MaxPlainData  = MaxData
	MaxSealedData = MaxDatagram - DataOverhead - SealOverhead // 1435
	// SaltLen is the length of the salt in a WELCOME with a secret.
	SaltLen = 16
	// MaxRanges bounds the selective ranges of one SACK.
	MaxRanges = 32
	// MaxMessage bounds the text of a REJECT, DONE or ABORT.
	MaxMessage = 512
	// helloMagic starts a HELLO body.
	helloMagic = "NKX"
)

// Flags of HELLO and WELCOME.
const (
	// FlagSecret: the session is sealed (HELLO: the sender has a secret;
	// WELCOME: so has the receiver, and the salt follows).
	FlagSecret = 1 << 0
	// FlagAESGCM, with FlagSecret: the frames may be sealed with
	// AES-256-GCM rather than ChaCha20-Poly1305 (HELLO: the sender has
	// AES instructions and offers it; WELCOME: so has the receiver, and
	// it is chosen). A peer that knows nothing of it never sets it, and
	// ChaCha20-Poly1305 it is.
	FlagAESGCM = 1 << 1
)

// Codes of REJECT, DONE and ABORT.
type Code uint8

// The codes. DONE carries CodeOK or an error code; REJECT and ABORT an
// error code.
const (
	CodeOK         Code = 0
	CodeRefused    Code = 1  // a bad or reserved name, or not taken
	CodeTooLarge   Code = 2  // over the receiver's size limit
	CodeWrite      Code = 3  // the receiver could not write (disk full)
	CodeIntegrity  Code = 4  // the SHA-256 did not match
	CodeShutdown   Code = 5  // the receiver is shutting down
	CodeCancelled  Code = 6  // the sender gave up
	CodeBusy       Code = 7  // too many sessions or transfers
	CodeNeedSecret Code = 8  // the receiver requires a secret
	CodeNoSecret   Code = 9  // the sender has a secret, the receiver none
	CodeBadSecret  Code = 10 // the handshake failed: not the same secret
	CodeProtocol   Code = 11 // a frame that does not fit the session
	CodeVersion    Code = 12 // no common version
	CodeGone       Code = 13 // the peer went silent
)

var codeNames = [...]string{
	CodeOK: "ok", CodeRefused: "refused", CodeTooLarge: "too large", CodeWrite: "write failed",
	CodeIntegrity: "integrity check failed", CodeShutdown: "shutting down", CodeCancelled: "cancelled",
	CodeBusy: "busy", CodeNeedSecret: "secret required", CodeNoSecret: "no secret",
	CodeBadSecret: "wrong secret", CodeProtocol: "protocol error", CodeVersion: "version", CodeGone: "peer gone",
}

// String names the code.
func (c Code) String() string {
	if int(c) < len(codeNames) && codeNames[c] != "" {
		return codeNames[c]
	}
	return "code " + strconv.Itoa(int(c))
}

// ErrBody reports an extended frame whose body does not fit its type.
var ErrBody = errors.New("wire: malformed extended frame body")

// XHeader is the header of an extended frame.
type XHeader struct {
	Session uint32
	PN      uint32
	Type    Type
}

// IsExtended reports whether datagram b carries an extended frame type at
// byte 8: the one test that tells the two protocols apart.
func IsExtended(b []byte) bool { return len(b) >= HeaderLen && Type(b[8]).Extended() }

// AppendXHeader appends h with crc 0. The body follows; SetCRC then
// completes a plain frame.
func AppendXHeader(b []byte, h XHeader) []byte {
	b = binary.BigEndian.AppendUint32(b, h.Session)
	b = binary.BigEndian.AppendUint32(b, h.PN)
	return append(b, byte(h.Type), 0, 0, 0, 0)
}

// SetCRC writes the crc of frame, a header and its body, in place.
func SetCRC(frame []byte) {
	binary.BigEndian.PutUint32(frame[crcOffset:], checksum(frame[:crcOffset], frame[HeaderLen:]))
}

// ParseXHeader decodes the header of an extended frame and returns its
// body. It checks the crc when check is set (plain frames; a sealed
// frame's body is authenticated instead).
func ParseXHeader(b []byte, check bool) (XHeader, []byte, error) {
	if len(b) < HeaderLen {
		return XHeader{}, nil, ErrShort
	}
	if len(b) > MaxExtFrame {
		return XHeader{}, nil, fmt.Errorf("%w: %d bytes", ErrTooLong, len(b))
	}
	h := XHeader{Session: binary.BigEndian.Uint32(b), PN: binary.BigEndian.Uint32(b[4:]), Type: Type(b[8])}
	if !h.Type.Extended() {
		return h, nil, ErrType
	}
	if check && !ExtCRCOK(b) {
		return h, nil, ErrCRC
	}
	return h, b[HeaderLen:], nil
}

// ExtCRCOK reports whether an extended frame's crc matches.
func ExtCRCOK(b []byte) bool {
	return len(b) >= HeaderLen && binary.BigEndian.Uint32(b[crcOffset:]) == checksum(b[:crcOffset], b[HeaderLen:])
}

// Hello is a HELLO body: magic "NKX", version, flags, and a random token
// that the WELCOME repeats and that tells a repeated HELLO from a new one.
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
	if len(b) < 13 || string(b[:3]) != helloMagic {
		return Hello{}, fmt.Errorf("%w: HELLO", ErrBody)
	}
	return Hello{Version: b[3], Flags: b[4], Token: binary.BigEndian.Uint64(b[5:])}, nil
}

// Welcome is a WELCOME body: the receiver's version and flags, the
// HELLO's token, the most fragments a transfer may have in flight, and
// with FlagSecret the Argon2id salt.
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
	if len(b) < 14 {
		return Welcome{}, fmt.Errorf("%w: WELCOME", ErrBody)
	}
	w := Welcome{Version: b[0], Flags: b[1], Token: binary.BigEndian.Uint64(b[2:]), Window: binary.BigEndian.Uint32(b[10:])}
	if w.Window == 0 {
		return Welcome{}, fmt.Errorf("%w: WELCOME with window 0", ErrBody)
	}
	if w.Flags&FlagSecret != 0 {
		if len(b) < 14+SaltLen {
			return Welcome{}, fmt.Errorf("%w: WELCOME without its salt", ErrBody)
		}
		copy(w.Salt[:], b[14:])
	}
	return w, nil
}

// Reject is a REJECT body: the HELLO's token, why, and a message for a
// person.
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
	if len(b) < 9 {
		return Reject{}, fmt.Errorf("%w: REJECT", ErrBody)
	}
	msg, err := parseMessage(b[9:])
	if err != nil {
		return Reject{}, err
	}
	return Reject{Token: binary.BigEndian.Uint64(b), Code: Code(b[8]), Message: msg}, nil
}

// Open is an OPEN body: a transfer's id, kind ('T' or 'F'), fragment
// size, content size, the file's modification time (Unix nanoseconds,
// with the name and size the key a resumed transfer is found by), and for
// a file its name.
type Open struct {
	TID      uint32
	Kind     byte
	FragSize uint16
	Size     uint64
	MTime    int64
	Name     string
}

// AppendOpen appends o's body.
func AppendOpen(b []byte, o Open) []byte {
	b = binary.BigEndian.AppendUint32(b, o.TID)
	b = append(b, o.Kind, 0)
	b = binary.BigEndian.AppendUint16(b, o.FragSize)
	b = binary.BigEndian.AppendUint64(b, o.Size)
	b = binary.BigEndian.AppendUint64(b, uint64(o.MTime))
	b = binary.BigEndian.AppendUint16(b, uint16(len(o.Name)))
	return append(b, o.Name...)
}

// ParseOpen decodes an OPEN body, checking its kind, its fragment size
// (1..MaxData), that a text has no name and a file one, and that the
// fragments can be counted in 32 bits. The name is not sanitised here.
func ParseOpen(b []byte) (Open, error) {
	const fixed = 26
	if len(b) < fixed {
		return Open{}, fmt.Errorf("%w: OPEN", ErrBody)
	}
	o := Open{
		TID: binary.BigEndian.Uint32(b), Kind: b[4], FragSize: binary.BigEndian.Uint16(b[6:]),
		Size: binary.BigEndian.Uint64(b[8:]), MTime: int64(binary.BigEndian.Uint64(b[16:])),
	}
	n := int(binary.BigEndian.Uint16(b[24:]))
	if len(b) != fixed+n || n > MaxName {
		return Open{}, fmt.Errorf("%w: OPEN name length", ErrBody)
	}
	o.Name = string(b[fixed:])
	switch {
	case o.Kind != KindText && o.Kind != KindFile:
		return Open{}, ErrKind
	case o.FragSize < 1 || o.FragSize > MaxData:
		return Open{}, fmt.Errorf("%w: %d", ErrSize, o.FragSize)
	case (o.Kind == KindText) != (n == 0):
		return Open{}, fmt.Errorf("%w: OPEN name does not fit its kind", ErrBody)
	case Fragments(o.Size, int(o.FragSize)) > 1<<32-1:
		return Open{}, fmt.Errorf("%w: %d bytes in fragments of %d", ErrLength, o.Size, o.FragSize)
	}
	return o, nil
}

// Fragments is the number of fragments of size bytes at fragment size f.
func Fragments(size uint64, f int) uint64 {
	n := size / uint64(f)
	if size%uint64(f) != 0 {
		n++
	}
	return n
}

// Accept is an ACCEPT body: the transfer id, the content offset the
// sender starts from (nonzero when resuming; a multiple of the fragment
// size), and the most fragments it may have in flight.
type Accept struct {
	TID    uint32
	Offset uint64
	Window uint32
}

// AppendAccept appends a's body.
func AppendAccept(b []byte, a Accept) []byte {
	b = binary.BigEndian.AppendUint32(b, a.TID)
	b = binary.BigEndian.AppendUint64(b, a.Offset)
	return binary.BigEndian.AppendUint32(b, a.Window)
}

// ParseAccept decodes an ACCEPT body.
func ParseAccept(b []byte) (Accept, error) {
	if len(b) != 16 {
		return Accept{}, fmt.Errorf("%w: ACCEPT", ErrBody)
	}
	a := Accept{TID: binary.BigEndian.Uint32(b), Offset: binary.BigEndian.Uint64(b[4:]), Window: binary.BigEndian.Uint32(b[12:])}
	if a.Window == 0 {
		return Accept{}, fmt.Errorf("%w: ACCEPT with window 0", ErrBody)
	}
	return a, nil
}

// AppendDataHead appends the head of a DATA body, the transfer id and the
// fragment's index (0-based: its content starts at index times the
// fragment size); the fragment follows.
func AppendDataHead(b []byte, tid, index uint32) []byte {
	b = binary.BigEndian.AppendUint32(b, tid)
	return binary.BigEndian.AppendUint32(b, index)
}

// ParseData decodes a DATA body: transfer id, index and fragment (which
// aliases b).
func ParseData(b []byte) (tid, index uint32, frag []byte, err error) {
	if len(b) < 9 {
		return 0, 0, nil, fmt.Errorf("%w: DATA", ErrBody)
	}
	return binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:]), b[8:], nil
}

// Range is a run of fragments [Start, End) received beyond the cumulative
// point.
type Range struct{ Start, End uint32 }

// Ack is a SACK body: the transfer id; the highest packet number the
// receiver has seen in the session, and how long it held it before this
// ack (microseconds), for the sender's RTT samples; the cumulative point
// (every fragment below Cum is received); Limit, the first index the
// sender may not send yet (its flow-control window); and up to MaxRanges
// ranges above Cum, ascending and disjoint.
type Ack struct {
	TID     uint32
	Largest uint32
	Delay   uint32
	Cum     uint32
	Limit   uint32
	N       int
	Ranges  [MaxRanges]Range
}

// AppendAck appends a's body.
func AppendAck(b []byte, a *Ack) []byte {
	b = binary.BigEndian.AppendUint32(b, a.TID)
	b = binary.BigEndian.AppendUint32(b, a.Largest)
	b = binary.BigEndian.AppendUint32(b, a.Delay)
	b = binary.BigEndian.AppendUint32(b, a.Cum)
	b = binary.BigEndian.AppendUint32(b, a.Limit)
	b = append(b, byte(a.N))
	for _, r := range a.Ranges[:a.N] {
		b = binary.BigEndian.AppendUint32(b, r.Start)
		b = binary.BigEndian.AppendUint32(b, r.End)
	}
	return b
}

// ParseAck decodes a SACK body into a, checking that its ranges are
// ascending, disjoint, non-empty and above Cum. It does not allocate.
func ParseAck(b []byte, a *Ack) error {
	if len(b) < 21 {
		return fmt.Errorf("%w: SACK", ErrBody)
	}
	a.TID = binary.BigEndian.Uint32(b)
	a.Largest = binary.BigEndian.Uint32(b[4:])
	a.Delay = binary.BigEndian.Uint32(b[8:])
	a.Cum = binary.BigEndian.Uint32(b[12:])
	a.Limit = binary.BigEndian.Uint32(b[16:])
	n := int(b[20])
	if n > MaxRanges || len(b) != 21+8*n {
		return fmt.Errorf("%w: SACK ranges", ErrBody)
	}
	a.N = n
	prev := a.Cum
	for i := range n {
		r := Range{binary.BigEndian.Uint32(b[21+8*i:]), binary.BigEndian.Uint32(b[25+8*i:])}
		if r.Start <= prev || r.End <= r.Start {
			return fmt.Errorf("%w: SACK range %d..%d after %d", ErrBody, r.Start, r.End, prev)
		}
		a.Ranges[i] = r
		prev = r.End
	}
	return nil
}

// End is an END body: the transfer id and the SHA-256 of the whole
// content.
type End struct {
	TID uint32
	Sum [32]byte
}

// AppendEnd appends e's body.
func AppendEnd(b []byte, e End) []byte {
	b = binary.BigEndian.AppendUint32(b, e.TID)
	return append(b, e.Sum[:]...)
}

// ParseEnd decodes an END body.
func ParseEnd(b []byte) (End, error) {
	if len(b) != 36 {
		return End{}, fmt.Errorf("%w: END", ErrBody)
	}
	e := End{TID: binary.BigEndian.Uint32(b)}
	copy(e.Sum[:], b[4:])
	return e, nil
}

// Result is a DONE or ABORT body: the transfer id, a code, and a text:
// for DONE with CodeOK the name the file was stored under, otherwise a
// message for a person.
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
	if len(b) < 5 {
		return Result{}, fmt.Errorf("%w: DONE or ABORT", ErrBody)
	}
	msg, err := parseMessage(b[5:])
	if err != nil {
		return Result{}, err
	}
	return Result{TID: binary.BigEndian.Uint32(b), Code: Code(b[4]), Text: msg}, nil
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

// XTypeName names an extended type for traces.
func xTypeName(t Type) string {
	if t.Extended() {
		return extNames[t-firstExt]
	}
	return ""
}
