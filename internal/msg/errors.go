package msg

import "errors"

// Errors a message is refused with. Over HTTP each maps to a status
// (Status); over UDP none but ErrEnvelope gets an answer, so the port
// reflects nothing that the key's holders did not send.
var (
	// ErrToken: the token does not verify with any key (401).
	ErrToken = errors.New("msg: token does not verify with this server's keys (wrong key, or damaged)")
	// ErrExpired: the token is older than the TTL (401).
	ErrExpired = errors.New("msg: token expired (older than the server's --ttl)")
	// ErrFuture: the token is from more than a minute ahead (401).
	ErrFuture = errors.New("msg: token from the future (clocks more than a minute apart)")
	// ErrReplay: the message id was seen within the TTL (409).
	ErrReplay = errors.New("msg: replay: message id already seen within the TTL")
	// ErrEnvelope: the token verified but its envelope is invalid JSON,
	// lacks a field or has an unknown type (400). The answer is an error
	// envelope saying which.
	ErrEnvelope = errors.New("msg: bad envelope")
	// ErrTooLarge: the token is longer than the transport's limit (413).
	ErrTooLarge = errors.New("msg: message too large")
	// ErrBusy: the replay window is full, so no new message can be
	// accepted safely until old ids expire (503).
	ErrBusy = errors.New("msg: replay window full, try again later")
	// ErrEmpty: nothing was sent (400).
	ErrEmpty = errors.New("msg: empty message")
)

// reason is the metrics label of err.
func reason(err error) string {
	switch {
	case errors.Is(err, ErrToken):
		return "invalid_token"
	case errors.Is(err, ErrExpired):
		return "expired"
	case errors.Is(err, ErrFuture):
		return "future"
	case errors.Is(err, ErrReplay):
		return "replay"
	case errors.Is(err, ErrEnvelope):
		return "bad_envelope"
	case errors.Is(err, ErrTooLarge):
		return "too_large"
	case errors.Is(err, ErrBusy):
		return "busy"
	case errors.Is(err, ErrEmpty):
		return "empty"
	}
	return "other"
}
