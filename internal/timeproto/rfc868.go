package timeproto

import (
	"encoding/binary"
	"fmt"
	"time"
)

// RFC868Len is the size of an RFC 868 time value on the wire.
const RFC868Len = 4

// unixToNTP is the number of seconds from the NTP and RFC 868 epoch,
// 1900-01-01 00:00 UTC, to the Unix epoch: 70 years, 17 of them leap.
const unixToNTP = (70*365 + 17) * 86400 // 2208988800

// era1 is the offset in seconds of the second 32-bit era, which begins on
// 2036-02-07 06:28:16 UTC.
const era1 = 1 << 32

// AppendRFC868 appends the 4-byte RFC 868 encoding of t to b: whole seconds
// since 1900, rounded down. The wire value keeps only 32 bits, so a time
// outside 1968-01-20 03:14:08 to 2104-02-26 09:42:23 UTC does not survive
// ParseRFC868; the protocol has no way to say more.
func AppendRFC868(b []byte, t time.Time) []byte {
	// t.Unix rounds toward negative infinity, and the conversion to uint32
	// keeps the count modulo 2^32, which is exactly the wire value.
	return binary.BigEndian.AppendUint32(b, uint32(t.Unix()+unixToNTP))
}

// ParseRFC868 decodes an RFC 868 time value, which must be exactly 4 bytes
// (ErrShort or ErrLength otherwise). A value with the top bit set is taken
// as 1968-01-20 03:14:08 to 2036-02-07 06:28:15 UTC; a value below 2^31 as
// 2036-02-07 06:28:16 UTC or later, in the era after the 32-bit counter
// wraps, as RFC 4330 section 3 advises for NTP. A server whose clock says
// 1900 thus reads as 2036. The result is in UTC.
func ParseRFC868(b []byte) (time.Time, error) {
	switch {
	case len(b) < RFC868Len:
		return time.Time{}, fmt.Errorf("%w: %d bytes, want %d", ErrShort, len(b), RFC868Len)
	case len(b) > RFC868Len:
		return time.Time{}, fmt.Errorf("%w: %d bytes, want %d", ErrLength, len(b), RFC868Len)
	}
	return time.Unix(eraSeconds(binary.BigEndian.Uint32(b))-unixToNTP, 0).UTC(), nil
}

// eraSeconds returns the seconds since 1900 that a 32-bit wire count stands
// for, placing counts below 2^31 in era 1.
func eraSeconds(s uint32) int64 {
	if s&0x8000_0000 == 0 {
		return int64(s) + era1
	}
	return int64(s)
}
