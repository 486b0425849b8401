package timeproto

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestNewRequest(t *testing.T) {
	xmit := mustTime(t, "2026-11-21T22:04:05.25Z")
	got := NewRequest(xmit)
	want := Packet{Version: 4, Mode: ModeClient, XmitTime: 0xeeac93d5_40000000}
	if got != want {
		t.Errorf("NewRequest(%v) = %+v, want %+v", xmit, got, want)
	}
}

func TestReply(t *testing.T) {
	recv := mustTime(t, "2026-11-21T22:04:05.5Z")
	xmit := mustTime(t, "2026-11-21T22:04:05.75Z")
	// A request with junk in the fields a server must not echo.
	req := Packet{
		Leap: LeapUnsynchronized, Version: 3, Mode: ModeClient, Stratum: 9,
		Poll: 6, Precision: -6, RootDelay: 99, RootDispersion: 99,
		RefID: [4]byte{'J', 'U', 'N', 'K'}, RefTime: 1, OrigTime: 2, RecvTime: 3,
		XmitTime: 0x0123456789abcdef,
	}
	tests := []struct {
		name string
		info ServerInfo
		want Packet
	}{
		{"zero info uses defaults", ServerInfo{}, Packet{
			Leap: LeapNone, Version: 3, Mode: ModeServer, Stratum: DefaultStratum,
			Poll: 6, Precision: DefaultPrecision,
			RefID:    [4]byte{'L', 'O', 'C', 'L'},
			RefTime:  0xeeac93d5_80000000, // the receive time
			OrigTime: 0x0123456789abcdef,
			RecvTime: 0xeeac93d5_80000000,
			XmitTime: 0xeeac93d5_c0000000,
		}},
		{"explicit info", ServerInfo{
			Stratum:        1,
			RefID:          [4]byte{'G', 'P', 'S', 0},
			RefTime:        mustTime(t, "2026-11-21T22:04:05Z"),
			Precision:      -29,
			RootDispersion: 1500 * time.Millisecond,
		}, Packet{
			Leap: LeapNone, Version: 3, Mode: ModeServer, Stratum: 1,
			Poll: 6, Precision: -29,
			RootDispersion: 0x0001_8000,
			RefID:          [4]byte{'G', 'P', 'S', 0},
			RefTime:        0xeeac93d5_00000000,
			OrigTime:       0x0123456789abcdef,
			RecvTime:       0xeeac93d5_80000000,
			XmitTime:       0xeeac93d5_c0000000,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Reply(req, recv, xmit, tt.info)
			if err != nil {
				t.Fatalf("Reply: %v", err)
			}
			if got != tt.want {
				t.Errorf("Reply\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestReplyRejects(t *testing.T) {
	now := mustTime(t, "2026-11-21T22:04:05Z")
	for _, tt := range []struct {
		version, mode uint8
		want          error
	}{
		{4, ModeReserved, ErrMode},
		{4, ModeSymmetricActive, ErrMode},
		{4, ModeSymmetricPassive, ErrMode},
		{4, ModeServer, ErrMode},
		{4, ModeBroadcast, ErrMode},
		{4, ModeControl, ErrMode},
		{4, ModePrivate, ErrMode},
		{0, ModeClient, ErrVersion},
		{5, ModeClient, ErrVersion},
		{7, ModeClient, ErrVersion},
	} {
		t.Run(fmt.Sprintf("v%d mode %d", tt.version, tt.mode), func(t *testing.T) {
			_, err := Reply(Packet{Version: tt.version, Mode: tt.mode}, now, now, ServerInfo{})
			if !errors.Is(err, tt.want) {
				t.Errorf("Reply(version %d, mode %d) error = %v, want %v", tt.version, tt.mode, err, tt.want)
			}
		})
	}
	for vn := uint8(MinVersion); vn <= MaxVersion; vn++ {
		if _, err := Reply(Packet{Version: vn, Mode: ModeClient}, now, now, ServerInfo{}); err != nil {
			t.Errorf("Reply(version %d, mode 3) error = %v, want nil", vn, err)
		}
	}
}

func TestCheckReply(t *testing.T) {
	req := NewRequest(mustTime(t, "2026-11-21T22:04:05.25Z"))
	good := Packet{
		Version: 4, Mode: ModeServer, Stratum: 2,
		OrigTime: req.XmitTime, RecvTime: 0xeeac93d5_80000000, XmitTime: 0xeeac93d5_c0000000,
	}
	tests := []struct {
		name   string
		change func(*Packet)
		want   error
	}{
		{"good", func(*Packet) {}, nil},
		{"broadcast", func(p *Packet) { p.Mode = ModeBroadcast }, nil},
		{"leap second pending", func(p *Packet) { p.Leap = LeapInsertSecond }, nil},
		{"version 3", func(p *Packet) { p.Version = 3 }, nil},
		{"client mode", func(p *Packet) { p.Mode = ModeClient }, ErrMode},
		{"symmetric passive", func(p *Packet) { p.Mode = ModeSymmetricPassive }, ErrMode},
		{"mode 0", func(p *Packet) { p.Mode = 0 }, ErrMode},
		{"version 0", func(p *Packet) { p.Version = 0 }, ErrVersion},
		{"version 5", func(p *Packet) { p.Version = 5 }, ErrVersion},
		{"origin mismatch", func(p *Packet) { p.OrigTime++ }, ErrOrigin},
		{"origin zero", func(p *Packet) { p.OrigTime = 0 }, ErrOrigin},
		{"kiss-o'-death", func(p *Packet) { p.Stratum = 0; p.RefID = [4]byte{'R', 'A', 'T', 'E'} }, ErrKissOfDeath},
		{"forged kiss-o'-death", func(p *Packet) { p.Stratum = 0; p.OrigTime = 1 }, ErrOrigin},
		{"unsynchronized", func(p *Packet) { p.Leap = LeapUnsynchronized }, ErrUnsynchronized},
		{"zero transmit", func(p *Packet) { p.XmitTime = 0 }, ErrZeroTransmit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := good
			tt.change(&resp)
			err := CheckReply(req, resp)
			if !errors.Is(err, tt.want) { // errors.Is(err, nil) means err == nil
				t.Errorf("CheckReply(%+v) = %v, want %v", resp, err, tt.want)
			}
		})
	}
}

func TestCheckReplyKissCode(t *testing.T) {
	req := NewRequest(mustTime(t, "2026-11-21T22:04:05Z"))
	for _, code := range []string{"RATE", "DENY", "RSTR"} {
		t.Run(code, func(t *testing.T) {
			resp := Packet{Version: 4, Mode: ModeServer, RefID: [4]byte([]byte(code)), OrigTime: req.XmitTime, XmitTime: 1}
			err := CheckReply(req, resp)
			var kiss *KissError
			if !errors.As(err, &kiss) || kiss.Code != code {
				t.Fatalf("CheckReply error = %#v, want *KissError with code %q", err, code)
			}
			if want := `timeproto: kiss-o'-death "` + code + `"`; err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
}

func TestOffset(t *testing.T) {
	base := mustTime(t, "2026-11-21T22:00:00Z")
	at := func(d time.Duration) time.Time { return base.Add(d) }
	ms := time.Millisecond
	tests := []struct {
		name           string
		t1, t2, t3, t4 time.Duration
		offset, delay  time.Duration
	}{
		// ((1100 - 0) + (1150 - 70)) / 2 = 1090; (70 - 0) - (1150 - 1100) = 20.
		{"server ahead", 0, 1100 * ms, 1150 * ms, 70 * ms, 1090 * ms, 20 * ms},
		// ((10 - 0) + (11 - 21)) / 2 = 0; 21 - 1 = 20.
		{"in step", 0, 10 * ms, 11 * ms, 21 * ms, 0, 20 * ms},
		// ((7005 - 10000) + (7006 - 10012)) / 2 = -3000.5; 12 - 1 = 11.
		{"server behind", 10000 * ms, 7005 * ms, 7006 * ms, 10012 * ms, -3000500 * time.Microsecond, 11 * ms},
		// Asymmetric path: all 40 ms of delay on the way out reads as 20 ms
		// of offset, the error inherent in the method.
		{"asymmetric", 0, 40 * ms, 40 * ms, 40 * ms, 20 * ms, 40 * ms},
		// (1 + 0) / 2 truncates toward zero, like integer division.
		{"odd nanoseconds", 0, 1, 2, 2, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			offset, delay := Offset(at(tt.t1), at(tt.t2), at(tt.t3), at(tt.t4))
			if offset != tt.offset || delay != tt.delay {
				t.Errorf("Offset(%v, %v, %v, %v) = %v, %v; want %v, %v",
					tt.t1, tt.t2, tt.t3, tt.t4, offset, delay, tt.offset, tt.delay)
			}
		})
	}
}

func TestOffsetExtremes(t *testing.T) {
	lo := time.Unix(-1<<62, 0)
	hi := time.Unix(1<<62, 0)
	// Sub saturates; half must not overflow on the sum of two saturated
	// differences.
	offset, _ := Offset(lo, hi, hi, lo)
	if offset <= 0 {
		t.Errorf("Offset(far past, far future) = %v, want a large positive offset", offset)
	}
}

// TestExchange runs a whole SNTP exchange through the wire format.
func TestExchange(t *testing.T) {
	clientClock := mustTime(t, "2026-11-21T22:04:05Z")
	skew := 1500 * time.Millisecond // server ahead
	oneWay := 15 * time.Millisecond

	t1 := clientClock
	req := NewRequest(t1)
	wire := req.Append(nil)

	got, err := ParsePacket(wire)
	if err != nil {
		t.Fatalf("server ParsePacket: %v", err)
	}
	t2 := t1.Add(oneWay + skew)
	t3 := t2.Add(2 * time.Millisecond)
	resp, err := Reply(got, t2, t3, ServerInfo{})
	if err != nil {
		t.Fatalf("Reply: %v", err)
	}
	wire = resp.Append(wire[:0])

	t4 := t3.Add(oneWay - skew)
	resp, err = ParsePacket(wire)
	if err != nil {
		t.Fatalf("client ParsePacket: %v", err)
	}
	if err := CheckReply(req, resp); err != nil {
		t.Fatalf("CheckReply: %v", err)
	}
	offset, delay := Offset(t1, resp.RecvTime.Time(), resp.XmitTime.Time(), t4)
	if offset != skew || delay != 2*oneWay {
		t.Errorf("Offset = %v, %v; want %v, %v", offset, delay, skew, 2*oneWay)
	}
}
