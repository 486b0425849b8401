package echo_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/echo"
	"github.com/netkit/netkit/internal/service"
)

func TestEchoTCP(t *testing.T) {
	srv := &service.Server{Handler: echo.Handler{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()

	sizes := []int{0, 1, 2047, 2048, 2049, 1 << 20}
	for _, size := range sizes {
		payload := make([]byte, size)
		rand.Read(payload)
		conn, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(conn)
		welcome, err := r.ReadString('\n')
		if err != nil || welcome != echo.Welcome {
			t.Fatalf("welcome = %q, %v", welcome, err)
		}
		go func() {
			conn.Write(payload)
			conn.(*net.TCPConn).CloseWrite()
		}()
		got, err := io.ReadAll(r)
		conn.Close()
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if !bytes.Equal(got, payload) {
			t.Errorf("size %d: echoed %d bytes, not the same as sent", size, len(got))
		}
	}
}

func TestEchoUDP(t *testing.T) {
	srv := &service.PacketServer{Handler: echo.PacketHandler{}, MaxPacket: 65507}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(pc)
	defer srv.Close()
	conn, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 65536)
	for _, size := range []int{0, 1, 1472, 9000} {
		msg := make([]byte, size)
		rand.Read(msg)
		conn.Write(msg)
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("size %d: no answer", size)
			}
			t.Fatal(err)
		}
		if !bytes.Equal(buf[:n], msg) {
			t.Errorf("size %d: answer differs", size)
		}
	}
}
