package wire

import (
	"encoding/binary"
	"fmt"
)

// The bodies that start a transfer: OPEN and ACCEPT.

// Offsets and lengths in an OPEN body.
const (
	openTIDOffset      = 0
	openKindOffset     = 4
	openPadOffset      = 5 // always 0
	openFragOffset     = 6
	openSizeOffset     = 8
	openMTimeOffset    = 16
	openNameLenOffset  = 24
	openFixedLen       = openNameLenOffset + 2 // 26: the name follows
	maxFragmentsPerTID = 1<<32 - 1             // fragments are indexed in 32 bits
)

// Open is an OPEN body: a transfer's id, kind ('T' or 'F'), fragment
// size, content size, the file's modification time (Unix nanoseconds,
// with the name and size the key a resumed transfer is found by), and for
// a file its name.
//
//	  0               4   5   6       8                              16
//	+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
//	|  transfer id  |knd| 0 | frag  |          content size         |
//	+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
//	 16                              24      26
//	+---+---+---+---+---+---+---+---+---+---+-----------------------
//	|   modification time (ns)      |namlen | name, <= 255 bytes
//	+---+---+---+---+---+---+---+---+---+---+-----------------------
//
// A text has no name, a file one; the body ends with the name.
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
	if len(b) < openFixedLen {
		return Open{}, fmt.Errorf("%w: OPEN", ErrBody)
	}
	o := Open{
		TID:      binary.BigEndian.Uint32(b[openTIDOffset:]),
		Kind:     b[openKindOffset],
		FragSize: binary.BigEndian.Uint16(b[openFragOffset:]),
		Size:     binary.BigEndian.Uint64(b[openSizeOffset:]),
		MTime:    int64(binary.BigEndian.Uint64(b[openMTimeOffset:])),
	}
	n := int(binary.BigEndian.Uint16(b[openNameLenOffset:]))
	if len(b) != openFixedLen+n || n > MaxName {
		return Open{}, fmt.Errorf("%w: OPEN name length", ErrBody)
	}
	o.Name = string(b[openFixedLen:])
	switch {
	case o.Kind != KindText && o.Kind != KindFile:
		return Open{}, ErrKind
	case o.FragSize < 1 || o.FragSize > MaxData:
		return Open{}, fmt.Errorf("%w: %d", ErrSize, o.FragSize)
	case (o.Kind == KindText) != (n == 0):
		return Open{}, fmt.Errorf("%w: OPEN name does not fit its kind", ErrBody)
	case Fragments(o.Size, int(o.FragSize)) > maxFragmentsPerTID:
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

// Offsets and lengths in an ACCEPT body.
const (
	acceptTIDOffset    = 0
	acceptOffsetOffset = 4
	acceptWindowOffset = 12
	acceptLen          = acceptWindowOffset + 4 // 16, exactly
)

// Accept is an ACCEPT body: the transfer id, the content offset the
// sender starts from (nonzero when resuming; a multiple of the fragment
// size), and the most fragments it may have in flight.
//
//	  0               4                              12              16
//	+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
//	|  transfer id  |            offset             |    window     |
//	+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
//
// A window of 0 is refused.
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
	if len(b) != acceptLen {
		return Accept{}, fmt.Errorf("%w: ACCEPT", ErrBody)
	}
	a := Accept{
		TID:    binary.BigEndian.Uint32(b[acceptTIDOffset:]),
		Offset: binary.BigEndian.Uint64(b[acceptOffsetOffset:]),
		Window: binary.BigEndian.Uint32(b[acceptWindowOffset:]),
	}
	if a.Window == 0 {
		return Accept{}, fmt.Errorf("%w: ACCEPT with window 0", ErrBody)
	}
	return a, nil
}
