package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/netkit/netkit/bench/internal/benchproc"
)

// netkitServer is `netkit serve --only web,msg` with its addresses.
type netkitServer struct {
	*benchproc.Process
	web, udp string
}

func (c *config) startNetkit(ctx context.Context, extra ...string) (*netkitServer, error) {
	var mu sync.Mutex
	s := &netkitServer{}
	ready := make(chan struct{})
	var once sync.Once
	args := append([]string{"serve", "--only", "web,msg", "--random-ports", "--json", "--key-file", c.keyFile, "--log-level", "warn", "--max-conns", "-1", "--max-conns-per-ip", "-1"}, extra...)
	p, err := benchproc.Start(c.bin, args, nil, func(line string) {
		var ep struct{ Service, Proto, Addr string }
		if json.Unmarshal([]byte(line), &ep) != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		switch ep.Service {
		case "web":
			s.web = ep.Addr
		case "msg":
			s.udp = ep.Addr
		}
		if s.web != "" && s.udp != "" {
			once.Do(func() { close(ready) })
		}
	})
	if err != nil {
		return nil, err
	}
	s.Process = p
	select {
	case <-ready:
	case <-p.Done():
		return nil, fmt.Errorf("netkit exited: %v\n%s", p.Err(), p.Tail)
	case <-time.After(30 * time.Second):
		p.Stop(5 * time.Second)
		return nil, fmt.Errorf("netkit printed no addresses\n%s", p.Tail)
	case <-ctx.Done():
		p.Stop(5 * time.Second)
		return nil, ctx.Err()
	}
	return s, nil
}

// startFlask runs the reference under gunicorn with 2 workers, as its
// docstring says, and returns it with its address.
func (c *config) startFlask(ctx context.Context) (*benchproc.Process, string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	addr := l.Addr().String()
	l.Close()
	p, err := benchproc.Start("gunicorn", []string{"-w", "2", "-b", addr, "--chdir", c.flaskDir, "app:app"}, []string{"NETKIT_KEY=" + c.key}, nil)
	if err != nil {
		return nil, "", fmt.Errorf("gunicorn (Debian: gunicorn python3-flask python3-cryptography): %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			// Both workers boot; give the second a moment to be ready.
			time.Sleep(time.Second)
			return p, addr, nil
		}
		select {
		case <-p.Done():
			return nil, "", fmt.Errorf("gunicorn exited: %v\n%s", p.Err(), p.Tail)
		case <-ctx.Done():
			p.Stop(5 * time.Second)
			return nil, "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	p.Stop(5 * time.Second)
	return nil, "", fmt.Errorf("gunicorn did not listen on %s\n%s", addr, p.Tail)
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }
