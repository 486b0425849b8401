package impair

import (
	"errors"
	"fmt"
	"net"
)

var (
	// ErrServerClosed is returned by Relay.Serve after Shutdown or Close.
	ErrServerClosed = fmt.Errorf("impair: relay closed: %w", net.ErrClosed)
	// ErrServing is returned by Relay.Serve when the relay is already
	// serving: one Relay relays one socket.
	ErrServing = errors.New("impair: relay already serving")
	// ErrNoTarget is returned by Relay.Serve when Target is empty, cannot be
	// resolved, or is the relay's own address.
	ErrNoTarget = errors.New("impair: no usable target address")
	// ErrInvalid is returned by Impairment.Validate, and so by Relay.Serve,
	// for a probability outside 0..1 or a negative duration, rate or size.
	ErrInvalid = errors.New("impair: invalid impairment")
	// ErrSyntax is what every parse error (a *SyntaxError) unwraps to.
	ErrSyntax = errors.New("impair: invalid syntax")
)

// SyntaxError reports a value ParsePercent, ParseRate, ParseSize or
// ParseDuration could not read. It unwraps to ErrSyntax.
type SyntaxError struct {
	What  string // "percentage", "rate", "size" or "duration"
	Input string // the text given
	Want  string // what would have been accepted, with examples
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("impair: bad %s %q: want %s", e.What, e.Input, e.Want)
}

func (e *SyntaxError) Unwrap() error { return ErrSyntax }
