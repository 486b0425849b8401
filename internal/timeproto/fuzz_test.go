package timeproto

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func FuzzParsePacket(f *testing.F) {
	now := mustTime(f, "2026-11-21T22:04:05.123456789Z")
	req := NewRequest(now)
	resp, err := Reply(req, now, now.Add(time.Millisecond), ServerInfo{})
	if err != nil {
		f.Fatal(err)
	}
	kiss := resp
	kiss.Stratum, kiss.RefID = 0, [4]byte{'R', 'A', 'T', 'E'}
	for _, seed := range [][]byte{
		requestV3, requestNTPDate, replyNTPDate,
		req.Append(nil), resp.Append(nil), kiss.Append(nil),
		append(resp.Append(nil), mustHex("0104000800000000")...),
		requestNTPDate[:PacketLen-1],
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePacket(b)
		if err != nil {
			return
		}
		// Every header field is kept, so the encoding is exactly the
		// first 48 bytes.
		out := p.Append(nil)
		if !bytes.Equal(out, b[:PacketLen]) {
			t.Fatalf("Append(ParsePacket(%x)) = %x", b[:PacketLen], out)
		}
		p2, err := ParsePacket(out)
		if err != nil || p2 != p {
			t.Fatalf("ParsePacket(Append(p)) = %+v, %v; want %+v", p2, err, p)
		}
		// Server and client logic must not panic on anything parsed.
		if r, err := Reply(p, now, now, ServerInfo{}); err == nil {
			if err := CheckReply(p, r); err != nil {
				t.Fatalf("CheckReply(p, Reply(p)) = %v", err)
			}
		}
		_ = CheckReply(req, p)
		_, _ = Offset(p.OrigTime.Time(), p.RecvTime.Time(), p.XmitTime.Time(), now)
	})
}

func FuzzParseCommand(f *testing.F) {
	for _, seed := range []string{"TIME\r\n", "iso\n", " QUIT ", "QUIT", "TIMES\r\n", ""} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCommand(b)
		if err != nil {
			return
		}
		for _, line := range []string{c.String(), c.String() + "\r\n"} {
			if c2, err := ParseCommand([]byte(line)); err != nil || c2 != c {
				t.Fatalf("ParseCommand(%q) = %v, %v; want %v (from %q)", line, c2, err, c, b)
			}
		}
	})
}

func FuzzParseRFC868(f *testing.F) {
	for _, tm := range []string{
		"1970-01-01T00:00:00Z", "2026-11-21T22:04:05Z",
		"1968-01-20T03:14:08Z", "2036-02-07T06:28:15Z", "2036-02-07T06:28:16Z", "2104-02-26T09:42:23Z",
	} {
		f.Add(AppendRFC868(nil, mustTime(f, tm)))
	}
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		tm, err := ParseRFC868(b)
		if err != nil {
			return
		}
		if out := AppendRFC868(nil, tm); !bytes.Equal(out, b) {
			t.Fatalf("AppendRFC868(ParseRFC868(%x)) = %x", b, out)
		}
	})
}

func FuzzParseReply(f *testing.F) {
	// A local zone whose offset has seconds, like St. John's local mean time,
	// is the hardest case for FormatISO; fixing it keeps runs reproducible
	// whatever TZ the machine has.
	setLocal(f, time.FixedZone("LMT", -(3*3600+30*60+52)))
	tm := mustTime(f, "2026-11-21T22:04:05.123456Z")
	for _, seed := range []string{
		FormatTime(tm) + "\r\n", FormatISO(tm) + "\n", FormatTime(tm),
		"2026-11-21T23:04:05.123+01:00", "0000-01-01T00:00:00.000+01:00",
		"9999-12-31T23:59:59.999-01:00", "garbage\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		t1, err := ParseReply(b)
		if err != nil {
			return
		}
		// Formatting keeps milliseconds and years 0 to 9999 only.
		if y := t1.UTC().Year(); y < 0 || y > 9999 {
			return
		}
		s := FormatTime(t1)
		t2, err := ParseReply([]byte(s))
		if err != nil {
			t.Fatalf("ParseReply(FormatTime(%v) = %q): %v", t1, s, err)
		}
		if d := t1.Sub(t2); d < 0 || d >= time.Millisecond {
			t.Fatalf("ParseReply(%q) = %v, %v from %v; want within 1ms below", s, t2, d, t1)
		}
		if s2 := FormatTime(t2); s2 != s {
			t.Fatalf("FormatTime(ParseReply(%q)) = %q", s, s2)
		}
		if y := t2.Local().Year(); y < 0 || y > 9999 {
			return
		}
		iso := FormatISO(t2)
		if t3, err := ParseReply([]byte(iso)); err != nil || !t3.Equal(t2) {
			t.Fatalf("ParseReply(FormatISO(%v) = %q) = %v, %v", t2, iso, t3, err)
		}
	})
}

func FuzzParseDaytime(f *testing.F) {
	now := mustTime(f, "2026-11-21T22:04:05Z")
	for _, seed := range []string{
		string(AppendDaytime(nil, now)), "Sat Nov 21 22:04:05 2026\n", "2026-11-21T22:04:05Z\r\n",
		"Sat, 21 Nov 2026 22:04:05 UTC", "", "\r\n", "Saturday, November 21, 2026",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := ParseDaytime(b)
		if err != nil {
			return
		}
		// What netkit sends for the time read parses back to that time.
		if again, err := ParseDaytime(AppendDaytime(nil, got)); err != nil || !again.Equal(got.Truncate(time.Second)) {
			t.Fatalf("ParseDaytime(AppendDaytime(%v)) = %v, %v", got, again, err)
		}
	})
}

func TestParseDaytime(t *testing.T) {
	want := mustTime(t, "2026-11-21T22:04:05Z")
	for _, in := range []string{
		string(AppendDaytime(nil, want)), "Sat Nov 21 22:04:05 2026\n", "2026-11-21T22:04:05Z\r\n",
		"Sat, 21 Nov 2026 22:04:05 UTC\r\n", "Saturday, November 21, 2026 22:04:05-UTC",
	} {
		got, err := ParseDaytime([]byte(in))
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseDaytime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "hello", "Saturday, November 21, 2026", strings.Repeat("x", MaxDaytimeLen+1)} {
		if _, err := ParseDaytime([]byte(in)); !errors.Is(err, ErrDaytime) {
			t.Errorf("ParseDaytime(%q) = %v, want ErrDaytime", in, err)
		}
	}
	// Every prefix of a good line short of the seconds is refused.
	line := AppendDaytime(nil, want)
	for i := range len(line) - 2 {
		if _, err := ParseDaytime(line[:i]); err == nil {
			t.Errorf("prefix %q accepted", line[:i])
		}
	}
}
