package impair

import (
	"errors"
	"net"
	"testing"
	"time"
)

// benchRelay measures the relay's throughput one way: a client writes
// 1400-byte datagrams as fast as a window of credits allows, a target reads
// them and returns a credit for each, so the sockets never overflow and
// every datagram written is one relayed. It reports datagrams and
// megabytes per second; -benchmem's allocs/op is per datagram, counting the
// harness as well as the relay. With im nil the client writes straight to
// the target, for a baseline.
func benchRelay(b *testing.B, im *Impairment) {
	const (
		size    = 1400
		window  = 256 // well within the 4 MiB socket buffers below
		sockBuf = 4 << 20
	)
	target := listen(b)
	target.SetReadBuffer(sockBuf)
	r := &Relay{Target: target.LocalAddr().String()}
	addr := target.LocalAddr().(*net.UDPAddr)
	if im != nil {
		r.Upstream = *im
		pc := listen(b)
		pc.SetReadBuffer(sockBuf)
		done := make(chan error, 1)
		go func() { done <- r.Serve(pc) }()
		defer func() {
			r.Close()
			if err := <-done; !errors.Is(err, ErrServerClosed) {
				b.Errorf("Serve = %v", err)
			}
		}()
		addr = pc.LocalAddr().(*net.UDPAddr)
	}
	client := dial(b, addr)
	client.SetWriteBuffer(sockBuf)

	credits := make(chan struct{}, window)
	lost := make(chan int, 1)
	go func() {
		buf := make([]byte, 2048)
		var got int
		for {
			// A datagram missing for a second is lost; say so rather than
			// hang.
			if got%1024 == 0 {
				target.SetReadDeadline(time.Now().Add(time.Second))
			}
			if _, err := target.Read(buf); err != nil {
				lost <- got
				return
			}
			got++
			credits <- struct{}{}
		}
	}()
	for range window {
		credits <- struct{}{}
	}
	msg := make([]byte, size)
	send(b, client, msg) // open the relay's session before timing
	<-credits

	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		select {
		case <-credits:
		case got := <-lost:
			b.Fatalf("target stopped receiving after %d datagrams (stats %+v)", got, r.Stats().Up)
		}
		if _, err := client.Write(msg); err != nil {
			b.Fatal(err)
		}
	}
	for range window - 1 {
		select {
		case <-credits:
		case got := <-lost:
			b.Fatalf("target stopped receiving after %d datagrams (stats %+v)", got, r.Stats().Up)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}

// BenchmarkRelayPassThrough is the relay with no impairment, as a reliable
// transfer's benchmark uses it for a clean baseline.
func BenchmarkRelayPassThrough(b *testing.B) { benchRelay(b, &Impairment{}) }

// BenchmarkLoopbackBaseline is the same traffic without the relay: what
// the relay's figures compare with.
func BenchmarkLoopbackBaseline(b *testing.B) { benchRelay(b, nil) }

// BenchmarkRelayImpaired puts every datagram through the impaired paths:
// decisions only, and the scheduler.
func BenchmarkRelayImpaired(b *testing.B) {
	b.Run("corrupt1%", func(b *testing.B) { benchRelay(b, &Impairment{Corrupt: 0.01}) })
	b.Run("delay1ms", func(b *testing.B) { benchRelay(b, &Impairment{Delay: time.Millisecond}) })
	b.Run("rate1GB/s", func(b *testing.B) { benchRelay(b, &Impairment{Rate: 1e9}) })
}
