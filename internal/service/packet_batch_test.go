package service_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/service"
)

// TestPacketServerBatch runs the limits through the batched loop: an
// oversized datagram is dropped and the rest answered, the rate limit
// holds, and a burst from several sockets, read many at a time, has every
// answer go back to its own sender.
func TestPacketServerBatch(t *testing.T) {
	t.Run("max packet", func(t *testing.T) {
		addr := startPacket(t, &service.PacketServer{Handler: udpEcho, MaxPacket: 100, Batch: 16})
		got := exchange(t, addr, [][]byte{bytes.Repeat([]byte("a"), 100), bytes.Repeat([]byte("b"), 101), []byte("c")}, 2*time.Second)
		want := []bool{true, false, true}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("datagram %d answered = %v, want %v", i, got[i], want[i])
			}
		}
	})
	t.Run("rate limit", func(t *testing.T) {
		addr := startPacket(t, &service.PacketServer{Handler: udpEcho, Rate: 0.001, Burst: 5, Batch: 16})
		msgs := make([][]byte, 6)
		for i := range msgs {
			msgs[i] = []byte{byte(i)}
		}
		got := exchange(t, addr, msgs, 300*time.Millisecond)
		for i := range 5 {
			if !got[i] {
				t.Errorf("datagram %d within the burst was not answered", i)
			}
		}
		if got[5] {
			t.Error("datagram past the burst was answered")
		}
	})
	t.Run("burst", func(t *testing.T) {
		// The handler sleeps on the first datagram, so that the rest
		// queue up and are read in batches.
		first := make(chan struct{}, 1)
		first <- struct{}{}
		slow := service.PacketHandlerFunc(func(ctx context.Context, req []byte, from netip.AddrPort, out []byte) []byte {
			select {
			case <-first:
				time.Sleep(50 * time.Millisecond)
			default:
			}
			return append(out, req...)
		})
		addr := startPacket(t, &service.PacketServer{Handler: slow, Rate: -1, Batch: 8})
		const socks, each = 4, 50
		conns := make([]net.Conn, socks)
		for i := range conns {
			c, err := net.Dial("udp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			conns[i] = c
		}
		for j := range each {
			for i, c := range conns {
				if _, err := fmt.Fprintf(c, "sock %d msg %d", i, j); err != nil {
					t.Fatal(err)
				}
			}
		}
		buf := make([]byte, 100)
		for i, c := range conns {
			for j := range each {
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				n, err := c.Read(buf)
				if err != nil {
					t.Fatalf("socket %d, answer %d: %v", i, j, err)
				}
				if got, want := string(buf[:n]), fmt.Sprintf("sock %d msg %d", i, j); got != want {
					t.Fatalf("socket %d got %q, want %q", i, got, want)
				}
			}
		}
	})
	t.Run("shutdown", func(t *testing.T) {
		srv := &service.PacketServer{Handler: udpEcho, Batch: 16}
		startPacket(t, srv)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown = %v", err)
		}
	})
}
