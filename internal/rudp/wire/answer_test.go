package wire

import (
	"bytes"
	"testing"
)

func TestAckFor(t *testing.T) {
	tests := []struct {
		name string
		f    Frame
		want string // hex of the encoded ACK
	}{
		{"INF repeats everything", Frame{hdr(INF, 4, 9, 4), []byte("F")}, fileExample[1].wire},
		{"DAT repeats header without data", Frame{hdr(DAT, 9, 9, 3), []byte("le.")}, fileExample[19].wire},
		{"KPA is answered by zeros", KeepAlive(), "00000000000000000100000000"},
		{"CRC field not repeated", Frame{Header{Seq: 1, Count: 6, Size: 4, Type: DAT, CRC: 0x451e7cd0}, []byte("Toto")}, textExample[3].wire},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ack := AckFor(tt.f)
			if got, want := Append(nil, ack), mustHex(t, tt.want); !bytes.Equal(got, want) {
				t.Errorf("Append(AckFor(%+v)) = %x, want %x", tt.f.Header, got, want)
			}
			if !Answers(tt.f, ack) {
				t.Errorf("Answers(f, AckFor(f)) = false for %+v", tt.f.Header)
			}
			if _, err := Parse(Append(nil, ack)); err != nil {
				t.Errorf("Parse(AckFor(f)): %v", err)
			}
		})
	}
}

func TestNackFor(t *testing.T) {
	dat := Frame{Header{Seq: 2, Count: 9, Size: 4, Type: DAT, CRC: 0x61ba98fa}, []byte("lFil")}
	nack := NackFor(dat)
	if want := (Frame{Header: hdr(NACK, 2, 9, 4)}); !sameFrame(nack, want) {
		t.Errorf("NackFor(%+v) = %+v, want %+v", dat.Header, nack.Header, want.Header)
	}
	if got, want := Append(nil, nack), mustHex(t, "00000200000900040200000000"); !bytes.Equal(got, want) {
		t.Errorf("Append(NackFor) = %x, want %x", got, want)
	}
}

func TestKeepAliveFin(t *testing.T) {
	if got, want := Append(nil, KeepAlive()), mustHex(t, "00000000000000000400000000"); !bytes.Equal(got, want) {
		t.Errorf("KeepAlive = %x, want %x", got, want)
	}
	if got, want := Append(nil, Fin()), mustHex(t, "00000000000000000500000000"); !bytes.Equal(got, want) {
		t.Errorf("Fin = %x, want %x", got, want)
	}
}

func TestAnswers(t *testing.T) {
	inf := Frame{hdr(INF, 4, 9, 4), []byte("F")}
	dat := Frame{hdr(DAT, 4, 9, 1), []byte("n")}
	ack := func(seq, count uint32, size uint16, data string) Frame {
		f := Frame{Header: hdr(ACK, seq, count, size)}
		if data != "" {
			f.Data = []byte(data)
		}
		return f
	}
	tests := []struct {
		name         string
		sent, answer Frame
		want         bool
	}{
		{"ACK of INF", inf, ack(4, 9, 4, "F"), true},
		{"ACK of INF with nonzero crc", inf, Frame{Header{Seq: 4, Count: 9, Size: 4, Type: ACK, CRC: 7}, []byte("F")}, true},
		{"ACK of INF without data", inf, ack(4, 9, 4, ""), false},
		{"ACK of INF with other kind", inf, ack(4, 9, 4, "T"), false},
		{"NACK of INF", inf, NackFor(inf), true},
		{"ACK of DAT", dat, ack(4, 9, 1, ""), true},
		{"NACK of DAT", dat, NackFor(dat), true},
		{"ACK of DAT with data", dat, ack(4, 9, 1, "n"), false},
		{"ACK of the INF for a DAT", dat, ack(4, 9, 4, ""), false},
		{"ACK of another seq", dat, ack(3, 9, 1, ""), false},
		{"ACK of another count", dat, ack(4, 8, 1, ""), false},
		{"NACK of another seq", dat, NackFor(Frame{Header: hdr(DAT, 5, 9, 1)}), false},
		{"DAT is no answer", dat, dat, false},
		{"KPA is no answer", KeepAlive(), KeepAlive(), false},
		{"ACK of KPA", KeepAlive(), AckFor(KeepAlive()), true},
		{"NACK of KPA", KeepAlive(), NackFor(KeepAlive()), false},
		{"ACK of KPA with fields", KeepAlive(), ack(1, 1, 1, ""), false},
		{"FIN is not answered", Fin(), AckFor(Fin()), false},
		{"ACK is not answered", ack(1, 1, 1, ""), AckFor(ack(1, 1, 1, "")), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Answers(tt.sent, tt.answer); got != tt.want {
				t.Errorf("Answers(%+v, %+v %q) = %v, want %v", tt.sent.Header, tt.answer.Header, tt.answer.Data, got, tt.want)
			}
		})
	}
}
