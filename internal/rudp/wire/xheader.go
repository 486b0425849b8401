package wire

import (
	"encoding/binary"
	"fmt"
)

// Offsets in the extended header. The type and the crc sit where the
// legacy header keeps them (typeOffset, crcOffset), so that a legacy peer
// reads an unknown type and drops the frame.
const (
	xSessionOffset = 0 // session id, 4 bytes
	xPNOffset      = 4 // packet number, 4 bytes
)

// XHeader is the header of an extended frame, the first HeaderLen bytes
// of every extended datagram:
//
//	  0   1   2   3   4   5   6   7   8   9  10  11  12  13
//	+---+---+---+---+---+---+---+---+---+---+---+---+---+-----------------
//	|    session    | packet number |typ|      crc      | body
//	+---+---+---+---+---+---+---+---+---+---+---+---+---+-----------------
//
// The crc covers bytes 0..8 and the body, as in the legacy frame; it is 0
// in a sealed frame, whose body the AEAD authenticates instead.
type XHeader struct {
	Session uint32
	PN      uint32
	Type    Type
}

// IsExtended reports whether datagram b carries an extended frame type at
// byte 8: the one test that tells the two protocols apart.
func IsExtended(b []byte) bool { return len(b) >= HeaderLen && Type(b[typeOffset]).Extended() }

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
	h := XHeader{
		Session: binary.BigEndian.Uint32(b[xSessionOffset:]),
		PN:      binary.BigEndian.Uint32(b[xPNOffset:]),
		Type:    Type(b[typeOffset]),
	}
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
