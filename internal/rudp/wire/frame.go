package wire

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Header is a frame's 13-byte header. Seq and Count are 24-bit fields:
// values above MaxSeq cannot be encoded.
type Header struct {
	Seq   uint32 // sequence_number
	Count uint32 // fragment_count
	Size  uint16 // fragment_size
	Type  Type   // packet_type
	// CRC is the crc field as received. Append ignores it and writes the
	// frame's real CRC (INF, DAT) or 0 (the other types).
	CRC uint32
}

// Frame is one decoded datagram. The zero value is an INF frame with all
// fields zero, which Parse rejects (an INF carries "T" or "F").
type Frame struct {
	Header
	// Data is the frame's payload. In a frame from Parse it aliases the
	// parsed buffer (with its capacity cut to its length), so it is valid
	// only until the buffer is reused; copy it to keep it.
	Data []byte
}

// Parse decodes one datagram b into a Frame and checks it against the
// legacy format: the length (ErrShort, ErrTooLong), the type (ErrType), the
// CRC (ErrCRC) and then what each field may hold for the frame's type, as
// the package comment's table gives it (ErrSize, ErrSeq, ErrKind, ErrData).
//
// The CRC is checked first, so a damaged frame is always ErrCRC, whatever
// the damage did to its fields. On ErrCRC, and only then, Parse returns the
// frame as decoded along with the error, so a receiver can answer a
// damaged DAT with NackFor; its fields must not be trusted for anything
// else. On any other error the Frame is zero.
//
// The returned Data aliases b. Parse does not allocate unless it fails.
func Parse(b []byte) (Frame, error) {
	if len(b) < HeaderLen {
		return Frame{}, fmt.Errorf("%w: %d bytes", ErrShort, len(b))
	}
	if len(b) > MaxFrame {
		return Frame{}, fmt.Errorf("%w: %d bytes", ErrTooLong, len(b))
	}
	t := Type(b[typeOffset])
	if int(t) >= len(typeNames) {
		return Frame{}, fmt.Errorf("%w %d", ErrType, t)
	}
	f := Frame{Header: Header{
		Seq:   uint24(b[0:3]),
		Count: uint24(b[3:6]),
		Size:  binary.BigEndian.Uint16(b[6:8]),
		Type:  t,
		CRC:   binary.BigEndian.Uint32(b[crcOffset:HeaderLen]),
	}}
	if len(b) > HeaderLen {
		f.Data = b[HeaderLen:len(b):len(b)]
	}
	if f.CRC != 0 || t.checked() {
		if got := checksum(b[:crcOffset], f.Data); got != f.CRC {
			return f, fmt.Errorf("%w on %v %d: got 0x%08x, want 0x%08x", ErrCRC, t, f.Seq, f.CRC, got)
		}
	}
	if err := check(&f); err != nil {
		return Frame{}, err
	}
	return f, nil
}

// check applies the per-type rules of the package comment's table to a
// frame whose length, type and CRC are already good.
func check(f *Frame) error {
	switch f.Type {
	case INF:
		return checkInfo(f)
	case DAT:
		if len(f.Data) == 0 {
			return fmt.Errorf("%w: DAT %d carries no data", ErrSize, f.Seq)
		}
		if int(f.Size) != len(f.Data) {
			return fmt.Errorf("%w: DAT %d has size %d and %d data bytes", ErrSize, f.Seq, f.Size, len(f.Data))
		}
		if f.Seq == 0 || f.Seq > f.Count {
			return fmt.Errorf("%w: DAT %d of %d", ErrSeq, f.Seq, f.Count)
		}
	case ACK:
		switch {
		case len(f.Data) > 0: // the answer to an INF repeats it
			return checkInfo(f)
		case f.Seq == 0: // the answer to a KPA is all zero
			return checkZero(f)
		case f.Seq > f.Count: // the answer to a DAT repeats a good header
			return fmt.Errorf("%w: ACK %d of %d", ErrSeq, f.Seq, f.Count)
		case f.Size == 0 || f.Size > MaxData:
			return fmt.Errorf("%w: ACK %d has size %d", ErrSize, f.Seq, f.Size)
		}
	case NACK:
		// A NACK repeats the header of a DAT whose CRC failed, which may be
		// damaged itself: nothing but its empty data can be required.
		if len(f.Data) > 0 {
			return fmt.Errorf("%w: NACK carries %d bytes", ErrData, len(f.Data))
		}
	case KPA, FIN:
		return checkZero(f)
	}
	return nil
}

