package timeproto

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"
)

// PacketLen is the size of the fixed NTP header, all that SNTP uses.
const PacketLen = 48

// Leap indicator values (Packet.Leap).
const (
	LeapNone           = 0 // no leap second pending
	LeapInsertSecond   = 1 // last minute of the day has 61 seconds
	LeapDeleteSecond   = 2 // last minute of the day has 59 seconds
	LeapUnsynchronized = 3 // alarm: the clock is not synchronized
)

// Versions accepted by ParsePacket, Reply and CheckReply (Packet.Version).
const (
	MinVersion = 1
	MaxVersion = 4 // NTPv4 (RFC 5905), the version NewRequest sends
)

// Association modes (Packet.Mode).
const (
	ModeReserved         = 0
	ModeSymmetricActive  = 1
	ModeSymmetricPassive = 2
	ModeClient           = 3
	ModeServer           = 4
	ModeBroadcast        = 5
	ModeControl          = 6
	ModePrivate          = 7
)

// Timestamp is an NTP timestamp: 32 bits of seconds since 1900-01-01 00:00
// UTC modulo 2^32 and 32 bits of fraction. The zero Timestamp means "not
// set", as in a client request's unused fields.
type Timestamp uint64

// TimestampOf returns the timestamp of t, rounded to the nearest 2^-32 s.
// The era is lost: only times from 1968-01-20 03:14:08 to 2104-02-26
// 09:42:23 UTC come back unchanged from Time. The zero time.Time gives the
// zero Timestamp.
func TimestampOf(t time.Time) Timestamp {
	if t.IsZero() {
		return 0
	}
	secs := uint32(t.Unix() + unixToNTP) // modulo 2^32, like the wire
	frac := (uint64(t.Nanosecond())<<32 + 5e8) / 1e9
	return Timestamp(uint64(secs)<<32 | frac) // frac < 2^32 for any nanosecond
}

// Time returns the instant ts stands for, in UTC. As RFC 4330 section 3
// advises, seconds with the top bit clear are taken as after the 2036 wrap,
// so Time ranges over 1968 to 2104. The zero Timestamp gives the zero
// time.Time, which makes unset fields easy to test with IsZero; the cost is
// that the first instant of 2036-02-07 06:28:16 UTC cannot be told from
// "not set".
func (ts Timestamp) Time() time.Time {
	if ts == 0 {
		return time.Time{}
	}
	nsec := (uint64(ts.Fraction())*1e9 + 1<<31) >> 32 // rounds, so TimestampOf round-trips
	return time.Unix(eraSeconds(ts.Seconds())-unixToNTP, int64(nsec)).UTC()
}

// Seconds returns the whole seconds of ts, modulo 2^32.
func (ts Timestamp) Seconds() uint32 { return uint32(ts >> 32) }

// Fraction returns the fractional second of ts in units of 2^-32 s.
func (ts Timestamp) Fraction() uint32 { return uint32(ts) }

// Short is the NTP short format: an unsigned 16.16 fixed-point number of
// seconds, used for root delay and root dispersion.
type Short uint32

// maxShort is the largest duration a Short holds, just under 65536 s.
const maxShort = Short(math.MaxUint32)

// DurationOf returns d as a Short, rounded to the nearest 2^-16 s. Negative
// durations give 0 and durations too long for 16 bits of seconds give the
// largest Short.
func DurationOf(d time.Duration) Short {
	if d <= 0 {
		return 0
	}
	if d >= 1<<16*time.Second {
		return maxShort
	}
	v := (uint64(d)<<16 + 5e8) / 1e9 // uint64(d) < 2^46, so no overflow
	if v > math.MaxUint32 {
		return maxShort
	}
	return Short(v)
}

// Duration returns s as a time.Duration, rounded to the nanosecond.
func (s Short) Duration() time.Duration {
	return time.Duration((uint64(s)*1e9 + 1<<15) >> 16)
}

// Packet is the 48-byte SNTP/NTP header, field for field. Leap, Version and
// Mode hold the 2-, 3- and 3-bit fields of the first byte.
type Packet struct {
	Leap           uint8
	Version        uint8
	Mode           uint8
	Stratum        uint8
	Poll           int8 // log2 seconds between messages
	Precision      int8 // log2 seconds of the clock's precision
	RootDelay      Short
	RootDispersion Short
	RefID          [4]byte // reference ID, or kiss code when Stratum is 0
	RefTime        Timestamp
	OrigTime       Timestamp // T1
	RecvTime       Timestamp // T2
	XmitTime       Timestamp // T3
}

// ParsePacket decodes the header of an SNTP/NTP packet. Bytes past the
// first 48 (NTPv4 extension fields and MAC) are ignored. A packet shorter
// than 48 bytes is ErrShort; version 0 or above 4 is ErrVersion. The mode is
// not checked: that depends on who receives the packet (see Reply and
// CheckReply).
func ParsePacket(b []byte) (Packet, error) {
	if len(b) < PacketLen {
		return Packet{}, fmt.Errorf("%w: %d bytes, want %d", ErrShort, len(b), PacketLen)
	}
	b = b[:PacketLen] // one bounds check for all reads below
	p := Packet{
		Leap:           b[0] >> 6,
		Version:        b[0] >> 3 & 7,
		Mode:           b[0] & 7,
		Stratum:        b[1],
		Poll:           int8(b[2]),
		Precision:      int8(b[3]),
		RootDelay:      Short(binary.BigEndian.Uint32(b[4:])),
		RootDispersion: Short(binary.BigEndian.Uint32(b[8:])),
		RefID:          [4]byte(b[12:16]),
		RefTime:        Timestamp(binary.BigEndian.Uint64(b[16:])),
		OrigTime:       Timestamp(binary.BigEndian.Uint64(b[24:])),
		RecvTime:       Timestamp(binary.BigEndian.Uint64(b[32:])),
		XmitTime:       Timestamp(binary.BigEndian.Uint64(b[40:])),
	}
	if err := checkVersion(p.Version); err != nil {
		return Packet{}, err
	}
	return p, nil
}

// Append appends the 48-byte encoding of p to b. It does not allocate when b
// has room for 48 more bytes. Only the low 2 bits of Leap and the low 3 bits
// of Version and Mode are encoded; other fields are written as they are.
func (p *Packet) Append(b []byte) []byte {
	n := len(b)
	b = slices.Grow(b, PacketLen)[:n+PacketLen]
	w := b[n:]
	w[0] = p.Leap&3<<6 | p.Version&7<<3 | p.Mode&7
	w[1] = p.Stratum
	w[2] = byte(p.Poll)
	w[3] = byte(p.Precision)
	binary.BigEndian.PutUint32(w[4:], uint32(p.RootDelay))
	binary.BigEndian.PutUint32(w[8:], uint32(p.RootDispersion))
	copy(w[12:16], p.RefID[:])
	binary.BigEndian.PutUint64(w[16:], uint64(p.RefTime))
	binary.BigEndian.PutUint64(w[24:], uint64(p.OrigTime))
	binary.BigEndian.PutUint64(w[32:], uint64(p.RecvTime))
	binary.BigEndian.PutUint64(w[40:], uint64(p.XmitTime))
	return b
}

func checkVersion(v uint8) error {
	if v < MinVersion || v > MaxVersion {
		return fmt.Errorf("%w %d", ErrVersion, v)
	}
	return nil
}
