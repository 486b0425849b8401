// Package envelope is the wire format of netkit's encrypted messages: the
// JSON envelope every message is, and the sealed-box token that carries
// one to a server known only by its public key. It holds pure functions
// over []byte and no connection state; package msg is the server and
// client that use it.
//
// An envelope is a JSON object:
//
//	{"id": "5f0c...", "type": "ping", "sender": "alice",
//	 "time": "2026-12-04T13:00:00Z", "body": ..., "reply_to": "..."}
//
// id is 128 random bits in lower-case hex (32 characters), type one of
// the Type constants, sender 1 to 64 characters, time UTC in RFC 3339,
// body any JSON value (absent means null), reply_to the id answered, on
// replies and errors only. Unknown fields are ignored, as a newer peer
// may send more.
package envelope

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
)

// Type is what an envelope asks for or answers.
type Type string

// The message types. Clients send Handshake, Ping, Time, Echo and
// Broadcast; servers answer with Reply or Error and push Broadcast.
const (
	Handshake Type = "handshake"
	Ping      Type = "ping"
	Time      Type = "time"
	Echo      Type = "echo"
	Broadcast Type = "broadcast"
	Reply     Type = "reply"
	Error     Type = "error"
)

// Types lists every type, requests first.
var Types = []Type{Handshake, Ping, Time, Echo, Broadcast, Reply, Error}

// IsRequest reports whether a client may send t to a server.
func (t Type) IsRequest() bool {
	switch t {
	case Handshake, Ping, Time, Echo, Broadcast:
		return true
	}
	return false
}

func (t Type) known() bool { return t.IsRequest() || t == Reply || t == Error }

// MaxSender is the longest sender name, in bytes.
const MaxSender = 64

// Errors of Parse. Each names the field at fault; all wrap ErrMalformed
// but ErrUnknownType.
var (
	ErrMalformed   = errors.New("envelope: malformed")
	ErrJSON        = fmt.Errorf("%w: not valid JSON", ErrMalformed)
	ErrNotObject   = fmt.Errorf("%w: not a JSON object", ErrMalformed)
	ErrID          = fmt.Errorf("%w: id must be 32 lower-case hex digits", ErrMalformed)
	ErrSender      = fmt.Errorf("%w: sender must be 1 to %d bytes of UTF-8", ErrMalformed, MaxSender)
	ErrTime        = fmt.Errorf("%w: time must be RFC 3339", ErrMalformed)
	ErrReplyTo     = fmt.Errorf("%w: reply_to must be an id", ErrMalformed)
	ErrUnknownType = errors.New("envelope: unknown type")
)

// Envelope is one message.
type Envelope struct {
	ID      string          `json:"id"`
	Type    Type            `json:"type"`
	Sender  string          `json:"sender"`
	Time    time.Time       `json:"time"`
	Body    json.RawMessage `json:"body,omitempty"`
	ReplyTo string          `json:"reply_to,omitempty"`
}

// NewID returns a random 128-bit id in hex.
func NewID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// New returns an envelope of type t from sender, with a fresh id, the
// time now and body (nil for none) encoded as JSON.
func New(t Type, sender string, body any) (*Envelope, error) {
	e := &Envelope{ID: NewID(), Type: t, Sender: sender, Time: time.Now().UTC().Truncate(time.Millisecond)}
	if body != nil {
		b, err := marshalBody(body)
		if err != nil {
			return nil, fmt.Errorf("envelope: body: %w", err)
		}
		e.Body = b
	}
	return e, nil
}

// Answer returns an envelope of type t answering e, from sender.
func (e *Envelope) Answer(t Type, sender string, body any) (*Envelope, error) {
	r, err := New(t, sender, body)
	if err != nil {
		return nil, err
	}
	r.ReplyTo = e.ID
	return r, nil
}

// Append appends e's JSON to dst: the bytes json.Marshal makes of it
// (appendFast, with json.Marshal where it cannot be sure to match).
func Append(dst []byte, e *Envelope) ([]byte, error) {
	if out, ok := appendFast(dst, e); ok {
		return out, nil
	}
	b, err := json.Marshal(e)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// fields are an envelope's members as read, before they are checked.
type fields struct {
	id, typ, sender, time, replyTo                 string
	hasID, hasType, hasSender, hasTime, hasReplyTo bool
	body                                           json.RawMessage
}

// Parse decodes and checks an envelope. A type that is not one of Types
// gives the envelope with ErrUnknownType, so that the answer can name
// the id it refuses.
func Parse(b []byte) (*Envelope, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, ErrJSON
	}
	if b[0] != '{' {
		if !json.Valid(b) {
			return nil, ErrJSON
		}
		return nil, ErrNotObject
	}
	var f fields
	if !decodeFast(b, &f) {
		var err error
		if f, err = decodeReflect(b); err != nil {
			return nil, err
		}
	}
	return check(&f)
}

// decodeReflect reads an envelope's members with encoding/json: what
// decodeFast leaves to it, and the reference it is tested against.
func decodeReflect(b []byte) (fields, error) {
	var raw struct {
		ID      *string         `json:"id"`
		Type    *string         `json:"type"`
		Sender  *string         `json:"sender"`
		Time    *string         `json:"time"`
		Body    json.RawMessage `json:"body"`
		ReplyTo *string         `json:"reply_to"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fields{}, ErrJSON
		}
		return fields{}, fmt.Errorf("%w: %v", ErrMalformed, fieldError(err))
	}
	f := fields{body: raw.Body}
	str := func(p *string, s *string, has *bool) {
		if p != nil {
			*s, *has = *p, true
		}
	}
	str(raw.ID, &f.id, &f.hasID)
	str(raw.Type, &f.typ, &f.hasType)
	str(raw.Sender, &f.sender, &f.hasSender)
	str(raw.Time, &f.time, &f.hasTime)
	str(raw.ReplyTo, &f.replyTo, &f.hasReplyTo)
	return f, nil
}

// check turns the members read into an envelope.
func check(f *fields) (*Envelope, error) {
	e := &Envelope{Body: f.body}
	if !f.hasID || !isID(f.id) {
		return nil, ErrID
	}
	e.ID = f.id
	if !f.hasType {
		return e, fmt.Errorf("%w: type is missing", ErrMalformed)
	}
	e.Type = Type(f.typ)
	if !f.hasSender || f.sender == "" || len(f.sender) > MaxSender || !utf8.ValidString(f.sender) {
		return e, ErrSender
	}
	e.Sender = f.sender
	if !f.hasTime {
		return e, ErrTime
	}
	t, err := time.Parse(time.RFC3339Nano, f.time)
	if err != nil {
		return e, ErrTime
	}
	e.Time = t.UTC()
	if f.hasReplyTo {
		if !isID(f.replyTo) {
			return e, ErrReplyTo
		}
		e.ReplyTo = f.replyTo
	}
	if bytes.Equal(e.Body, []byte("null")) {
		e.Body = nil
	}
	if !e.Type.known() {
		return e, fmt.Errorf("%w %q", ErrUnknownType, e.Type)
	}
	return e, nil
}

// fieldError names the field a json.UnmarshalTypeError is about.
func fieldError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("%s must be a %s, not a %s", te.Field, "string", te.Value)
	}
	return err
}

func isID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