// checkInfo checks an INF, or the ACK that repeats one.
func checkInfo(f *Frame) error {
	if len(f.Data) != 1 || (f.Data[0] != KindText && f.Data[0] != KindFile) {
		return fmt.Errorf("%w: %v data %q", ErrKind, f.Type, f.Data)
	}
	if f.Size == 0 || f.Size > MaxData {
		return fmt.Errorf("%w: %v has fragment size %d, want 1..%d", ErrSize, f.Type, f.Size, MaxData)
	}
	switch {
	case f.Data[0] == KindText && f.Seq != 0:
		return fmt.Errorf("%w: text %v has %d name frames", ErrSeq, f.Type, f.Seq)
	case f.Data[0] == KindFile && f.Seq == 0:
		return fmt.Errorf("%w: file %v has no name frames", ErrSeq, f.Type)
	case f.Seq > f.Count:
		return fmt.Errorf("%w: %v has %d name frames of %d", ErrSeq, f.Type, f.Seq, f.Count)
	}
	return nil
}

// checkZero checks a frame whose fields must all be zero: KPA, FIN and the
// ACK of a KPA.
func checkZero(f *Frame) error {
	switch {
	case f.Seq != 0 || f.Count != 0:
		return fmt.Errorf("%w: %v has seq %d count %d, want 0", ErrSeq, f.Type, f.Seq, f.Count)
	case f.Size != 0:
		return fmt.Errorf("%w: %v has size %d, want 0", ErrSize, f.Type, f.Size)
	case len(f.Data) > 0:
		return fmt.Errorf("%w: %v carries %d bytes", ErrData, f.Type, len(f.Data))
	}
	return nil
}

// Append appends the encoding of f to b and returns the extended slice,
// like the original: INF and DAT get their real CRC, ACK, NACK, KPA and FIN
// get crc 0; f.CRC is ignored. Size is written as given, not derived from
// Data, and nothing else about f is checked, so tests can build frames
// Parse rejects. Append does not allocate when b has room for the frame.
//
// Append panics if Seq or Count exceeds MaxSeq or Data exceeds MaxData
// bytes: such a frame has no encoding, and writing a different one would
// silently corrupt a transfer.
func Append(b []byte, f Frame) []byte {
	if !f.Type.checked() {
		return AppendWithCRC(b, f, 0)
	}
	start := len(b)
	b = AppendWithCRC(b, f, 0)
	frame := b[start:]
	binary.BigEndian.PutUint32(frame[crcOffset:], checksum(frame[:crcOffset], frame[HeaderLen:]))
	return b
}

// AppendWithCRC is Append with crc written as the crc field, whatever the
// type and whatever the frame's real CRC. It is for tests and for
// simulating damage; a sender uses Append.
func AppendWithCRC(b []byte, f Frame, crc uint32) []byte {
	if f.Seq > MaxSeq || f.Count > MaxSeq {
		panic(fmt.Sprintf("wire: %v seq %d count %d exceeds the 24-bit maximum %d", f.Type, f.Seq, f.Count, MaxSeq))
	}
	if len(f.Data) > MaxData {
		panic(fmt.Sprintf("wire: %v carries %d bytes, more than the maximum %d", f.Type, len(f.Data), MaxData))
	}
	b = append(b,
		byte(f.Seq>>16), byte(f.Seq>>8), byte(f.Seq),
		byte(f.Count>>16), byte(f.Count>>8), byte(f.Count),
		byte(f.Size>>8), byte(f.Size),
		byte(f.Type),
		byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc),
	)
	return append(b, f.Data...)
}

// Corrupt flips one bit of the encoded frame in place without touching its
// crc field, the way the legacy sender simulates a damaged datagram. The bit
// is counted from the most significant bit of the first data byte, or of
// the first header byte when the frame has no data, and taken modulo the
// number of bits there, so any non-negative int (a random one, say) picks a
// bit. Corrupt panics on an empty frame or a negative bit.
func Corrupt(frame []byte, bit int) {
	region := frame
	if len(frame) > HeaderLen {
		region = frame[HeaderLen:]
	}
	if len(region) == 0 || bit < 0 {
		panic(fmt.Sprintf("wire: Corrupt bit %d of a %d-byte frame", bit, len(frame)))
	}
	bit %= 8 * len(region)
	region[bit/8] ^= 0x80 >> (bit % 8)
}

// checksum is the frame CRC: CRC-32 IEEE over the 9 header bytes before the
// crc field, then the data.
func checksum(head, data []byte) uint32 {
	return crc32.Update(crc32.ChecksumIEEE(head), crc32.IEEETable, data)
}

func uint24(b []byte) uint32 {
	return uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
}
