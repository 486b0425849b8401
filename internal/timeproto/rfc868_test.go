package timeproto

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"
)

// mustTime parses an RFC 3339 time for test tables.
func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestRFC868KnownValues(t *testing.T) {
	tests := []struct {
		name string
		time string
		wire []byte
	}{
		// RFC 868 itself gives 2208988800 for 1970-01-01.
		{"unix epoch", "1970-01-01T00:00:00Z", []byte{0x83, 0xaa, 0x7e, 0x80}},
		// 56 years 1970-2025 with 14 leap days: 20454 days; Jan-Oct 2026
		// 304 days plus 20: 20778 days = 1795219200 s; plus 22:04:05 =
		// 79445 s; plus 2208988800 = 4004287445 = 0xeeac93d5.
		{"fixed date", "2026-11-21T22:04:05Z", []byte{0xee, 0xac, 0x93, 0xd5}},
		{"era 0 first second", "1968-01-20T03:14:08Z", []byte{0x80, 0x00, 0x00, 0x00}},
		{"era 0 last second", "2036-02-07T06:28:15Z", []byte{0xff, 0xff, 0xff, 0xff}},
		{"era 1 first second", "2036-02-07T06:28:16Z", []byte{0x00, 0x00, 0x00, 0x00}},
		{"era 1 second 1", "2036-02-07T06:28:17Z", []byte{0x00, 0x00, 0x00, 0x01}},
		{"era 1 last second", "2104-02-26T09:42:23Z", []byte{0x7f, 0xff, 0xff, 0xff}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm := mustTime(t, tt.time)
			if got := AppendRFC868(nil, tm); !bytes.Equal(got, tt.wire) {
				t.Errorf("AppendRFC868(%s) = %x, want %x", tt.time, got, tt.wire)
			}
			got, err := ParseRFC868(tt.wire)
			if err != nil {
				t.Fatalf("ParseRFC868(%x): %v", tt.wire, err)
			}
			if !got.Equal(tm) || got.Location() != time.UTC {
				t.Errorf("ParseRFC868(%x) = %v, want %v in UTC", tt.wire, got, tm)
			}
		})
	}
}

func TestAppendRFC868(t *testing.T) {
	tests := []struct {
		name string
		time string
		want []byte
	}{
		{"fraction rounds down", "1970-01-01T00:00:00.999999999Z", []byte{0x83, 0xaa, 0x7e, 0x80}},
		{"fraction before 1970 rounds down", "1969-12-31T23:59:59.5Z", []byte{0x83, 0xaa, 0x7e, 0x7f}},
		{"zone ignored", "2026-11-21T23:04:05+01:00", []byte{0xee, 0xac, 0x93, 0xd5}},
		{"1900 wraps to 0", "1900-01-01T00:00:00Z", []byte{0, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("ab")
			got := AppendRFC868(prefix, mustTime(t, tt.time))
			if want := append([]byte("ab"), tt.want...); !bytes.Equal(got, want) {
				t.Errorf("AppendRFC868(%q, %s) = %x, want %x", prefix, tt.time, got, want)
			}
		})
	}
}

func TestRFC868RoundTrip(t *testing.T) {
	start := mustTime(t, "1968-01-20T03:14:08Z")
	end := mustTime(t, "2104-02-26T09:42:23.999999999Z")
	// A step that is not a multiple of a second or a day visits many
	// different times of day and sub-second parts.
	step := (end.Sub(start) / 997).Truncate(time.Millisecond) + 7*time.Nanosecond
	for tm := start; !tm.After(end); tm = tm.Add(step) {
		got, err := ParseRFC868(AppendRFC868(nil, tm))
		if want := tm.Truncate(time.Second); err != nil || !got.Equal(want) {
			t.Fatalf("ParseRFC868(AppendRFC868(%v)) = %v, %v; want %v", tm, got, err, want)
		}
	}
}

func TestParseRFC868Length(t *testing.T) {
	valid := AppendRFC868(nil, mustTime(t, "2026-11-21T22:04:05Z"))
	for n := range len(valid) {
		t.Run(fmt.Sprintf("%d bytes", n), func(t *testing.T) {
			_, err := ParseRFC868(valid[:n])
			if !errors.Is(err, ErrShort) {
				t.Errorf("ParseRFC868(%x) error = %v, want ErrShort", valid[:n], err)
			}
		})
	}
	long := append(valid, 0)
	if _, err := ParseRFC868(long); !errors.Is(err, ErrLength) {
		t.Errorf("ParseRFC868(%x) error = %v, want ErrLength", long, err)
	}
}

func TestAppendDaytime(t *testing.T) {
	tests := []struct {
		name string
		time string
		want string
	}{
		{"brief example", "2026-11-21T22:04:05.9Z", "Saturday, November 21, 2026 22:04:05-UTC\r\n"},
		{"converted to UTC", "2026-11-21T23:04:05+01:00", "Saturday, November 21, 2026 22:04:05-UTC\r\n"},
		{"single-digit day", "2026-03-01T07:08:09Z", "Sunday, March 1, 2026 07:08:09-UTC\r\n"},
		{"RFC 867 date", "1982-02-22T17:37:43-08:00", "Tuesday, February 23, 1982 01:37:43-UTC\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AppendDaytime([]byte("> "), mustTime(t, tt.time))
			if want := "> " + tt.want; string(got) != want {
				t.Errorf("AppendDaytime(%s) = %q, want %q", tt.time, got, want)
			}
		})
	}
}

func TestAppendAllocs(t *testing.T) {
	tm := mustTime(t, "2026-11-21T22:04:05Z")
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { AppendRFC868(buf, tm) }); n != 0 {
		t.Errorf("AppendRFC868 allocs = %v, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { AppendDaytime(buf, tm) }); n != 0 {
		t.Errorf("AppendDaytime allocs = %v, want 0", n)
	}
}
