package udpio

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The loopback benchmarks send 1458-byte datagrams flat out from one
// socket to another in the same process, 64 per operation, and a
// goroutine reads and counts them. MB/s is what the sender got out;
// recv-MB/s what the receiver took in, over the time from the first send
// to the last read; drop-% the share lost on the way, in the receiver's
// buffer, as the sender outruns it. The protocol paces its sender, so
// recv-MB/s is the figure to compare with other transports.
//
//	go test -run '^$' -bench Loopback -count 3 ./internal/udpio
const (
	benchSize  = 1458
	benchBatch = 64
	benchBuf   = 4 << 20
)

// BenchmarkLoopbackPlain is the baseline: the net package, one datagram
// per system call, WriteToUDPAddrPort and ReadFromUDPAddrPort.
func BenchmarkLoopbackPlain(b *testing.B) {
	r, w := listen(b), listen(b)
	for _, c := range []*net.UDPConn{r, w} {
		if err := c.SetReadBuffer(benchBuf); err != nil {
			b.Fatal(err)
		}
		if err := c.SetWriteBuffer(benchBuf); err != nil {
			b.Fatal(err)
		}
	}
	to := addrOf(r)
	buf := make([]byte, 2048)
	recv := func() (int, int, error) {
		n, _, err := r.ReadFromUDPAddrPort(buf)
		return 1, n, err
	}
	out := payload(0, benchSize)
	send := func() error {
		for range benchBatch {
			if _, err := w.WriteToUDPAddrPort(out, to); err != nil {
				return err
			}
		}
		return nil
	}
	runLoopback(b, r, recv, send)
}

// BenchmarkLoopbackBatch is sendmmsg and recvmmsg without offloads; in
// recvGRO the receiver has GRO on, and so fewer read slots.
func BenchmarkLoopbackBatch(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchConns(b, Options{DisableOffload: true}, Options{DisableOffload: true}) })
	b.Run("recvGRO", func(b *testing.B) { benchConns(b, Options{DisableOffload: true}, Options{}) })
}

// BenchmarkLoopbackGSO is GSO on the sender, with GRO on the receiver
// (loopback then hands over each send whole) or off (the kernel cuts the
// sends into datagrams on the way in).
func BenchmarkLoopbackGSO(b *testing.B) {
	b.Run("GRO", func(b *testing.B) { benchConns(b, Options{}, Options{}) })
	b.Run("noGRO", func(b *testing.B) { benchConns(b, Options{}, Options{DisableOffload: true}) })
}

// benchConns runs the loopback benchmark between two Conns.
func benchConns(b *testing.B, wo, ro Options) {
	wo.ReadBuffer, wo.WriteBuffer = benchBuf, benchBuf
	ro.ReadBuffer, ro.WriteBuffer = benchBuf, benchBuf
	rc := wrap(b, listen(b), ro)
	wc := wrap(b, listen(b), wo)
	gso, _ := wc.Offload()
	_, gro := rc.Offload()
	if !wo.DisableOffload && !gso || !ro.DisableOffload && !gro {
		b.Skip("offload not available")
	}
	to := addrOf(rc.uc)
	in := make([]Datagram, benchBatch)
	recv := func() (int, int, error) {
		n, err := rc.ReadBatch(in)
		bytes := 0
		for _, d := range in[:n] {
			bytes += len(d.B)
		}
		return n, bytes, err
	}
	out := make([]Datagram, benchBatch)
	for i := range out {
		out[i] = Datagram{B: payload(i, benchSize), Addr: to}
	}
	send := func() error {
		_, err := wc.WriteBatch(out)
		return err
	}
	runLoopback(b, rc.uc, recv, send)
}

// runLoopback times send, which sends benchBatch datagrams, while a
// goroutine calls recv, which returns the datagrams and bytes it read,
// until r's read deadline, set once the sending is done, stops it.
func runLoopback(b *testing.B, r *net.UDPConn, recv func() (datagrams, bytes int, err error), send func() error) {
	var (
		wg       sync.WaitGroup
		got, n   int64
		last     time.Time
		recvErr  error
		sendErrs int
	)
	if err := r.SetReadDeadline(time.Time{}); err != nil {
		b.Fatal(err)
	}
	wg.Go(func() {
		for {
			d, k, err := recv()
			if err != nil {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					recvErr = err
				}
				return
			}
			got += int64(d)
			n += int64(k)
			last = time.Now()
		}
	})
	b.SetBytes(benchBatch * benchSize)
	b.ReportAllocs()
	start := time.Now()
	ops := 0
	for b.Loop() {
		if err := send(); err != nil {
			// A full queue on the way is loss, as on a network.
			if !errors.Is(err, syscall.ENOBUFS) {
				b.Fatal(err)
			}
			sendErrs++
		}
		ops++
	}
	// The receiver drains its buffer, then times out.
	if err := r.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
		b.Fatal(err)
	}
	wg.Wait()
	if recvErr != nil {
		b.Fatal(recvErr)
	}
	sent := int64(ops) * benchBatch
	if el := last.Sub(start).Seconds(); el > 0 {
		b.ReportMetric(float64(n)/1e6/el, "recv-MB/s")
	}
	b.ReportMetric(100*float64(sent-got)/float64(sent), "drop-%")
	if sendErrs > 0 {
		b.ReportMetric(float64(sendErrs), "ENOBUFS")
	}
}
