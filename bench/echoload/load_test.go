package main

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/echo"
	"github.com/netkit/netkit/internal/service"
)

// startEcho serves netkit's echo handler in process on a free loopback port.
func startEcho(t *testing.T) netip.AddrPort {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &service.Server{Name: "echo", Handler: echo.Handler{}, Limits: service.Limits{MaxConnsPerIP: -1}}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, service.ErrServerClosed) {
			t.Errorf("Serve = %v, want ErrServerClosed", err)
		}
	})
	return l.Addr().(*net.TCPAddr).AddrPort()
}

func TestLoad(t *testing.T) {
	addr := startEcho(t)
	tests := []struct {
		name string
		cfg  loadConfig
		srcs []netip.Addr
	}{
		// Long enough that every worker gets through its connections even
		// when the machine is busy (CI runs the e2e tests beside this).
		{"closed", loadConfig{Mode: "closed", Workers: 4, Size: 32, Duration: time.Second, MaxRTTs: 1e6}, nil},
		{"closed/bounded", loadConfig{Mode: "closed", Workers: 8, Size: 100, Duration: 10 * time.Second, MaxRTTs: 200}, nil},
		{"rate", loadConfig{Mode: "rate", Workers: 4, Rate: 1000, Size: 32, Duration: 300 * time.Millisecond, MaxRTTs: 1e6}, nil},
		{"sources", loadConfig{Mode: "closed", Workers: 4, Size: 16, Duration: time.Second, MaxRTTs: 1e6},
			[]netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 40
			conns, dr, err := dialAll(context.Background(), addr, n, 8, tt.srcs, 5*time.Second)
			t.Cleanup(func() {
				for _, c := range conns {
					c.c.Close()
				}
			})
			if err != nil || dr.Opened != n {
				t.Fatalf("dialAll opened %d of %d: %v", dr.Opened, n, err)
			}
			if tt.srcs != nil {
				ip := conns[1].c.LocalAddr().(*net.TCPAddr).AddrPort().Addr()
				if ip != tt.srcs[1] {
					t.Errorf("connection 2 is from %v, want %v", ip, tt.srcs[1])
				}
			}
			tt.cfg.Timeout = 5 * time.Second
			start := time.Now()
			res := runLoad(context.Background(), conns, tt.cfg)
			if took := time.Since(start); took > tt.cfg.Duration+2*time.Second {
				t.Errorf("load took %v, want about %v", took, tt.cfg.Duration)
			}
			if res.errorCount() != 0 {
				t.Fatalf("errors %v; first: %s", res.errors, res.firstErr)
			}
			if res.count() == 0 || res.count() > tt.cfg.MaxRTTs {
				t.Errorf("round trips = %d, want 1..%d", res.count(), tt.cfg.MaxRTTs)
			}
			// With a shared bound on round trips, a worker the scheduler
			// runs late may find the budget spent: only an unbounded run
			// must use every connection.
			if res.unused != 0 && tt.cfg.MaxRTTs >= 1e6 {
				t.Errorf("%d connections unused, want 0", res.unused)
			}
			if tt.cfg.Mode == "rate" {
				want := int64(tt.cfg.Rate * tt.cfg.Duration.Seconds())
				if res.scheduled != want || res.issued != want {
					t.Errorf("scheduled, issued = %d, %d; want %d, %d", res.scheduled, res.issued, want, want)
				}
			}
		})
	}
}

func TestDialRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// A server that answers with something other than the welcome line.
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("error: server full (1 connections); try again later\n"))
			c.Close()
		}
	}()
	defer l.Close()
	addr := l.Addr().(*net.TCPAddr).AddrPort()
	_, _, err = dialAll(context.Background(), addr, 3, 2, nil, 2*time.Second)
	if err == nil {
		t.Fatal("dialAll succeeded against a refusing server, want an error")
	}
}
