package service

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestKeepAliveSet checks that an accepted connection probes a silent
// peer as KeepAlive says, so that a dead one goes within 90 s.
func TestKeepAliveSet(t *testing.T) {
	got := make(chan [4]int, 1)
	srv := &Server{Handler: HandlerFunc(func(_ context.Context, c *Conn) error {
		var v [4]int
		raw, err := c.conn.(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Error(err)
		}
		raw.Control(func(fd uintptr) {
			for i, opt := range []struct{ level, name int }{
				{syscall.SOL_SOCKET, syscall.SO_KEEPALIVE},
				{syscall.IPPROTO_TCP, unix.TCP_KEEPIDLE},
				{syscall.IPPROTO_TCP, unix.TCP_KEEPINTVL},
				{syscall.IPPROTO_TCP, unix.TCP_KEEPCNT},
			} {
				v[i], _ = unix.GetsockoptInt(int(fd), opt.level, opt.name)
			}
		})
		got <- v
		return nil
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case v := <-got:
		want := [4]int{1, int(KeepAlive.Idle / time.Second), int(KeepAlive.Interval / time.Second), KeepAlive.Count}
		if v != want {
			t.Errorf("SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT = %v, want %v", v, want)
		}
		if d := KeepAlive.Idle + time.Duration(KeepAlive.Count)*KeepAlive.Interval; d > 95*time.Second {
			t.Errorf("a dead peer is found after %v, want about 90s", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("handler never ran")
	}
}
