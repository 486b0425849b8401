package rudp

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"

	"github.com/netkit/netkit/internal/rudp/wire"
)

// Directions of a FrameTrace.
const (
	TraceIn  = "in"
	TraceOut = "out"
)

// FrameTrace is one datagram sent or received, as a driver reports it to
// a Trace hook for a frame log (netkit udp -v).
type FrameTrace struct {
	// Dir is TraceIn or TraceOut.
	Dir string
	// Peer is the other side.
	Peer netip.AddrPort
	// Frame is the datagram as wire.Parse decoded it. When Err is set it
	// is zero, or, with wire.ErrCRC, the damaged frame as decoded.
	Frame wire.Frame
	Err   error
	// Raw is the datagram.
	Raw []byte
	// Ext reports an extended frame: XHeader is its header and Body its
	// body in the clear (opened, in a sealed session), and Frame is zero.
	// Err, if set, says why it was dropped; Body is then nil. The state
	// machines report extended frames themselves, as only they hold the
	// keys.
	Ext     bool
	XHeader wire.XHeader
	Body    []byte
	// Damaged marks a frame sent with a bit flipped on purpose
	// (SendOptions.CorruptEvery); Body is what it carried before.
	Damaged bool
}

// previewLen is how many data bytes a trace line shows.
const previewLen = 24

// String formats the trace as one line: direction, type, seq/count, size,
// crc (and whether it is good), and a preview of the data, e.g.
//
//	> DAT   seq 5/9 size 4 crc a953e348 "It i"
func (t FrameTrace) String() string {
	return t.Format(false)
}

// Format is String, followed when raw is set by the datagram in hex.
func (t FrameTrace) Format(raw bool) string {
	var b strings.Builder
	arrow := "<"
	if t.Dir == TraceOut {
		arrow = ">"
	}
	f := t.Frame
	switch {
	case t.Ext:
		h := t.XHeader
		fmt.Fprintf(&b, "%s %-9v session %08x pn %d", arrow, h.Type, h.Session, h.PN)
		switch {
		case t.Err != nil:
			fmt.Fprintf(&b, " %d bytes, dropped: %v", len(t.Raw), t.Err)
		case t.Body != nil:
			b.WriteString(describeBody(h.Type, t.Body))
		}
		if t.Body != nil && len(t.Raw) >= wire.HeaderLen && binary.BigEndian.Uint32(t.Raw[9:]) == 0 && h.Type.Sealable() {
			b.WriteString(" (sealed)")
		}
		if t.Damaged {
			b.WriteString(" DAMAGED on purpose")
		}
	case t.Err != nil && f.Header == (wire.Header{}) && len(f.Data) == 0:
		fmt.Fprintf(&b, "%s ?     %d bytes: %v", arrow, len(t.Raw), t.Err)
	default:
		fmt.Fprintf(&b, "%s %-5v seq %d/%d size %d crc %08x", arrow, f.Type, f.Seq, f.Count, f.Size, f.CRC)
		if t.Err != nil {
			b.WriteString(" BAD")
		}
		if len(f.Data) > 0 {
			b.WriteString(" ")
			b.WriteString(preview(f.Data))
		}
	}
	if raw {
		b.WriteString("\n    ")
		b.WriteString(hex.EncodeToString(t.Raw))
	}
	return b.String()
}

// preview quotes the start of data, printable ASCII as it is and the rest
// as dots, so a trace line never carries control characters.
func preview(data []byte) string {
	n := min(len(data), previewLen)
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range data[:n] {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		default:
			b.WriteByte('.')
		}
	}
	b.WriteByte('"')
	if n < len(data) {
		fmt.Fprintf(&b, "+%d", len(data)-n)
	}
	return b.String()
}

// traceDatagram reports datagram b to fn, decoding it again: tracing is
// for people, and costs a parse only when asked for.
func traceDatagram(fn func(FrameTrace), dir string, peer netip.AddrPort, b []byte) {
	if wire.IsExtended(b) {
		return // the state machines report these, in the clear
	}
	f, err := wire.Parse(b)
	fn(FrameTrace{Dir: dir, Peer: peer, Frame: f, Err: err, Raw: b})
}

// describeBody describes an extended frame's body, in the clear, for a
// trace line.
func describeBody(t wire.Type, body []byte) string {
	switch t {
	case wire.HELLO:
		if h, err := wire.ParseHello(body); err == nil {
			return fmt.Sprintf(" version %d flags %d", h.Version, h.Flags)
		}
	case wire.WELCOME:
		if w, err := wire.ParseWelcome(body); err == nil {
			return fmt.Sprintf(" version %d flags %d window %d", w.Version, w.Flags, w.Window)
		}
	case wire.REJECT:
		if r, err := wire.ParseReject(body); err == nil {
			return fmt.Sprintf(" %v %q", r.Code, r.Message)
		}
	case wire.OPEN:
		if o, err := wire.ParseOpen(body); err == nil {
			return fmt.Sprintf(" tid %d %c size %d F %d %q", o.TID, o.Kind, o.Size, o.FragSize, o.Name)
		}
	case wire.ACCEPT:
		if a, err := wire.ParseAccept(body); err == nil {
			return fmt.Sprintf(" tid %d offset %d window %d", a.TID, a.Offset, a.Window)
		}
	case wire.DATA:
		if tid, idx, frag, err := wire.ParseData(body); err == nil {
			return fmt.Sprintf(" tid %d idx %d size %d %s", tid, idx, len(frag), preview(frag))
		}
	case wire.SACK:
		var a wire.Ack
		if wire.ParseAck(body, &a) == nil {
			return fmt.Sprintf(" tid %d cum %d limit %d largest %d ranges %v", a.TID, a.Cum, a.Limit, a.Largest, a.Ranges[:a.N])
		}
	case wire.END:
		if e, err := wire.ParseEnd(body); err == nil {
			return fmt.Sprintf(" tid %d sha256 %x", e.TID, e.Sum[:8])
		}
	case wire.DONE, wire.ABORT:
		if r, err := wire.ParseResult(body); err == nil {
			return fmt.Sprintf(" tid %d %v %q", r.TID, r.Code, r.Text)
		}
	default:
		return ""
	}
	return fmt.Sprintf(" %d bytes, malformed", len(body))
}
