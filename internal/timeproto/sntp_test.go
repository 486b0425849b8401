package timeproto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"
)

// Real client requests, as sent on the wire.
var (
	// The minimal SNTPv3 request many small clients send: LI 0, VN 3,
	// mode 3, everything else zero.
	requestV3 = append([]byte{0x1b}, make([]byte, 47)...)
	// An ntpdate/sntp NTPv4 request: LI 3 (unsynchronized), VN 4, mode 3,
	// poll 4, precision -6, root delay and dispersion 1 s, and a transmit
	// timestamp of 2026-11-21 22:04:05.25 UTC.
	requestNTPDate = mustHex("e30004fa" + "00010000" + "00010000" + "00000000" +
		"0000000000000000" + "0000000000000000" + "0000000000000000" +
		"eeac93d540000000")
	// A server reply to requestNTPDate: LI 0, VN 4, mode 4, stratum 2,
	// poll 4, precision -23, reference ID 192.0.2.1.
	replyNTPDate = mustHex("240204e9" + "00000235" + "00000a3c" + "c0000201" +
		"eeac93c000000000" + "eeac93d540000000" + "eeac93d5c0000000" +
		"eeac93d5c0418937")
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestTimestampKnownValues(t *testing.T) {
	tests := []struct {
		time string
		ts   Timestamp
	}{
		{"1970-01-01T00:00:00Z", 0x83aa7e80_00000000},
		{"1970-01-01T00:00:00.5Z", 0x83aa7e80_80000000},
		{"1970-01-01T00:00:00.25Z", 0x83aa7e80_40000000},
		{"1970-01-01T00:00:00.000000001Z", 0x83aa7e80_00000004}, // 2^32/1e9 = 4.29
		{"2026-11-21T22:04:05.25Z", 0xeeac93d5_40000000},
		{"1968-01-20T03:14:08Z", 0x80000000_00000000},
		{"2036-02-07T06:28:15.5Z", 0xffffffff_80000000},
		{"2036-02-07T06:28:16.5Z", 0x00000000_80000000},
		{"2104-02-26T09:42:23Z", 0x7fffffff_00000000},
	}
	for _, tt := range tests {
		t.Run(tt.time, func(t *testing.T) {
			tm := mustTime(t, tt.time)
			if got := TimestampOf(tm); got != tt.ts {
				t.Errorf("TimestampOf(%s) = %#016x, want %#016x", tt.time, uint64(got), uint64(tt.ts))
			}
			if got := tt.ts.Time(); !got.Equal(tm) || got.Location() != time.UTC {
				t.Errorf("Timestamp(%#016x).Time() = %v, want %v in UTC", uint64(tt.ts), got, tm)
			}
		})
	}
}

func TestTimestampZero(t *testing.T) {
	if got := TimestampOf(time.Time{}); got != 0 {
		t.Errorf("TimestampOf(time.Time{}) = %#x, want 0", uint64(got))
	}
	if got := Timestamp(0).Time(); !got.IsZero() {
		t.Errorf("Timestamp(0).Time() = %v, want the zero time", got)
	}
	// The one instant that shares the zero Timestamp.
	if got := TimestampOf(mustTime(t, "2036-02-07T06:28:16Z")); got != 0 {
		t.Errorf("TimestampOf(2036-02-07T06:28:16Z) = %#x, want 0", uint64(got))
	}
}

func TestTimestampFields(t *testing.T) {
	ts := Timestamp(0x01234567_89abcdef)
	if got, want := ts.Seconds(), uint32(0x01234567); got != want {
		t.Errorf("Seconds() = %#x, want %#x", got, want)
	}
	if got, want := ts.Fraction(), uint32(0x89abcdef); got != want {
		t.Errorf("Fraction() = %#x, want %#x", got, want)
	}
}

func TestTimestampRoundTrip(t *testing.T) {
	start := mustTime(t, "1968-01-20T03:14:08Z")
	end := mustTime(t, "2104-02-26T09:42:23.999999999Z")
	step := end.Sub(start)/4999 + 987654321*time.Nanosecond
	for tm := start.Add(time.Nanosecond); !tm.After(end); tm = tm.Add(step) {
		if got := TimestampOf(tm).Time(); !got.Equal(tm) {
			t.Fatalf("TimestampOf(%v).Time() = %v", tm, got)
		}
	}
	// Every nanosecond must survive 2^-32 s units, including those next to
	// a whole second.
	base := mustTime(t, "2026-11-21T22:04:05Z")
	for _, ns := range []int{0, 1, 2, 3, 232, 233, 499999999, 500000000, 999999998, 999999999} {
		tm := base.Add(time.Duration(ns))
		if got := TimestampOf(tm).Time(); !got.Equal(tm) {
			t.Errorf("TimestampOf(%v).Time() = %v", tm, got)
		}
	}
	for ns := 0; ns < 1e9; ns += 9973 {
		tm := base.Add(time.Duration(ns))
		if got := TimestampOf(tm).Time(); !got.Equal(tm) {
			t.Fatalf("TimestampOf(%v).Time() = %v", tm, got)
		}
	}
}

func TestTimestampLargestFraction(t *testing.T) {
	// 0xffffffff units is 999999999.77 ns, which rounds into the next second.
	got := Timestamp(0x83aa7e80_ffffffff).Time()
	if want := mustTime(t, "1970-01-01T00:00:01Z"); !got.Equal(want) {
		t.Errorf("Time() = %v, want %v", got, want)
	}
}

func TestShort(t *testing.T) {
	tests := []struct {
		d    time.Duration
		s    Short
		back time.Duration
	}{
		{0, 0, 0},
		{time.Second, 0x0001_0000, time.Second},
		{500 * time.Millisecond, 0x0000_8000, 500 * time.Millisecond},
		{15259 * time.Nanosecond, 1, 15259}, // 2^-16 s is 15258.789 ns
		{7629 * time.Nanosecond, 0, 0},      // just under half a unit
		{7630 * time.Nanosecond, 1, 15259},  // just over half a unit
		{-time.Second, 0, 0},
		{65535*time.Second + 999*time.Millisecond, 0xffff_ffbe, 65535*time.Second + 998992920},
		{65536 * time.Second, 0xffff_ffff, 65535*time.Second + 999984741},
		{time.Hour * 100, 0xffff_ffff, 65535*time.Second + 999984741},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			if got := DurationOf(tt.d); got != tt.s {
				t.Errorf("DurationOf(%v) = %#x, want %#x", tt.d, uint32(got), uint32(tt.s))
			}
			if got := tt.s.Duration(); got != tt.back {
				t.Errorf("Short(%#x).Duration() = %v, want %v", uint32(tt.s), got, tt.back)
			}
		})
	}
}

