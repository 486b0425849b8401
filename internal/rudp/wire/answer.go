package wire

import "bytes"

// AckFor builds the ACK a receiver sends for f, crc 0 like every ACK:
//
//   - for an INF, one repeating its seq, count, size and data (the Data
//     aliases f.Data);
//   - for a KPA, the all-zero ACK;
//   - for anything else, one repeating seq, count and size with no data.
//     The protocol acknowledges only INF, DAT (when its crc is good) and
//     KPA: a receiver never answers an ACK, NACK or FIN.
func AckFor(f Frame) Frame {
	switch f.Type {
	case INF:
		return Frame{Header: Header{Seq: f.Seq, Count: f.Count, Size: f.Size, Type: ACK}, Data: f.Data}
	case KPA:
		return Frame{Header: Header{Type: ACK}}
	}
	return Frame{Header: Header{Seq: f.Seq, Count: f.Count, Size: f.Size, Type: ACK}}
}

// NackFor builds the NACK a receiver sends for a DAT whose crc failed (the
// frame Parse returns with ErrCRC): it repeats seq, count and size with no
// data and crc 0. Those fields come from a damaged frame, so a sender must
// match the NACK against what it sent (Answers) before resending. The
// legacy protocol NACKs only DAT frames; a damaged INF is dropped, and the
// sender's timeout resends it.
func NackFor(f Frame) Frame {
	return Frame{Header: Header{Seq: f.Seq, Count: f.Count, Size: f.Size, Type: NACK}}
}

// KeepAlive returns a KPA frame: all fields zero, no data. A sender sends
// one every few seconds after its first transfer; the receiver answers
// AckFor(it), the all-zero ACK.
func KeepAlive() Frame { return Frame{Header: Header{Type: KPA}} }

// Fin returns a FIN frame: all fields zero, no data. Either side may send
// it to end the session; it is not answered.
func Fin() Frame { return Frame{Header: Header{Type: FIN}} }

// Answers reports whether answer is the ACK or NACK of sent, as a
// stop-and-wait sender must check before moving on (ACK) or resending
// (NACK): same seq, count and size, and for the ACK of an INF the same
// data. Only INF, DAT and KPA frames are answered, a KPA by the all-zero
// ACK alone. A NACK of an INF, which the protocol does not send, is still
// recognised, since resending is the right response to it.
func Answers(sent, answer Frame) bool {
	switch {
	case answer.Type != ACK && answer.Type != NACK:
		return false
	case sent.Type == KPA:
		return answer.Type == ACK && answer.Seq == 0 && answer.Count == 0 && answer.Size == 0 && len(answer.Data) == 0
	case sent.Type != INF && sent.Type != DAT:
		return false
	case answer.Seq != sent.Seq || answer.Count != sent.Count || answer.Size != sent.Size:
		return false
	case answer.Type == NACK:
		return len(answer.Data) == 0
	case sent.Type == INF:
		return bytes.Equal(answer.Data, sent.Data)
	}
	return len(answer.Data) == 0
}
