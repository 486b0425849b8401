package main

import (
	"encoding/json"
	"math"
	"testing"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"4GiB", 4 << 30, true},
		{"4 GiB", 4 << 30, true},
		{"512MiB", 512 << 20, true},
		{"1.5KiB", 1536, true},
		{"1GB", 1e9, true},
		{"100M", 100e6, true},
		{"12345", 12345, true},
		{"7b", 7, true},
		{"", 0, false},
		{"GiB", 0, false},
		{"4XB", 0, false},
		{"-1GiB", 0, false},
		{"1e30TiB", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSize(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("parseSize(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestParseOnly(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{"quic,tftp,impair,rss", []string{"quic", "tftp", "impair", "rss"}, true},
		{"nc,dd,quic", []string{"nc", "dd", "quic"}, true},
		{"rss", []string{"rss"}, true},
		{" impair , quic ", []string{"impair", "quic"}, true},
		{"all", []string{"quic", "nc", "dd", "tftp", "impair", "rss"}, true},
		{"", nil, false},
		{",", nil, false},
		{"quic,udp", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseOnly(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("parseOnly(%q) error %v, want ok %v", tt.in, err, tt.ok)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("parseOnly(%q) = %v, want %v", tt.in, got, tt.want)
			}
			for _, w := range tt.want {
				if !got[w] {
					t.Errorf("parseOnly(%q) = %v, want %v", tt.in, got, tt.want)
				}
			}
		})
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %g, want %g", tt.in, got, tt.want)
		}
	}
	if got := median(nil); !math.IsNaN(got) {
		t.Errorf("median(nil) = %g, want NaN", got)
	}
}

func TestParseBenchLine(t *testing.T) {
	line := "BenchmarkExtendedLoopback/extended-2         \t       3\t 680020450 ns/op\t 394.70 MB/s\t         0 loss-events\t         0 retx\t      3182 srtt-µs\t 2800517 B/op\t    6734 allocs/op"
	name, m, ok := parseBenchLine(line)
	if !ok || name != "BenchmarkExtendedLoopback/extended" {
		t.Fatalf("parseBenchLine = %q, %v; want BenchmarkExtendedLoopback/extended, true", name, ok)
	}
	for unit, want := range map[string]float64{"ns/op": 680020450, "MB/s": 394.70, "retx": 0, "srtt-µs": 3182, "allocs/op": 6734} {
		if got := m[unit]; got != want {
			t.Errorf("metric %s = %g, want %g", unit, got, want)
		}
	}
	for _, bad := range []string{"", "PASS", "goos: linux", "BenchmarkX-2 --- FAIL", "ok  \tgithub.com/netkit/netkit/internal/rudp\t5.4s"} {
		if _, _, ok := parseBenchLine(bad); ok {
			t.Errorf("parseBenchLine(%q) ok, want not", bad)
		}
	}
}

func TestParseQUICLine(t *testing.T) {
	mbps, sec, ok := parseQUICLine("quic-go: 1024 MiB in 3.89s = 275.7 MB/s")
	if !ok || mbps != 275.7 || sec != 3.89 {
		t.Errorf("parseQUICLine = %g, %g, %v; want 275.7, 3.89, true", mbps, sec, ok)
	}
	for _, bad := range []string{"", "quic-go:", "panic: boom", "quic-go: 1024 MiB in ?s = x MB/s"} {
		if _, _, ok := parseQUICLine(bad); ok {
			t.Errorf("parseQUICLine(%q) ok, want not", bad)
		}
	}
}

func TestParseSNMP(t *testing.T) {
	text := "Ip: Forwarding DefaultTTL\nIp: 1 64\n" +
		"Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors\n" +
		"Udp: 44853275 722 775643 39372099 775641 0 0 0 0\n" +
		"UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors\n" +
		"UdpLite: 0 0 0 0 0 0 0 0 0\n"
	got, err := parseSNMP(text, "Udp", "RcvbufErrors")
	if err != nil || got != 775641 {
		t.Errorf("parseSNMP RcvbufErrors = %d, %v; want 775641", got, err)
	}
	if _, err := parseSNMP(text, "Udp", "Nope"); err == nil {
		t.Error("parseSNMP of a missing counter: no error")
	}
	if _, err := parseSNMP("", "Udp", "RcvbufErrors"); err == nil {
		t.Error("parseSNMP of nothing: no error")
	}
}

func TestUDPBound(t *testing.T) {
	text := "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n" +
		"  120: 0100007F:AB49 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 123 2 0000000000000000 0\n"
	tests := []struct {
		port int
		want bool
	}{
		{0xAB49, true},
		{43850, false},
		{0, false},
	}
	for _, tt := range tests {
		if got := udpBound(text, tt.port); got != tt.want {
			t.Errorf("udpBound(port %d) = %v, want %v", tt.port, got, tt.want)
		}
	}
}

func TestNumJSON(t *testing.T) {
	b, err := json.Marshal([]num{1.5, num(math.NaN()), num(math.Inf(1))})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "[1.5,null,null]"; got != want {
		t.Errorf("json = %s, want %s", got, want)
	}
}

func TestFmtBytes(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{4 << 30, "4 GiB"},
		{100 << 20, "100 MiB"},
		{1e9, "1000.0 MB"},
	}
	for _, tt := range tests {
		if got := fmtBytes(tt.in); got != tt.want {
			t.Errorf("fmtBytes(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
