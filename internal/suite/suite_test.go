package suite

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

func TestParseList(t *testing.T) {
	got, err := ParseList("echo, hello,,time")
	if err != nil || strings.Join(got, ",") != "echo,hello,time" {
		t.Errorf("ParseList = %q, %v", got, err)
	}
	if _, err := ParseList("echo,nope"); err == nil || !strings.Contains(err.Error(), `unknown service "nope"`) {
		t.Errorf("unknown service: %v", err)
	}
}

func TestDefaultPortsUnique(t *testing.T) {
	seen := map[string]string{}
	for _, s := range Services {
		for _, p := range s.Ports {
			for _, proto := range strings.Split(strings.ReplaceAll(p.Proto, "http", "tcp"), "+") {
				key := proto + "/" + s.DefaultAddr("127.0.0.1", p.Name)
				if other, dup := seen[key]; dup {
					t.Errorf("%s %s and %s share %s", s.Name, p.Name, other, key)
				}
				seen[key] = s.Name + " " + p.Name
			}
			if p.Default < 7700 || p.Default > 7799 {
				t.Errorf("%s %s: port %d outside the 7700-7799 block", s.Name, p.Name, p.Default)
			}
		}
	}
}

func TestListenBoth(t *testing.T) {
	l, pc, err := ListenBoth("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	defer pc.Close()
	if l.Addr().(*net.TCPAddr).Port != pc.LocalAddr().(*net.UDPAddr).Port {
		t.Errorf("tcp %v and udp %v differ", l.Addr(), pc.LocalAddr())
	}
	// The same address again is in use: a clear error.
	if _, _, err := ListenBoth(l.Addr().String()); err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Errorf("second listen: %v", err)
	}
}

func TestGroupRunsEveryService(t *testing.T) {
	env := NewEnv(nil)
	env.DataDir = t.TempDir()
	var g Group
	for _, s := range Services {
		if err := s.Build(&g, env, func(string) string { return "127.0.0.1:0" }); err != nil {
			g.Close()
			t.Fatalf("%s: %v", s.Name, err)
		}
	}
	if len(g.Endpoints()) < len(Services) {
		t.Fatalf("only %d endpoints", len(g.Endpoints()))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx, time.Second, nil) }()
	var echoAddr string
	for _, ep := range g.Endpoints() {
		if ep.Service == "echo" && ep.Proto == "tcp" {
			echoAddr = ep.Addr
		}
	}
	conn, err := net.DialTimeout("tcp", echoAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v after cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
