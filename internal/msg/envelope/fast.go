package envelope

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// The fast paths of Parse, Append and New. encoding/json's reflection
// was over half the work of answering a message. These read and write
// the envelope's few members directly, with jsontext as the tokenizer,
// and hand anything they cannot be sure to treat exactly as
// encoding/json does (escapes, duplicate or case-folded names, invalid
// UTF-8, non-string members, characters json.Marshal escapes) to
// encoding/json, so that what is accepted, refused and written is the
// same byte for byte (TestFastMatchesReflect, FuzzFastMatchesReflect).

// fastDecoder is a pooled jsontext.Decoder over a bytes.Reader.
type fastDecoder struct {
	r bytes.Reader
	d *jsontext.Decoder
}

var decoders = sync.Pool{New: func() any {
	fd := new(fastDecoder)
	fd.d = jsontext.NewDecoder(&fd.r)
	return fd
}}

// memberNames are the members Parse reads, as encoding/json matches them
// (without regard to case).
var memberNames = []string{"id", "type", "sender", "time", "body", "reply_to"}

// decodeFast reads b's members into f, reporting false when b is to be
// read by decodeReflect instead.
func decodeFast(b []byte, f *fields) bool {
	fd := decoders.Get().(*fastDecoder)
	defer func() {
		fd.r.Reset(nil)
		fd.d.Reset(&fd.r)
		decoders.Put(fd)
	}()
	fd.r.Reset(b)
	fd.d.Reset(&fd.r)
	d := fd.d
	if tok, err := d.ReadToken(); err != nil || tok.Kind() != '{' {
		return false
	}
	for {
		switch d.PeekKind() {
		case '}':
			if _, err := d.ReadToken(); err != nil {
				return false
			}
			// Nothing may follow the object.
			_, err := d.ReadToken()
			return err == io.EOF
		case '"':
		default:
			return false
		}
		name, err := d.ReadValue()
		if err != nil {
			return false
		}
		var (
			s   *string
			has *bool
		)
		switch string(name) {
		case `"id"`:
			s, has = &f.id, &f.hasID
		case `"type"`:
			s, has = &f.typ, &f.hasType
		case `"sender"`:
			s, has = &f.sender, &f.hasSender
		case `"time"`:
			s, has = &f.time, &f.hasTime
		case `"reply_to"`:
			s, has = &f.replyTo, &f.hasReplyTo
		case `"body"`:
			v, err := d.ReadValue()
			if err != nil {
				return false
			}
			f.body = bytes.Clone(v)
			continue
		default:
			if !otherName(name) {
				return false
			}
			if err := d.SkipValue(); err != nil {
				return false
			}
			continue
		}
		v, err := d.ReadValue()
		if err != nil || v.Kind() != '"' || bytes.IndexByte(v, '\\') >= 0 {
			return false
		}
		*s, *has = string(v[1:len(v)-1]), true
	}
}

// otherName reports whether the quoted name is surely none of
// memberNames to encoding/json, which folds case (Unicode's too).
func otherName(quoted []byte) bool {
	name := quoted[1 : len(quoted)-1]
	for _, c := range name {
		if c == '\\' || c >= 0x80 {
			return false
		}
	}
	for _, m := range memberNames {
		if strings.EqualFold(string(name), m) {
			return false
		}
	}
	return true
}

// appendFast appends e as json.Marshal writes it, reporting false (with
// dst as it was) when it cannot be sure to match.
func appendFast(dst []byte, e *Envelope) ([]byte, bool) {
	// json.Marshal refuses years past 9999 and writes any zone's
	// offset; these are always UTC.
	if y := e.Time.Year(); y < 0 || y > 9999 {
		return dst, false
	}
	if _, off := e.Time.Zone(); off != 0 {
		return dst, false
	}
	n := len(dst)
	// Room for it all, so that dst grows once: the members' names and
	// quotes take under 80 bytes, the time 30.
	dst = slices.Grow(dst, 112+len(e.ID)+len(e.Type)+len(e.Sender)+len(e.Body)+len(e.ReplyTo))
	var ok bool
	str := func(prefix, s string) {
		if ok {
			dst = append(dst, prefix...)
			dst, ok = appendString(dst, s)
		}
	}
	ok = true
	str(`{"id":`, e.ID)
	str(`,"type":`, string(e.Type))
	str(`,"sender":`, e.Sender)
	if !ok {
		return dst[:n], false
	}
	dst = append(dst, `,"time":"`...)
	dst = e.Time.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, '"')
	if len(e.Body) > 0 {
		dst = append(dst, `,"body":`...)
		if dst, ok = appendRaw(dst, e.Body); !ok {
			return dst[:n], false
		}
	}
	if e.ReplyTo != "" {
		str(`,"reply_to":`, e.ReplyTo)
		if !ok {
			return dst[:n], false
		}
	}
	return append(dst, '}'), true
}

// appendString appends s quoted, when it needs none of the escapes
// json.Marshal would make.
func appendString(dst []byte, s string) ([]byte, bool) {
	for i := range len(s) {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return dst, false
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"'), true
}

// appendRaw appends the JSON value raw as json.Marshal writes a
// json.RawMessage: checked and compacted. It reports false (dst as it
// was) for what it would also escape (<, >, & and U+2028, U+2029, whose
// UTF-8 starts 0xe2).
func appendRaw(dst, raw []byte) ([]byte, bool) {
	for _, c := range raw {
		switch c {
		case '<', '>', '&', 0xe2:
			return dst, false
		}
	}
	if !bytes.ContainsAny(raw, " \t\r\n") {
		if !json.Valid(raw) {
			return dst, false
		}
		return append(dst, raw...), true
	}
	buf := bytes.NewBuffer(dst)
	if err := json.Compact(buf, raw); err != nil {
		return dst, false
	}
	return buf.Bytes(), true
}

// marshalBody is json.Marshal(body), directly for a string or a
// json.RawMessage when it can.
func marshalBody(body any) ([]byte, error) {
	switch v := body.(type) {
	case string:
		if b, ok := appendString(nil, v); ok {
			return b, nil
		}
	case json.RawMessage:
		if len(v) > 0 {
			if b, ok := appendRaw(nil, v); ok {
				return b, nil
			}
		}
	}
	return json.Marshal(body)
}
