package impair

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Bounds on parsed values, so that a typo cannot ask for a week's delay or
// an exabyte queue.
const (
	// MaxDuration is the longest delay, jitter or reorder delay accepted.
	MaxDuration = time.Minute
	// MaxRate is the highest rate accepted, in bytes per second.
	MaxRate = 1 << 40
	// MaxSize is the largest size accepted, in bytes.
	MaxSize = 1 << 40
)

const (
	wantPercent  = "a percentage from 0% to 100%, like 5% or 0.1%"
	wantRate     = "a rate with its unit: bytes per second like 10MB/s, 1.5GB/s or 1MiB/s, or bits per second like 80Mbit/s; 0 for no limit"
	wantSize     = "a size in bytes like 1500, 64kB or 1MiB"
	wantDuration = "a duration from 0 to 1m, like 20ms or 1.5s"
)

// ParsePercent reads a percentage, "5%" or "5" (the sign is optional), and
// returns it as a probability from 0 to 1.
func ParsePercent(s string) (float64, error) {
	num := strings.TrimSuffix(s, "%")
	v, ok := parseDecimal(num)
	if !ok || v > 100 {
		return 0, &SyntaxError{What: "percentage", Input: s, Want: wantPercent}
	}
	return v / 100, nil
}

// FormatPercent writes probability p (0 to 1) as a percentage, to four
// significant digits, in a form ParsePercent reads back.
func FormatPercent(p float64) string {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(p*100, 'g', 4, 64), 64)
	return strconv.FormatFloat(v, 'f', -1, 64) + "%"
}

// Units of size, largest first so that formatting picks the largest exact
// one. SI prefixes are powers of 1000, IEC ones (KiB...) of 1024.
type unit struct {
	name string
	n    int64
}

var byteUnits = []unit{
	{"GiB", 1 << 30}, {"GB", 1e9},
	{"MiB", 1 << 20}, {"MB", 1e6},
	{"KiB", 1 << 10}, {"kB", 1e3}, {"KB", 1e3},
	{"B", 1}, {"", 1},
}

// bitUnits count bits.
var bitUnits = []unit{
	{"gbit", 1e9}, {"Gbit", 1e9},
	{"mbit", 1e6}, {"Mbit", 1e6},
	{"kbit", 1e3}, {"Kbit", 1e3},
	{"bit", 1},
}

// ParseRate reads a rate and returns it in bytes per second; 0 means no
// limit. Bytes take B with SI or IEC prefixes (10MB/s, 500kB/s, 1MiB/s;
// the "/s" is optional); bits are
// spelled out as in tc (100mbit, 1Gbit/s). "Mbps" and "mb" are refused as
// ambiguous: tc reads them as bytes, most people as bits; so is a bare
// number other than 0.
func ParseRate(s string) (int64, error) {
	bad := &SyntaxError{What: "rate", Input: s, Want: wantRate}
	num, unit := splitNumber(strings.TrimSuffix(s, "/s"))
	v, ok := parseDecimal(num)
	if !ok {
		return 0, bad
	}
	var bytes float64
	switch {
	case unit == "" && v != 0:
		// A bare number: bytes or bits a second? Nobody can tell, and
		// "10" is far more likely meant as 10 MB/s than 10 B/s.
		return 0, bad
	case unitOf(unit, bitUnits) > 0:
		bytes = v * float64(unitOf(unit, bitUnits)) / 8
	case unitOf(unit, byteUnits) > 0:
		bytes = v * float64(unitOf(unit, byteUnits))
	default:
		return 0, bad
	}
	r := math.Round(bytes)
	if r > MaxRate || (r == 0 && v != 0) {
		return 0, bad
	}
	return int64(r), nil
}

// FormatRate writes r bytes per second in the largest unit that holds it
// exactly, so that ParseRate reads back the same number.
func FormatRate(r int64) string {
	return FormatSize(r) + "/s"
}

// ParseSize reads a number of bytes: 1500, 1500B, 64kB, 1MiB...
func ParseSize(s string) (int64, error) {
	bad := &SyntaxError{What: "size", Input: s, Want: wantSize}
	num, unit := splitNumber(s)
	v, ok := parseDecimal(num)
	mult := unitOf(unit, byteUnits)
	if !ok || mult == 0 {
		return 0, bad
	}
	r := math.Round(v * float64(mult))
	if r > MaxSize {
		return 0, bad
	}
	return int64(r), nil
}

// FormatSize writes n bytes in the largest unit that holds it exactly, so
// that ParseSize reads back the same number.
func FormatSize(n int64) string {
	for _, u := range byteUnits {
		if n != 0 && n%u.n == 0 {
			return strconv.FormatInt(n/u.n, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

// ParseDuration reads a duration as time.ParseDuration does, refusing
// negative ones and any longer than MaxDuration.
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > MaxDuration {
		return 0, &SyntaxError{What: "duration", Input: s, Want: wantDuration}
	}
	return d, nil
}

// splitNumber splits s into its leading digits and dots and the rest.
func splitNumber(s string) (num, unit string) {
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

// parseDecimal reads a plain non-negative decimal number, digits with at
// most one point, refusing what strconv.ParseFloat also takes (signs,
// exponents, hex, "Inf", "NaN", underscores).
func parseDecimal(s string) (float64, bool) {
	digits, points := 0, 0
	for _, c := range []byte(s) {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			points++
		default:
			return 0, false
		}
	}
	if digits == 0 || points > 1 || digits > 100 {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// unitOf returns the multiplier of name in units, or 0 if it is not one.
func unitOf(name string, units []unit) int64 {
	for _, u := range units {
		if u.name == name {
			return u.n
		}
	}
	return 0
}
