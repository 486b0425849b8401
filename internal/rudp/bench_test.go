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
				st, err = Send(b.Context(), conn, []Item{File("bench.bin", bytes.NewReader(data), size)}, SendOptions{FragmentSize: 1428, Legacy: true})
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

// zeroReader is an io.ReaderAt of size bytes that repeats one random
// buffer: content for a benchmark of any size without holding it.
type zeroReader struct{ buf []byte }

func (z zeroReader) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		o := int((off + int64(n)) % int64(len(z.buf)))
		n += copy(p[n:], z.buf[o:])
	}
	return n, nil
}

// BenchmarkExtendedLoopback measures the extended mode over loopback, one
// transfer of 1 GiB per operation from memory into a store that discards
// (the receiver still checks the SHA-256), plain and sealed: the figure
// to set beside quic-go's one stream (../shared/bench/quicbench), which
// also sends from memory to memory.
//
//	go test -run '^$' -bench ExtendedLoopback -benchtime 2x ./internal/rudp
func BenchmarkExtendedLoopback(b *testing.B) {
	const size = 1 << 30
	src := zeroReader{randomBytes(1<<20+7, 2)}
	for _, m := range modes[1:] {
		b.Run(m.name, func(b *testing.B) {
			r := m.recv(&Receiver{Store: discardStore{}})
			addr := startReceiver(b, r)
			b.SetBytes(size)
			b.ReportAllocs()
			var st Stats
			start := time.Now()
			for b.Loop() {
				var err error
				st, err = Send(b.Context(), dialUDP(b, addr), []Item{File("bench.bin", src, size)}, m.send(SendOptions{}))
				if err != nil {
					b.Fatal(err)
				}
			}
			el := time.Since(start).Seconds()
			b.ReportMetric(float64(b.N)*size/1e6/el, "MB/s")
			b.ReportMetric(float64(st.Retransmissions), "retx")
			b.ReportMetric(float64(st.LossEvents), "loss-events")
			b.ReportMetric(float64(st.SRTT.Microseconds()), "srtt-µs")
		})
	}
}
