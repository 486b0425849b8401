// Package wire is the codec of the reliable UDP communicator (netkit
// rudp), to the byte: the legacy frame format and the pure arithmetic of
// one legacy transfer, and the extended protocol's frames beside it
// (below, "Extended frames"). It has no sockets and no state machines: every function
// works on []byte and plain values, so a sender or receiver elsewhere can
// share it and tests can drive it without a network. Nothing here keeps
// state; everything is safe for concurrent use.
//
// # Frame
//
// One frame is one UDP datagram: a 13-byte header and 0 to 1445 bytes of
// data, all integers big-endian.
//
//	  0   1   2   3   4   5   6   7   8   9  10  11  12  13
//	+---+---+---+---+---+---+---+---+---+---+---+---+---+-----------------
//	| sequence  | fragment  | frag- |typ|      crc      | data
//	|  number   |   count   | size  |   |               | 0..1445 bytes
//	+---+---+---+---+---+---+---+---+---+---+---+---+---+-----------------
//
// sequence_number and fragment_count are unsigned 24-bit integers,
// fragment_size 16-bit. packet_type is 0 INF, 1 ACK, 2 NACK, 3 DAT, 4 KPA
// or 5 FIN. crc is the IEEE CRC-32 (zlib.crc32, hash/crc32.ChecksumIEEE) of
// bytes 0..8 followed by the data: crc32(frame[0:9] + frame[13:]). The
// largest frame is 1458 bytes (an Ethernet MTU of 1500 less 20 for IP, 8
// for UDP and a 14-byte margin), so data is at most 1445 bytes.
//
// INF and DAT frames always carry their CRC and it is always checked. ACK,
// NACK, KPA and FIN frames are sent with crc 0, which a receiver accepts
// without checking; a nonzero crc on them is checked like any other.
//
// What each field holds depends on the type; Parse accepts exactly this:
//
//	type  seq             count          size            data
//	INF   name frames N   N + content    F, 1..1445      "T" (text, N = 0) or "F" (file, N >= 1)
//	DAT   1..count        >= 1           len(data)       1..1445 bytes
//	ACK   (of INF)        as the INF     as the INF      as the INF
//	ACK   (of DAT)        1..count       1..1445         empty
//	ACK   (of KPA)        0              0               0               empty
//	NACK  (of DAT)        any            any             empty
//	KPA   0               0              0               empty
//	FIN   0               0              0               empty
//
// A NACK answers a DAT whose CRC failed and repeats that frame's header, so
// its fields may themselves be damaged: only its empty data is checked.
//
// # One transfer
//
// The sender picks a fragment size F and sends an INF whose data is "T" for
// a text message or "F" for a file. A file's base name (UTF-8) goes first,
// in N = ceil(len(name)/F) DAT frames; the content follows in
// ceil(len(content)/F) DAT frames, the last of each part shorter if need
// be. DAT frames are numbered 1..count, name first. The receiver answers
// the INF with an ACK repeating it (crc 0), and each DAT with an ACK (crc
// good) or NACK (crc bad) repeating its seq, count and size with empty data.
// The sender sends frame n+1 only after the ACK of frame n, and sends frame
// n again on a NACK or after a timeout:
//
//	sender                              receiver
//	INF  seq 4 count 9 size 4 "F"     ->
//	                                  <-  ACK  seq 4 count 9 size 4 "F"
//	DAT  seq 1 count 9 size 4 "smal"  ->
//	                                  <-  ACK  seq 1 count 9 size 4
//	...
//	DAT  seq 9 count 9 size 3 "le."   ->
//	                                  <-  ACK  seq 9 count 9 size 3
//	KPA  every few seconds            ->
//	                                  <-  ACK  all zero
//	FIN  either side, unanswered      ->
//
// NewPlan and PlanOf give the INF's fields and map each DAT to the bytes it
// carries; AckFor, NackFor and Answers build and match the answers;
// SanitizeName vets a received file name before it touches a file system.
//
// # Extended frames
//
// The extended protocol keeps the legacy frame's 13-byte header shape, so
// that the type and the crc sit where a legacy peer looks; its types are
// 16 and above, which a legacy receiver drops as unknown, and IsExtended
// (byte 8) is the one test that tells the two apart:
//
//	  0   1   2   3   4   5   6   7   8   9  10  11  12  13
//	+---+---+---+---+---+---+---+---+---+---+---+---+---+-----------------
//	|    session    | packet number |typ|      crc      | body
//	+---+---+---+---+---+---+---+---+---+---+---+---+---+-----------------
//
// session is the id the receiver gave the session (0 before it has one);
// packet number counts the datagrams one side sent in the session, each
// one new, retransmissions included; crc is computed as in the legacy
// frame. In a session with a secret every frame after the handshake has
// crc 0 and a body sealed with the packet number as nonce and bytes 0..8
// as additional data (SealOverhead more bytes); HELLO to HANDSHAKE are
// never sealed. XHeader, AppendXHeader, SetCRC and ParseXHeader handle
// the header. The bodies, all integers big-endian, each drawn in the doc
// comment of its type and coded in its own file:
//
//	HELLO, WELCOME, REJECT   Hello, Welcome, Reject     hello.go
//	HANDSHAKE                a Noise message            (package secure)
//	OPEN, ACCEPT             Open, Accept               open.go
//	DATA, SACK               AppendDataHead, Ack        data.go
//	END, DONE, ABORT         End, Result                end.go
//	PING, PONG, CLOSE        empty
//
// A session: HELLO, WELCOME (or REJECT), HANDSHAKE both ways when sealed;
// then per transfer OPEN, ACCEPT, DATA answered by SACKs, END, DONE (or
// ABORT either way); PING and PONG keep it alive and CLOSE ends it.
// Every body's Parse function checks lengths before it reads, so that a
// truncated or padded body is refused with ErrBody. docs/protocol.md
// says what each field means.
package wire

