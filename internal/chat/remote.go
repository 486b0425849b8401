package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Events from other instances are checked as local input is: whoever can
// publish on the room's NATS subject could otherwise send control
// characters, overlong lines or impossible nicknames to every user. An
// event passes only if local input could have made it.

// ErrBadEvent is returned for an event from another instance that no
// instance would publish: one that local input could not have made.
var ErrBadEvent = errors.New("chat: invalid event from another instance")

// Bounds on events from other instances.
const (
	// maxRemoteEvent bounds an event's JSON: a message of MaxTextLen with
	// every byte escaped, or a batch of names, is well under it.
	maxRemoteEvent = 16 << 10
	// maxRemoteReason bounds a leave or kick reason, which may hold a
	// user's text after a word ("quit: see you").
	maxRemoteReason = MaxTextLen + 64
	// maxRemoteUsers bounds the names of a batch of joins or leaves:
	// one of MaxListLine holds fewer.
	maxRemoteUsers = MaxListLine / 2
	maxOriginLen   = 64
)

// DecodeRemote decodes an event published by another instance and checks
// it as CheckRemote does.
func DecodeRemote(data []byte) (*Event, error) {
	if len(data) > maxRemoteEvent {
		return nil, fmt.Errorf("%w: %d bytes (limit %d)", ErrBadEvent, len(data), maxRemoteEvent)
	}
	if !utf8.Valid(data) {
		// encoding/json would take it, turning the bad bytes into U+FFFD.
		return nil, fmt.Errorf("%w: not UTF-8", ErrBadEvent)
	}
	e := new(Event)
	if err := json.Unmarshal(data, e); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEvent, err)
	}
	if err := CheckRemote(e); err != nil {
		return nil, err
	}
	return e, nil
}

// CheckRemote reports whether e is an event another instance could have
// published: a type passed between instances, with the fields it shows
// holding valid nicknames (as NormalizeNick makes them, or the console's
// "admin") and text as CleanText leaves it, within MaxTextLen. The error
// wraps ErrBadEvent.
func CheckRemote(e *Event) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrBadEvent, e.Type, fmt.Sprintf(format, args...))
	}
	if e.Origin == "" || len(e.Origin) > maxOriginLen {
		return bad("origin of %d bytes", len(e.Origin))
	}
	if e.Addrs != nil {
		return bad("addresses are for an admin's /who alone")
	}
	nick := func(what, n string) error {
		if n == AdminNick {
			return nil
		}
		if norm, err := NormalizeNick(n); err != nil || norm != n {
			return bad("%s %q is not a nickname", what, n)
		}
		return nil
	}
	text := func(what, s string, limit int, required bool) error {
		switch {
		case len(s) > limit:
			return bad("%s of %d bytes (limit %d)", what, len(s), limit)
		case required && s == "":
			return bad("no %s", what)
		case !utf8.ValidString(s) || clean(s) != s:
			return bad("%s %q is not clean text", what, s)
		}
		return nil
	}
	names := func() error {
		if (e.Nick == "") == (len(e.Users) == 0) {
			return bad("one nick or a list of users")
		}
		if len(e.Users) > maxRemoteUsers {
			return bad("%d users (limit %d)", len(e.Users), maxRemoteUsers)
		}
		if e.Nick != "" {
			return nick("nick", e.Nick)
		}
		for _, n := range e.Users {
			if err := nick("user", n); err != nil {
				return err
			}
		}
		return nil
	}
	switch e.Type {
	case TypeMsg, TypeMe:
		return errors.Join(nick("from", e.From), text("text", e.Text, MaxTextLen, true))
	case TypePrivate:
		return errors.Join(nick("from", e.From), nick("to", e.To), text("text", e.Text, MaxTextLen, true))
	case TypeJoin:
		return errors.Join(names(), text("text", e.Text, 0, false))
	case TypeLeave:
		return errors.Join(names(), text("reason", e.Text, maxRemoteReason, false))
	case TypeKick, typeKickRequest:
		return errors.Join(nick("nick", e.Nick), nick("by", e.By), text("reason", e.Text, maxRemoteReason, false))
	case TypeNick:
		return errors.Join(nick("nick", e.Nick), nick("new nick", e.NewNick))
	case TypeSystem:
		return text("text", e.Text, MaxTextLen, true)
	case typeBan, typeUnban:
		if e.Type == typeBan {
			if err := nick("by", e.By); err != nil {
				return err
			}
			if e.Until.IsZero() {
				return bad("no end")
			}
		}
		if (e.Nick == "") == (e.Text == "") {
			return bad("one nick or one address range")
		}
		if e.Nick != "" {
			return nick("nick", e.Nick)
		}
		if _, _, isAddr := ParseBanTarget(e.Text); !isAddr {
			return bad("%q is not an address range", e.Text)
		}
		return nil
	}
	return bad("not passed between instances")
}
