package impair_test

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/impair"
)

func TestParsePercent(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"5%", 0.05, true},
		{"5", 0.05, true},
		{"0%", 0, true},
		{"0", 0, true},
		{"100%", 1, true},
		{"0.1%", 0.001, true},
		{".5%", 0.005, true},
		{"12.%", 0.12, true},
		{"", 0, false},
		{"%", 0, false},
		{"100.1%", 0, false},
		{"-1%", 0, false},
		{"+1%", 0, false},
		{"1e1%", 0, false},
		{"NaN", 0, false},
		{"Inf%", 0, false},
		{"0x10", 0, false},
		{"1_0%", 0, false},
		{"1.2.3%", 0, false},
		{"5%%", 0, false},
		{" 5%", 0, false},
		{"5 %", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := impair.ParsePercent(tt.in)
			if (err == nil) != tt.ok || math.Abs(got-tt.want) > 1e-12 {
				t.Fatalf("ParsePercent(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
			if err != nil && !errors.Is(err, impair.ErrSyntax) {
				t.Errorf("error %v does not unwrap to ErrSyntax", err)
			}
		})
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"0B/s", 0, true},
		{"1500", 0, false}, // a bare number: no unit
		{"10", 0, false},
		{"1.5", 0, false},
		{"80Mbit/s", 10_000_000, true},
		{"1.5GB/s", 1_500_000_000, true},
		{"1500B/s", 1500, true},
		{"1500B", 1500, true},
		{"500kB/s", 500_000, true},
		{"500KB/s", 500_000, true},
		{"10MB/s", 10_000_000, true},
		{"1.5MB/s", 1_500_000, true},
		{"1GB/s", 1_000_000_000, true},
		{"1KiB/s", 1024, true},
		{"1MiB/s", 1 << 20, true},
		{"2GiB", 2 << 30, true},
		{"10mbit", 1_250_000, true},
		{"10Mbit/s", 1_250_000, true},
		{"1gbit", 125_000_000, true},
		{"64kbit", 8000, true},
		{"8bit", 1, true},
		{"1bit", 0, false}, // an eighth of a byte a second
		{"0.1B/s", 0, false},
		{"10Mbps", 0, false}, // ambiguous: bits or bytes?
		{"10mb", 0, false},
		{"10mb/s", 0, false},
		{"10kb/s", 0, false},
		{"10M", 0, false},
		{"MB/s", 0, false},
		{"", 0, false},
		{"/s", 0, false},
		{"-1MB/s", 0, false},
		{"1e6", 0, false},
		{"2000GB/s", 0, false}, // over MaxRate
		{"10 MB/s", 0, false},
		{"10MB/s/s", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := impair.ParseRate(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("ParseRate(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1500", 1500, true},
		{"1500B", 1500, true},
		{"64kB", 64_000, true},
		{"64KiB", 64 << 10, true},
		{"1MB", 1_000_000, true},
		{"1.5MiB", 3 << 19, true},
		{"1GiB", 1 << 30, true},
		{"1mbit", 0, false},
		{"1MB/s", 0, false},
		{"1mb", 0, false},
		{"", 0, false},
		{"k", 0, false},
		{"-1", 0, false},
		{"2000GB", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := impair.ParseSize(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("ParseSize(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"20ms", 20 * time.Millisecond, true},
		{"1.5s", 1500 * time.Millisecond, true},
		{"250us", 250 * time.Microsecond, true},
		{"1m", time.Minute, true},
		{"1m1s", 0, false},
		{"-1ms", 0, false},
		{"20", 0, false},
		{"", 0, false},
		{"ms", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := impair.ParseDuration(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{impair.FormatRate(10_000_000), "10MB/s"},
		{impair.FormatRate(1_250_000), "1250kB/s"},
		{impair.FormatRate(1 << 20), "1MiB/s"},
		{impair.FormatRate(1234), "1234B/s"},
		{impair.FormatSize(64 << 10), "64KiB"},
		{impair.FormatSize(0), "0B"},
		{impair.FormatPercent(0.05), "5%"},
		{impair.FormatPercent(0.001), "0.1%"},
		{impair.FormatPercent(1), "100%"},
		{impair.Impairment{}.String(), "none"},
		{impair.Impairment{Loss: 0.05, Delay: 20 * time.Millisecond, Jitter: 5 * time.Millisecond, Rate: 10e6}.String(),
			"loss 5% delay 20ms jitter 5ms rate 10MB/s"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	_, err := impair.ParseRate("10Mbps")
	var se *impair.SyntaxError
	if !errors.As(err, &se) || se.What != "rate" || se.Input != "10Mbps" {
		t.Fatalf("ParseRate error %#v, want a *SyntaxError for the rate", err)
	}
	if want := `impair: bad rate "10Mbps": want a rate with its unit`; len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
		t.Errorf("message %q, want it to start %q", err, want)
	}
}

// FuzzParse checks every parser on any input: no panic, values within
// their documented bounds, and sizes and rates that format and parse back
// to the same number.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"5%", "0.1%", "100", "10MB/s", "1.5MiB", "100mbit", "64kbit/s", "20ms", "1m", "1e3", "-1", ".", "0.", "99.999999999%", "1099511627776B/s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if p, err := impair.ParsePercent(s); err == nil {
			if !(p >= 0 && p <= 1) {
				t.Fatalf("ParsePercent(%q) = %v, outside 0..1", s, p)
			}
			back, err := impair.ParsePercent(impair.FormatPercent(p))
			if err != nil || math.Abs(back-p) > 5e-4*p {
				t.Fatalf("ParsePercent(FormatPercent(%v)) = %v, %v", p, back, err)
			}
		} else if !errors.Is(err, impair.ErrSyntax) {
			t.Fatalf("ParsePercent(%q): error %v is not ErrSyntax", s, err)
		}
		if r, err := impair.ParseRate(s); err == nil {
			if r < 0 || r > impair.MaxRate {
				t.Fatalf("ParseRate(%q) = %d, out of bounds", s, r)
			}
			if back, err := impair.ParseRate(impair.FormatRate(r)); err != nil || back != r {
				t.Fatalf("ParseRate(FormatRate(%d)) = %d, %v", r, back, err)
			}
		}
		if n, err := impair.ParseSize(s); err == nil {
			if n < 0 || n > impair.MaxSize {
				t.Fatalf("ParseSize(%q) = %d, out of bounds", s, n)
			}
			if back, err := impair.ParseSize(impair.FormatSize(n)); err != nil || back != n {
				t.Fatalf("ParseSize(FormatSize(%d)) = %d, %v", n, back, err)
			}
		}
		if d, err := impair.ParseDuration(s); err == nil && (d < 0 || d > impair.MaxDuration) {
			t.Fatalf("ParseDuration(%q) = %v, out of bounds", s, d)
		}
	})
}

func ExampleParseRate() {
	for _, s := range []string{"10MB/s", "100mbit", "1MiB/s", "10Mbps"} {
		r, err := impair.ParseRate(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(s, "=", r, "bytes/s =", impair.FormatRate(r))
	}
	// Output:
	// 10MB/s = 10000000 bytes/s = 10MB/s
	// 100mbit = 12500000 bytes/s = 12500kB/s
	// 1MiB/s = 1048576 bytes/s = 1MiB/s
	// impair: bad rate "10Mbps": want a rate with its unit: bytes per second like 10MB/s, 1.5GB/s or 1MiB/s, or bits per second like 80Mbit/s; 0 for no limit
}