import (
	"errors"
	"strconv"
)

// Sizes and limits of the legacy format.
const (
	HeaderLen  = 13                   // bytes before the data
	MaxFrame   = 1458                 // largest frame, header included
	MaxData    = MaxFrame - HeaderLen // 1445: largest data, and largest F
	MaxSeq     = 1<<24 - 1            // largest sequence number and fragment count
	MaxName    = 255                  // longest file name SanitizeName accepts, in bytes
	typeOffset = 8                    // where the packet_type sits, in both formats
	crcOffset  = 9                    // where the crc sits; it covers [0, crcOffset) and the data
)

// Kinds of transfer, the one data byte of an INF frame.
const (
	KindText = 'T'
	KindFile = 'F'
)

// Type is a frame's packet_type.
type Type uint8

// The frame types.
const (
	INF  Type = 0 // starts a transfer: kind, F and the number of frames
	ACK  Type = 1 // answers INF, DAT (crc good) and KPA
	NACK Type = 2 // answers a DAT whose crc failed
	DAT  Type = 3 // one fragment of a name or a content
	KPA  Type = 4 // keep-alive
	FIN  Type = 5 // ends the session, unanswered
)

var typeNames = [...]string{INF: "INF", ACK: "ACK", NACK: "NACK", DAT: "DAT", KPA: "KPA", FIN: "FIN"}

// String returns the type's name as the protocol writes it ("INF", "DAT",
// ...), or "Type(n)" for an unknown type.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	if t.Extended() {
		return xTypeName(t)
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// checked reports whether frames of type t always carry a real CRC.
func (t Type) checked() bool { return t == INF || t == DAT }

var (
	// ErrShort reports a frame shorter than its 13-byte header.
	ErrShort = errors.New("wire: frame shorter than header")
	// ErrTooLong reports a frame longer than MaxFrame bytes.
	ErrTooLong = errors.New("wire: frame longer than 1458 bytes")
	// ErrType reports a packet_type other than INF, ACK, NACK, DAT, KPA or
	// FIN, or a frame of the wrong type for where it was used.
	ErrType = errors.New("wire: unknown frame type")
	// ErrCRC reports a frame whose crc does not match its bytes: a
	// corrupted INF or DAT, or an ACK, NACK, KPA or FIN with a nonzero,
	// wrong crc. Parse returns the frame as decoded alongside it, so a
	// receiver can answer a DAT with NackFor.
	ErrCRC = errors.New("wire: bad crc")
	// ErrSize reports a fragment_size that does not fit the frame's type and
	// data (a DAT's must equal its data length, an INF's is F in 1..1445),
	// or a fragment size F out of 1..1445.
	ErrSize = errors.New("wire: bad fragment size")
	// ErrSeq reports a sequence_number or fragment_count that does not fit
	// the frame's type: a DAT outside 1..count, a text INF with name
	// frames, a file INF without, a KPA or FIN with nonzero fields.
	ErrSeq = errors.New("wire: bad sequence number or count")
	// ErrKind reports an INF (or its ACK) whose data is not exactly "T" or
	// "F", or a transfer kind other than KindText and KindFile.
	ErrKind = errors.New("wire: transfer kind is not T or F")
	// ErrData reports data on a frame that carries none (NACK, KPA, FIN).
	ErrData = errors.New("wire: unexpected data")
	// ErrLength reports a transfer that cannot be planned: a negative
	// content length, or more than MaxSeq frames in all.
	ErrLength = errors.New("wire: transfer length out of range")
	// ErrBadName reports a file name that is not a plain base name; the
	// wrapping error says why.
	ErrBadName = errors.New("wire: bad file name")
)
