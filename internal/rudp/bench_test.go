package rudp

import (
	"bytes"
	"testing"
	"time"
)

// BenchmarkLegacyLoopback measures legacy stop-and-wait throughput over
// loopback at fragment size 1428 (the size atftp's blksize tests use), a
// file of 8 MiB per operation: into a folder (with its fsync), and into a
// store that discards, which isolates the protocol. MB/s is the figure to
// compare; it is bound by the round trip, one frame per round trip.
//
//	go test -run '^$' -bench LegacyLoopback -benchtime 5x ./internal/rudp
func BenchmarkLegacyLoopback(b *testing.B) {
	const size = 8 << 20
	data := randomBytes(size, 1)
	for _, sink := range []string{"folder", "discard"} {
		b.Run(sink, func(b *testing.B) {
			r := &Receiver{Dir: b.TempDir(), Overwrite: true}
			if sink == "discard" {
				r.Store = discardStore{}
			}
			addr := startReceiver(b, r)
			conn := dialUDP(b, addr)
			b.SetBytes(size)
			b.ReportAllocs()
			var st Stats
			start := time.Now()
			for b.Loop() {
				var err error
				st, err = Send(b.Context(), conn, []Item{File("bench.bin", bytes.NewReader(data), size)}, SendOptions{FragmentSize: 1428})
				if err != nil {
					b.Fatal(err)
				}
				// Each Send ends the session with FIN; a new one starts
				// from the same address, which the receiver takes as new.
			}
			el := time.Since(start).Seconds()
			b.ReportMetric(float64(b.N)*size/1e6/el, "MB/s")
			b.ReportMetric(float64(st.Frames)/(el/float64(b.N)), "frames/s")
			b.ReportMetric(float64(st.SRTT.Microseconds()), "srtt-µs")
		})
	}
}
