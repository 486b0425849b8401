package wire

import (
	"errors"
	"strconv"
)

// The extended frame types. Their types are 16 and above, which a legacy
// receiver drops as unknown, so a HELLO sent to it is ignored and the
// sender falls back to the legacy protocol. The package comment draws the
// header and lists the bodies; each body's type (Hello, Open, Ack...)
// draws its own layout, and docs/protocol.md says what each field means.
//
// In a session with a secret, every frame after the handshake carries
// crc 0 and a body sealed with the packet number as nonce and bytes 0..8
// as additional data; the handshake frames (HELLO to HANDSHAKE) are never
// sealed.
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
	DataOverhead = HeaderLen + dataHeadLen
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

// xTypeName names an extended type for traces.
func xTypeName(t Type) string {
	if t.Extended() {
		return extNames[t-firstExt]
	}
	return ""
}
