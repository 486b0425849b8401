package main

import "testing"

func TestMemResults(t *testing.T) {
	lines := []string{
		"goos: linux",
		"BenchmarkExtendedLoopback/extended-2         \t       2\t 2880020450 ns/op\t 372.80 MB/s\t         0 loss-events\t       469 retx\t      1100 srtt-µs",
		"BenchmarkExtendedLoopback/sealed-2           \t       2\t 3340000000 ns/op\t 321.80 MB/s\t         1 loss-events\t       400 retx\t       590 srtt-µs",
		"BenchmarkOther-2 \t 5\t 100 ns/op",
		"PASS",
	}
	rs := memResults(lines)
	if len(rs) != 2 {
		t.Fatalf("memResults = %+v, want 2 results", rs)
	}
	want := []result{
		{What: whatMemPlain, MBps: 372.8, Seconds: 2.88002045, Bytes: 1 << 30, Retransmissions: 469, SRTTms: 1.1},
		{What: whatMemSealed, MBps: 321.8, Seconds: 3.34, Bytes: 1 << 30, Retransmissions: 400, LossEvents: 1, SRTTms: 0.59},
	}
	for i, w := range want {
		g := rs[i]
		if g.What != w.What || g.MBps != w.MBps || g.Seconds != w.Seconds || g.Bytes != w.Bytes || g.Retransmissions != w.Retransmissions || g.LossEvents != w.LossEvents || g.SRTTms != w.SRTTms {
			t.Errorf("result %d = %+v, want %+v", i, g, w)
		}
	}
	if rs := memResults([]string{"PASS"}); len(rs) != 0 {
		t.Errorf("memResults of no benchmark = %+v, want none", rs)
	}
}
