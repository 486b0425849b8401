package wire

import "fmt"

// Plan is the shape of one legacy transfer: the fields of its INF frame
// and, on the sender's side, the lengths of the name and the content, which
// map every DAT sequence number to the bytes it carries. NewPlan makes a
// sender's Plan, PlanOf a receiver's from the INF it got. The zero Plan has
// no frames. A Plan is a value; its methods do not modify it.
type Plan struct {
	Kind       byte   // KindText or KindFile: the INF's data
	FragSize   int    // F, 1..MaxData: the INF's fragment_size
	NameFrames uint32 // DAT frames holding the name: the INF's sequence_number
	Count      uint32 // all DAT frames, name then content: the INF's fragment_count

	// sized is set by NewPlan, which knows both lengths. A receiver's Plan
	// learns them from the last frame of each part.
	sized      bool
	nameLen    int64
	contentLen int64
}

// Fragment locates the bytes one DAT frame carries: bytes [Start, End) of
// the file name when Name is set, of the content otherwise.
type Fragment struct {
	Name       bool
	Start, End int64
}

// NewPlan plans the sending of one transfer: kind is KindText or KindFile,
// name the file's base name (empty for a text), contentLen the length of
// the text or file in bytes and fragSize the fragment size F. It fails with
// ErrKind for another kind, ErrSize for F outside 1..MaxData, ErrBadName for
// a text with a name or a file name SanitizeName refuses (the name must
// already be a base name: the sender takes it, the receiver only vets it),
// and ErrLength for a negative length or more than MaxSeq frames in all.
//
// An empty content is sent as no content frames at all, so an empty text
// is an INF with count 0 and no DAT.
func NewPlan(kind byte, name string, contentLen int64, fragSize int) (Plan, error) {
	if kind != KindText && kind != KindFile {
		return Plan{}, fmt.Errorf("%w: %q", ErrKind, kind)
	}
	if fragSize < 1 || fragSize > MaxData {
		return Plan{}, fmt.Errorf("%w: %d, want 1..%d", ErrSize, fragSize, MaxData)
	}
	if kind == KindText && name != "" {
		return Plan{}, fmt.Errorf("%w: a text message has no name", ErrBadName)
	}
	if kind == KindFile {
		if _, err := SanitizeName(name); err != nil {
			return Plan{}, err
		}
	}
	if contentLen < 0 {
		return Plan{}, fmt.Errorf("%w: negative content length %d", ErrLength, contentLen)
	}
	nameFrames := frames(int64(len(name)), fragSize) // at most MaxName
	contentFrames := frames(contentLen, fragSize)
	if contentFrames > MaxSeq-nameFrames { // not the sum, which can overflow
		return Plan{}, fmt.Errorf("%w: %d name and %d content frames of %d bytes, more than %d",
			ErrLength, nameFrames, contentFrames, fragSize, MaxSeq)
	}
	total := nameFrames + contentFrames
	return Plan{
		Kind:       kind,
		FragSize:   fragSize,
		NameFrames: uint32(nameFrames),
		Count:      uint32(total),
		sized:      true,
		nameLen:    int64(len(name)),
		contentLen: contentLen,
	}, nil
}

// PlanOf is the receiver's Plan of the transfer an INF frame starts. The
// INF must be one Parse accepted; PlanOf checks it again (ErrType, ErrKind,
// ErrSize, ErrSeq) and also refuses, with ErrBadName, a file whose name
// frames cannot hold a name of MaxName bytes or less, so a receiver can
// buffer the name in MaxName bytes. Lengths are unknown until the last
// frame of each part arrives: see Fragment and Check.
func PlanOf(inf Frame) (Plan, error) {
	if inf.Type != INF {
		return Plan{}, fmt.Errorf("%w: %v frame does not start a transfer", ErrType, inf.Type)
	}
	if err := checkInfo(&inf); err != nil {
		return Plan{}, err
	}
	// checkInfo ensures a file has at least one name frame. All but the
	// last are full, so the name is longer than (Seq-1)*F bytes.
	if inf.Data[0] == KindFile && int64(inf.Seq-1)*int64(inf.Size) >= MaxName {
		return Plan{}, fmt.Errorf("%w: %d name frames of %d bytes hold more than %d bytes", ErrBadName, inf.Seq, inf.Size, MaxName)
	}
	return Plan{Kind: inf.Data[0], FragSize: int(inf.Size), NameFrames: inf.Seq, Count: inf.Count}, nil
}

