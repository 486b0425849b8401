package rudp

import (
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
	f, err := wire.Parse(b)
	fn(FrameTrace{Dir: dir, Peer: peer, Frame: f, Err: err, Raw: b})
}
