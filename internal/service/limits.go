package service

import "time"

// Default limits, used where a Limits field is zero.
const (
	DefaultMaxConns         = 16384
	DefaultMaxConnsPerIP    = 256
	DefaultIdleTimeout      = 5 * time.Minute
	DefaultWriteTimeout     = 10 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
)

// Limits bounds what one server accepts. The zero value gives the defaults
// above; a negative count or duration means "no limit".
type Limits struct {
	// MaxConns is the most connections open at once.
	MaxConns int
	// MaxConnsPerIP is the most connections open at once from one address.
	MaxConnsPerIP int
	// IdleTimeout closes a connection that sends nothing for this long.
	IdleTimeout time.Duration
	// WriteTimeout closes a connection that does not take what is written
	// to it within this long: a client that never reads.
	WriteTimeout time.Duration
	// HandshakeTimeout bounds the TLS handshake.
	HandshakeTimeout time.Duration
	// MaxLineLength bounds one line of a line-based protocol.
	MaxLineLength int
}

func orInt(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

func orDuration(v, def time.Duration) time.Duration {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// normalized returns l with defaults filled in; a zero in the result means
// "no limit".
func (l Limits) normalized() Limits {
	return Limits{
		MaxConns:         orInt(l.MaxConns, DefaultMaxConns),
		MaxConnsPerIP:    orInt(l.MaxConnsPerIP, DefaultMaxConnsPerIP),
		IdleTimeout:      orDuration(l.IdleTimeout, DefaultIdleTimeout),
		WriteTimeout:     orDuration(l.WriteTimeout, DefaultWriteTimeout),
		HandshakeTimeout: orDuration(l.HandshakeTimeout, DefaultHandshakeTimeout),
		MaxLineLength:    orInt(l.MaxLineLength, DefaultMaxLineLength),
	}
}
