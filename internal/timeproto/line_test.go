package timeproto

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line string
		want Command
	}{
		{"TIME", CommandTime},
		{"TIME\r\n", CommandTime},
		{"time\n", CommandTime},
		{"TiMe\r", CommandTime},
		{"  ISO \r\n", CommandISO},
		{"\tiso\t\n", CommandISO},
		{"QUIT\r\n", CommandQuit},
		{"quit", CommandQuit},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, err := ParseCommand([]byte(tt.line))
			if err != nil || got != tt.want {
				t.Errorf("ParseCommand(%q) = %v, %v; want %v", tt.line, got, err, tt.want)
			}
		})
	}
}

func TestParseCommandUnknown(t *testing.T) {
	for _, line := range []string{
		"", "\r\n", "   ", "TIMES", "TIM", "TI ME", "HELP\r\n",
		"TIME\r\r\n", // only one CR belongs to the line ending
		"\nTIME",     // a line ending is only trailing
		"TIME\x00",   // no NUL tolerance
		"I\u017fO",   // Unicode folding would match "ISO"
		"TIME\n\n",   // two lines
		"TIME QUIT\r\n",
	} {
		t.Run(line, func(t *testing.T) {
			got, err := ParseCommand([]byte(line))
			if !errors.Is(err, ErrUnknownCommand) {
				t.Errorf("ParseCommand(%q) = %v, %v; want ErrUnknownCommand", line, got, err)
			}
		})
	}
}

func TestParseCommandErrorBounded(t *testing.T) {
	_, err := ParseCommand([]byte(strings.Repeat("x", 10000)))
	if err == nil || len(err.Error()) > 100 {
		t.Errorf("ParseCommand(10000 bytes) error = %.200q, want a short error", err)
	}
}

func TestCommandString(t *testing.T) {
	tests := []struct {
		c    Command
		want string
	}{
		{CommandTime, "TIME"},
		{CommandISO, "ISO"},
		{CommandQuit, "QUIT"},
		{0, "Command(0)"},
		{-1, "Command(-1)"},
		{99, "Command(99)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.c.String(); got != tt.want {
				t.Errorf("Command(%d).String() = %q, want %q", int(tt.c), got, tt.want)
			}
			if tt.c < CommandTime || tt.c > CommandQuit {
				return
			}
			if got, err := ParseCommand([]byte(tt.want + "\r\n")); err != nil || got != tt.c {
				t.Errorf("ParseCommand(%q) = %v, %v; want %v", tt.want+"\r\n", got, err, tt.c)
			}
		})
	}
}

func TestFormatTime(t *testing.T) {
	tests := []struct {
		time string
		want string
	}{
		{"2026-11-21T22:04:05.123Z", "2026-11-21T22:04:05.123Z"},
		{"2026-11-21T23:04:05.123999999+01:00", "2026-11-21T22:04:05.123Z"}, // truncated, to UTC
		{"2026-11-21T22:04:05Z", "2026-11-21T22:04:05.000Z"},
		{"1999-12-31T23:59:59.999999Z", "1999-12-31T23:59:59.999Z"},
	}
	for _, tt := range tests {
		t.Run(tt.time, func(t *testing.T) {
			if got := FormatTime(mustTime(t, tt.time)); got != tt.want {
				t.Errorf("FormatTime(%s) = %q, want %q", tt.time, got, tt.want)
			}
		})
	}
}

// setLocal makes loc the local time zone for the rest of the test. Tests that
// use it must not run in parallel.
func setLocal(t testing.TB, loc *time.Location) {
	old := time.Local
	time.Local = loc
	t.Cleanup(func() { time.Local = old })
}

func TestFormatISO(t *testing.T) {
	tm := mustTime(t, "2026-11-21T22:04:05.123456Z")
	tests := []struct {
		loc  *time.Location
		want string
	}{
		{time.FixedZone("CET", 3600), "2026-11-21T23:04:05.123+01:00"},
		{time.UTC, "2026-11-21T22:04:05.123+00:00"},
		{time.FixedZone("IST", 5*3600+30*60), "2026-11-22T03:34:05.123+05:30"},
		{time.FixedZone("BRT", -3*3600), "2026-11-21T19:04:05.123-03:00"},
		// Offsets with seconds are cut to minutes, keeping the instant.
		{time.FixedZone("LMT", -(3*3600 + 30*60 + 52)), "2026-11-21T18:34:05.123-03:30"},
		{time.FixedZone("LMT", 5*3600+41*60+16), "2026-11-22T03:45:05.123+05:41"},
	}
	for _, tt := range tests {
		t.Run(tt.loc.String(), func(t *testing.T) {
			setLocal(t, tt.loc)
			got := FormatISO(tm)
			if got != tt.want {
				t.Errorf("FormatISO(%v) in %v = %q, want %q", tm, tt.loc, got, tt.want)
			}
			back, err := ParseReply([]byte(got + "\r\n"))
			if want := tm.Truncate(time.Millisecond); err != nil || !back.Equal(want) {
				t.Errorf("ParseReply(%q) = %v, %v; want %v", got, back, err, want)
			}
		})
	}
}

func TestParseReply(t *testing.T) {
	want := mustTime(t, "2026-11-21T22:04:05.123Z")
	for _, line := range []string{
		"2026-11-21T22:04:05.123Z",
		"2026-11-21T22:04:05.123Z\r\n",
		"2026-11-21T22:04:05.123Z\n",
		"2026-11-21T23:04:05.123+01:00\r\n",
		"2026-11-21T20:04:05.123-02:00",
		"2026-11-21T22:04:05.123000000Z",
	} {
		t.Run(line, func(t *testing.T) {
			got, err := ParseReply([]byte(line))
			if err != nil || !got.Equal(want) {
				t.Errorf("ParseReply(%q) = %v, %v; want %v", line, got, err, want)
			}
		})
	}
}

func TestParseReplyBad(t *testing.T) {
	for _, line := range []string{
		"", "\r\n", "garbage", "TIME",
		"2026-11-21 22:04:05Z",
		"2026-11-21T22:04:05.123",          // no zone
		"2026-11-21T22:04:05.123Z\r\n\r\n", // two lines
		" 2026-11-21T22:04:05.123Z",        // leading blank
		"Saturday, November 21, 2026 22:04:05-UTC\r\n",
		"2026-13-21T22:04:05.123Z",
	} {
		t.Run(line, func(t *testing.T) {
			got, err := ParseReply([]byte(line))
			if !errors.Is(err, ErrBadReply) {
				t.Errorf("ParseReply(%q) = %v, %v; want ErrBadReply", line, got, err)
			}
		})
	}
}

func TestFormatTimeRoundTrip(t *testing.T) {
	setLocal(t, time.FixedZone("NPT", 5*3600+45*60))
	start := mustTime(t, "0001-01-01T00:00:00Z")
	end := mustTime(t, "9999-12-31T00:00:00Z")
	step := end.Sub(start)/1009 + 123456789*time.Nanosecond
	for tm := start; tm.Before(end); tm = tm.Add(step) {
		want := tm.Truncate(time.Millisecond)
		for _, s := range []string{FormatTime(tm), FormatISO(tm)} {
			got, err := ParseReply([]byte(s))
			if err != nil || !got.Equal(want) {
				t.Fatalf("ParseReply(%q) = %v, %v; want %v", s, got, err, want)
			}
		}
	}
}
