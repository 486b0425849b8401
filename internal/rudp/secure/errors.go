package secure

import "errors"

var (
	// ErrAuth reports a message that failed authentication: a handshake
	// message or a frame sealed under another key, another prologue or
	// another nonce, or altered on the way. On a responder, ErrAuth from
	// Respond is how a wrong secret shows: the peer derived another key
	// from its passphrase. Open returns it unwrapped, so that dropping a
	// forged frame costs no allocation.
	ErrAuth = errors.New("secure: authentication failed")
	// ErrMalformed reports a handshake message too short to hold the
	// ephemeral key and the tag, or longer than a Noise message may be:
	// not a handshake message at all, rather than one made with another
	// secret.
	ErrMalformed = errors.New("secure: malformed handshake message")
	// ErrPassphrase reports an empty passphrase given to DeriveKey.
	ErrPassphrase = errors.New("secure: empty passphrase")
	// ErrOutOfOrder reports an Initiator step taken out of turn: Hello
	// twice, Finish before Hello, or Finish after the handshake completed.
	ErrOutOfOrder = errors.New("secure: handshake step out of order")
)
