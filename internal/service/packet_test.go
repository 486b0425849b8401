package service_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/service"
)

var udpEcho = service.PacketHandlerFunc(func(_ context.Context, req []byte, _ netip.AddrPort, out []byte) []byte {
	return append(out, req...)
})

func startPacket(t *testing.T, srv *service.PacketServer) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(pc) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, service.ErrServerClosed) {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	})
	return pc.LocalAddr().String()
}

// exchange sends each datagram and reports which got an answer equal to it.
func exchange(t *testing.T, addr string, msgs [][]byte, wait time.Duration) []bool {
	t.Helper()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	got := make([]bool, len(msgs))
	buf := make([]byte, 70000)
	for i, m := range msgs {
		if _, err := conn.Write(m); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(wait))
		n, err := conn.Read(buf)
		got[i] = err == nil && bytes.Equal(buf[:n], m)
	}
	return got
}

func TestPacketServerMaxPacket(t *testing.T) {
	addr := startPacket(t, &service.PacketServer{Handler: udpEcho, MaxPacket: 100})
	got := exchange(t, addr, [][]byte{bytes.Repeat([]byte("a"), 100), bytes.Repeat([]byte("b"), 101), []byte("c")}, 2*time.Second)
	want := []bool{true, false, true}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("datagram %d answered = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestPacketServerRateLimit(t *testing.T) {
	// A burst of 5 and a rate too slow to refill during the test: the
	// sixth datagram is dropped.
	addr := startPacket(t, &service.PacketServer{Handler: udpEcho, Rate: 0.001, Burst: 5})
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
}

func TestPacketServerNoLimit(t *testing.T) {
	addr := startPacket(t, &service.PacketServer{Handler: udpEcho, Rate: -1})
	msgs := make([][]byte, 300)
	for i := range msgs {
		msgs[i] = []byte{byte(i), 'x'}
	}
	for i, ok := range exchange(t, addr, msgs, 2*time.Second) {
		if !ok {
			t.Fatalf("datagram %d not answered with no rate limit", i)
		}
	}
}

func TestPacketServerShutdown(t *testing.T) {
	srv := &service.PacketServer{Handler: udpEcho}
	startPacket(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown = %v", err)
	}
}