func TestShortRoundTrip(t *testing.T) {
	for i := range uint64(1 << 16) {
		s := Short(i * 65537) // 0 to 0xffff_ffff in uneven steps
		if got := DurationOf(s.Duration()); got != s {
			t.Fatalf("DurationOf(Short(%#x).Duration()) = %#x", uint32(s), uint32(got))
		}
	}
}

func TestParsePacket(t *testing.T) {
	tests := []struct {
		name string
		wire []byte
		want Packet
	}{
		{"SNTPv3 request", requestV3, Packet{Version: 3, Mode: ModeClient}},
		{"ntpdate request", requestNTPDate, Packet{
			Leap: LeapUnsynchronized, Version: 4, Mode: ModeClient,
			Poll: 4, Precision: -6,
			RootDelay: 0x0001_0000, RootDispersion: 0x0001_0000,
			XmitTime: 0xeeac93d5_40000000,
		}},
		{"server reply", replyNTPDate, Packet{
			Leap: LeapNone, Version: 4, Mode: ModeServer, Stratum: 2,
			Poll: 4, Precision: -23,
			RootDelay: 0x235, RootDispersion: 0xa3c,
			RefID:    [4]byte{192, 0, 2, 1},
			RefTime:  0xeeac93c0_00000000,
			OrigTime: 0xeeac93d5_40000000,
			RecvTime: 0xeeac93d5_c0000000,
			XmitTime: 0xeeac93d5_c0418937,
		}},
		{"extension field ignored", append(bytes.Clone(replyNTPDate), mustHex("0104000800000000")...), Packet{
			Leap: LeapNone, Version: 4, Mode: ModeServer, Stratum: 2,
			Poll: 4, Precision: -23,
			RootDelay: 0x235, RootDispersion: 0xa3c,
			RefID:    [4]byte{192, 0, 2, 1},
			RefTime:  0xeeac93c0_00000000,
			OrigTime: 0xeeac93d5_40000000,
			RecvTime: 0xeeac93d5_c0000000,
			XmitTime: 0xeeac93d5_c0418937,
		}},
		{"version 1 broadcast, all bits set", append([]byte{0xcd}, bytes.Repeat([]byte{0xff}, 47)...), Packet{
			Leap: 3, Version: 1, Mode: ModeBroadcast, Stratum: 255, Poll: -1, Precision: -1,
			RootDelay: 0xffffffff, RootDispersion: 0xffffffff, RefID: [4]byte{255, 255, 255, 255},
			RefTime: 1<<64 - 1, OrigTime: 1<<64 - 1, RecvTime: 1<<64 - 1, XmitTime: 1<<64 - 1,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePacket(tt.wire)
			if err != nil {
				t.Fatalf("ParsePacket: %v", err)
			}
			if got != tt.want {
				t.Errorf("ParsePacket(%x)\n got %+v\nwant %+v", tt.wire, got, tt.want)
			}
			if b := got.Append(nil); !bytes.Equal(b, tt.wire[:PacketLen]) {
				t.Errorf("Append = %x, want %x", b, tt.wire[:PacketLen])
			}
		})
	}
}

