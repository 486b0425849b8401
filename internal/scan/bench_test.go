package scan

import (
	"testing"
)

// BenchmarkScanLoopbackAll scans every TCP port of 127.0.0.1 with 40
// listeners, as netkit scan -p- -T5 does, and reports the rate. Its
// allocations are the engine's: results are counted, not kept.
func BenchmarkScanLoopbackAll(b *testing.B) {
	var all []Port
	for p := 1; p <= 65535; p++ {
		all = append(all, Port{Number: uint16(p)})
	}
	s := Scanner{Timing: presets[5]}
	for b.Loop() {
		open := 0
		_, err := s.Run(b.Context(), []Target{{Addr: loopback}}, all, func(r Result) bool {
			if r.State == Open {
				open++
			}
			return true
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(all))*float64(b.N)/b.Elapsed().Seconds(), "ports/s")
}
