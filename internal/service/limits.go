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

// orDefault returns def for zero, zero ("no limit") for a negative v, and v
// otherwise.
func orDefault[T int | time.Duration](v, def T) T {
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
		MaxConns:         orDefault(l.MaxConns, DefaultMaxConns),
		MaxConnsPerIP:    orDefault(l.MaxConnsPerIP, DefaultMaxConnsPerIP),
		IdleTimeout:      orDefault(l.IdleTimeout, DefaultIdleTimeout),
		WriteTimeout:     orDefault(l.WriteTimeout, DefaultWriteTimeout),
		HandshakeTimeout: orDefault(l.HandshakeTimeout, DefaultHandshakeTimeout),
		MaxLineLength:    orDefault(l.MaxLineLength, DefaultMaxLineLength),
	}
}