func TestParsePacketShort(t *testing.T) {
	for _, valid := range [][]byte{requestV3, requestNTPDate, replyNTPDate} {
		for n := range PacketLen {
			t.Run(fmt.Sprintf("%x/%d", valid[0], n), func(t *testing.T) {
				_, err := ParsePacket(valid[:n])
				if !errors.Is(err, ErrShort) {
					t.Errorf("ParsePacket(%d bytes) error = %v, want ErrShort", n, err)
				}
			})
		}
	}
}

func TestParsePacketVersion(t *testing.T) {
	for vn := range 8 {
		t.Run(fmt.Sprint(vn), func(t *testing.T) {
			b := bytes.Clone(replyNTPDate)
			b[0] = b[0]&^0x38 | byte(vn)<<3
			p, err := ParsePacket(b)
			switch {
			case vn >= MinVersion && vn <= MaxVersion:
				if err != nil || p.Version != uint8(vn) {
					t.Errorf("ParsePacket(version %d) = version %d, %v; want %d, nil", vn, p.Version, err, vn)
				}
			case !errors.Is(err, ErrVersion):
				t.Errorf("ParsePacket(version %d) error = %v, want ErrVersion", vn, err)
			}
		})
	}
}

func TestPacketAppend(t *testing.T) {
	p := Packet{Leap: 0xff, Version: 0xfc, Mode: 0xf9, Stratum: 1, XmitTime: 1}
	got := p.Append([]byte{0xaa})
	want := append([]byte{0xaa, 0xe1, 1}, make([]byte, 45)...)
	want = append(want, 1)
	if !bytes.Equal(got, want) {
		t.Errorf("Append(%+v) =\n%x, want\n%x", p, got, want)
	}
}

func TestPacketAllocs(t *testing.T) {
	p, err := ParsePacket(replyNTPDate)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, PacketLen)
	if n := testing.AllocsPerRun(100, func() { buf = p.Append(buf[:0]) }); n != 0 {
		t.Errorf("Packet.Append allocs = %v, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { p, err = ParsePacket(replyNTPDate) }); n != 0 {
		t.Errorf("ParsePacket allocs = %v, want 0", n)
	}
}

func BenchmarkPacketRoundTrip(b *testing.B) {
	buf := make([]byte, 0, PacketLen)
	b.ReportAllocs()
	for b.Loop() {
		p, err := ParsePacket(replyNTPDate)
		if err != nil {
			b.Fatal(err)
		}
		buf = p.Append(buf[:0])
	}
}