// Info returns the INF frame that starts the transfer.
func (p Plan) Info() Frame {
	return Frame{
		Header: Header{Seq: p.NameFrames, Count: p.Count, Size: uint16(p.FragSize), Type: INF},
		Data:   []byte{p.Kind},
	}
}

// Fragment maps DAT sequence number seq (1..Count) to the bytes that frame
// carries: name frames 1..NameFrames hold the name, the rest the content,
// F bytes each but for the last of each part. On a receiver's Plan, which
// does not know the lengths, End is the most the frame may hold
// (Start + F); Check gives the exact bytes of a received frame. A seq out
// of range is ErrSeq.
func (p Plan) Fragment(seq uint32) (Fragment, error) {
	if err := p.valid(); err != nil {
		return Fragment{}, err
	}
	if seq == 0 || seq > p.Count {
		return Fragment{}, fmt.Errorf("%w: DAT %d of %d", ErrSeq, seq, p.Count)
	}
	f := int64(p.FragSize)
	fr := Fragment{Name: seq <= p.NameFrames}
	limit := p.contentLen
	if fr.Name {
		fr.Start = int64(seq-1) * f
		limit = p.nameLen
	} else {
		fr.Start = int64(seq-p.NameFrames-1) * f
	}
	fr.End = fr.Start + f
	if p.sized {
		fr.End = min(fr.End, limit)
	}
	return fr, nil
}

// Check checks a received DAT frame against the plan and returns the exact
// bytes it carries. The frame must belong to this transfer (its count is
// Count, ErrSeq otherwise) and carry what its place allows (ErrSize
// otherwise): F bytes, or 1..F for the last frame of the name or of the
// content, exactly the remaining length on a sender's Plan.
func (p Plan) Check(dat Frame) (Fragment, error) {
	if dat.Type != DAT {
		return Fragment{}, fmt.Errorf("%w: %v frame where a DAT was expected", ErrType, dat.Type)
	}
	if dat.Count != p.Count {
		return Fragment{}, fmt.Errorf("%w: DAT of %d frames in a transfer of %d", ErrSeq, dat.Count, p.Count)
	}
	fr, err := p.Fragment(dat.Seq)
	if err != nil {
		return Fragment{}, err
	}
	n := int64(len(dat.Data))
	last := dat.Seq == p.NameFrames || dat.Seq == p.Count
	switch {
	case int(dat.Size) != len(dat.Data):
		return Fragment{}, fmt.Errorf("%w: DAT %d has size %d and %d data bytes", ErrSize, dat.Seq, dat.Size, n)
	case p.sized && n != fr.End-fr.Start,
		!p.sized && last && (n < 1 || n > int64(p.FragSize)),
		!p.sized && !last && n != int64(p.FragSize):
		return Fragment{}, fmt.Errorf("%w: DAT %d of %d carries %d bytes at fragment size %d", ErrSize, dat.Seq, p.Count, n, p.FragSize)
	}
	fr.End = fr.Start + n
	return fr, nil
}

// valid guards the methods against a hand-built Plan.
func (p Plan) valid() error {
	switch {
	case p.FragSize < 1 || p.FragSize > MaxData:
		return fmt.Errorf("%w: plan has fragment size %d", ErrSize, p.FragSize)
	case p.NameFrames > p.Count || p.Count > MaxSeq:
		return fmt.Errorf("%w: plan has %d name frames of %d", ErrSeq, p.NameFrames, p.Count)
	}
	return nil
}

// frames is ceil(n/size) for n >= 0, without overflowing near MaxInt64.
func frames(n int64, size int) int64 {
	q := n / int64(size)
	if n%int64(size) != 0 {
		q++
	}
	return q
}
