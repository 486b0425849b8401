// Package timeproto holds the wire codecs and clock arithmetic of the
// standard time protocols, with no sockets: every function works on []byte
// and time.Time, so servers and clients elsewhere in netkit can share it and
// tests can drive it without a network. Everything here is safe for
// concurrent use; nothing keeps state.
//
// # RFC 868 Time Protocol (TCP or UDP port 37)
//
// The server sends one 32-bit big-endian count of seconds since
// 1900-01-01 00:00:00 UTC and nothing else:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                   seconds since 1900 (mod 2^32)               |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The count wraps on 2036-02-07 06:28:16 UTC. Like SNTP below, a value with
// the top bit clear is read as belonging to the era after the wrap, so the
// 32 bits cover 1968-01-20 03:14:08 UTC to 2104-02-26 09:42:23 UTC.
//
// # RFC 867 Daytime Protocol (TCP or UDP port 13)
//
// The server sends one human-readable ASCII line; the RFC fixes no format.
// netkit always sends UTC in the RFC's example style:
//
//	Saturday, November 21, 2026 22:04:05-UTC\r\n
//
// # netkit time service (line protocol)
//
// The client sends one command line; the server answers each with one line
// until QUIT:
//
//	TIME\r\n  ->  2026-11-21T22:04:05.123Z\r\n        (UTC, RFC 3339, ms)
//	ISO\r\n   ->  2026-11-21T23:04:05.123+01:00\r\n   (server's local zone)
//	QUIT\r\n  ->  connection closed
//
// Commands are case-insensitive; surrounding blanks and the line ending are
// ignored.
//
// # SNTP (RFC 4330) / NTPv4 (RFC 5905) packet (UDP port 123)
//
// 48 bytes, big-endian. Extension fields and the MAC that NTPv4 allows after
// byte 48 are ignored when parsing and never written.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|LI | VN  |Mode |    Stratum    |     Poll      |   Precision   |  0
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                   Root Delay (short format)                   |  4
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                Root Dispersion (short format)                 |  8
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                   Reference Identifier (4 bytes)              | 12
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                Reference Timestamp (timestamp format)         | 16
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                Originate Timestamp (T1, client send)          | 24
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                Receive Timestamp   (T2, server receive)       | 32
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                Transmit Timestamp  (T3, server send)          | 40
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     extension fields and MAC (NTPv4, optional, ignored)       | 48
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// LI is the leap indicator (3 = clock unsynchronized), VN the version (1 to
// 4), Poll and Precision are signed log2 seconds. A Timestamp is 64 bits:
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|           seconds since 1900-01-01 00:00 UTC (mod 2^32)       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                fraction of a second (units of 2^-32 s)        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// and a Short is 32 bits, 16 of seconds and 16 of fraction:
//
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|            seconds            |     fraction (2^-16 s)        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
package timeproto

import "errors"

var (
	// ErrShort reports a message shorter than its fixed wire size.
	ErrShort = errors.New("timeproto: message too short")
	// ErrLength reports a fixed-size message followed by extra bytes.
	ErrLength = errors.New("timeproto: wrong message length")
	// ErrVersion reports an NTP version other than 1 to 4.
	ErrVersion = errors.New("timeproto: unsupported NTP version")
	// ErrMode reports an NTP packet whose mode does not fit where it was
	// received: a server must drop such requests without answering.
	ErrMode = errors.New("timeproto: unexpected NTP mode")
	// ErrUnknownCommand reports a time-service command line that is not
	// TIME, ISO or QUIT.
	ErrUnknownCommand = errors.New("timeproto: unknown command")
	// ErrBadReply reports a time-service reply line that is not an
	// RFC 3339 time.
	ErrBadReply = errors.New("timeproto: malformed time reply")
	// ErrDaytime reports a daytime line in no format ParseDaytime knows.
	ErrDaytime = errors.New("timeproto: unrecognised daytime format")
	// ErrOrigin reports an SNTP reply whose originate timestamp is not the
	// request's transmit timestamp: a stale, duplicated or forged reply.
	ErrOrigin = errors.New("timeproto: reply does not match request")
	// ErrKissOfDeath reports an SNTP reply with stratum 0. The error
	// returned is a *KissError carrying the server's code.
	ErrKissOfDeath = errors.New("timeproto: kiss-o'-death")
	// ErrUnsynchronized reports an SNTP reply whose leap indicator says the
	// server's clock is not synchronized.
	ErrUnsynchronized = errors.New("timeproto: server clock not synchronized")
	// ErrZeroTransmit reports an SNTP reply with no transmit timestamp.
	ErrZeroTransmit = errors.New("timeproto: reply has zero transmit timestamp")
)
