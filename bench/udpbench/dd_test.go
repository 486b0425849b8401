package main

import (
	"testing"
)

func TestParseDDLine(t *testing.T) {
	tests := []struct {
		in  string
		n   int64
		sec float64
		ok  bool
	}{
		{"536870912 bytes (537 MB, 512 MiB) copied, 1.14 s, 470 MB/s", 536870912, 1.14, true},
		{"67108864 bytes (67 MB, 64 MiB) copied, 0.127874 s, 525 MB/s", 67108864, 0.127874, true},
		{"1073741824 bytes (1.1 GB, 1.0 GiB) copied, 2 s, 537 MB/s\n", 1073741824, 2, true},
		{"", 0, 0, false},
		{"64+0 records in", 0, 0, false},
		{"64+0 records out", 0, 0, false},
		{"dd: error writing 'x': No space left on device", 0, 0, false},
		{"67108864 bytes (67 MB, 64 MiB) copied, 0,127874 s, 525 MB/s", 0, 0, false}, // not the C locale
		{"67108864 bytes (67 MB, 64 MiB) copied, 0 s, inf B/s", 0, 0, false},
		{"x bytes copied, 1 s", 0, 0, false},
		{"67108864 bytes (67 MB, 64 MiB) copied", 0, 0, false},
	}
	for _, tt := range tests {
		n, sec, ok := parseDDLine(tt.in)
		if ok != tt.ok || n != tt.n || sec != tt.sec {
			t.Errorf("parseDDLine(%q) = %d, %g, %v; want %d, %g, %v", tt.in, n, sec, ok, tt.n, tt.sec, tt.ok)
		}
	}
}
