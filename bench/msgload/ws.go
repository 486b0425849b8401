package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/netkit/netkit/bench/internal/benchproc"
	"github.com/netkit/netkit/internal/msg/envelope"
)

// wsRun connects wsClients WebSockets, then sends broadcasts over HTTP
// 200 ms apart, each carrying its send time; every client notes when it
// arrives.
func (c *config) wsRun(ctx context.Context, r *report) error {
	nk, err := c.startNetkit(ctx)
	if err != nil {
		return err
	}
	defer nk.Stop(5 * time.Second)
	type arrival struct {
		seq int
		lat time.Duration
	}
	arrivals := make(chan arrival, c.wsClients*4)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for i := range c.wsClients {
		conn, _, err := websocket.Dial(ctx, "ws://"+nk.web+"/api/v1/ws", nil)
		if err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
		wg.Go(func() {
			defer conn.CloseNow()
			for {
				_, b, err := conn.Read(ctx)
				if err != nil {
					return
				}
				now := time.Now()
				plain, err := c.keys.Decrypt(b, time.Hour)
				if err != nil {
					continue
				}
				e, err := envelope.Parse(plain)
				if err != nil || e.Type != envelope.Broadcast {
					continue
				}
				var body struct {
					Seq int   `json:"seq"`
					T   int64 `json:"t"`
				}
				json.Unmarshal(e.Body, &body)
				arrivals <- arrival{body.Seq, now.Sub(time.Unix(0, body.T))}
			}
		})
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	var lats []time.Duration
	missing := 0
	for seq := range c.broadcasts {
		body, _ := json.Marshal(map[string]int64{"seq": int64(seq), "t": time.Now().UnixNano()})
		tok, _ := c.freshToken(envelope.Broadcast, body)
		resp, err := hc.Post("http://"+nk.web+"/api/v1/messages", "text/plain", bytes.NewReader(tok))
		if err != nil {
			return err
		}
		resp.Body.Close()
		got := 0
		timeout := time.After(2 * time.Second)
	wait:
		for got < c.wsClients {
			select {
			case a := <-arrivals:
				if a.seq == seq {
					got++
					lats = append(lats, a.lat)
				}
			case <-timeout:
				break wait
			}
		}
		missing += c.wsClients - got
		time.Sleep(200 * time.Millisecond)
	}
	r.WS = &wsResult{Clients: c.wsClients, Broadcasts: c.broadcasts, Missing: missing,
		P50: percentile(lats, 0.5), P99: percentile(lats, 0.99), Max: slices.Max(append(lats, 0)), Load: benchproc.LoadAvgs()}
	fmt.Fprintf(c.stderr, "msgload: ws broadcast to %d: p50 %v p99 %v, %d missing\n", c.wsClients, r.WS.P50, r.WS.P99, missing)
	return nil
}

// soakRun drives HTTP at full rate for c.soak with --ttl 10s, reading
// the server's RSS every 5 s.
func (c *config) soakRun(ctx context.Context, r *report) error {
	nk, err := c.startNetkit(ctx, "--ttl", "10s")
	if err != nil {
		return err
	}
	defer nk.Stop(5 * time.Second)
	done := make(chan result, 1)
	go func() { done <- c.httpLoad(ctx, "netkit-soak", nk.web, c.clients, c.soak) }()
	start := time.Now()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case res := <-done:
			r.Soak = &soakResult{Run: res, Samples: r.soakSamples, Load: benchproc.LoadAvgs()}
			fmt.Fprintf(c.stderr, "msgload: soak %.0f/s over %v\n", res.Rate, c.soak)
			return nil
		case <-tick.C:
			m, err := benchproc.ReadMem(nk.PID)
			if err == nil {
				r.soakSamples = append(r.soakSamples, rssSample{At: time.Since(start).Round(time.Second), RSSKiB: m.RSS})
			}
		}
	}
}

// discoveryRun (root only) makes two network namespaces joined by a veth
// pair, runs netkit serve in one, and times netkit discover --first in
// the other, as its own elapsed_ms says (from the first query to the
// answer), discoveryRuns times.
func (c *config) discoveryRun(ctx context.Context, r *report) error {
	if os.Geteuid() != 0 {
		fmt.Fprintln(c.stderr, "msgload: discovery skipped: network namespaces need root")
		return nil
	}
	a, b := "msg-bench-a", "msg-bench-b"
	ip := func(args ...string) error {
		out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	exec.Command("ip", "netns", "del", a).Run()
	exec.Command("ip", "netns", "del", b).Run()
	defer exec.Command("ip", "netns", "del", a).Run()
	defer exec.Command("ip", "netns", "del", b).Run()
	for _, args := range [][]string{
		{"netns", "add", a}, {"netns", "add", b},
		{"link", "add", "msg-bva", "type", "veth", "peer", "name", "msg-bvb"},
		{"link", "set", "msg-bva", "netns", a}, {"link", "set", "msg-bvb", "netns", b},
		{"-n", a, "addr", "add", "10.242.43.1/24", "dev", "msg-bva"}, {"-n", b, "addr", "add", "10.242.43.2/24", "dev", "msg-bvb"},
		{"-n", a, "link", "set", "msg-bva", "up"}, {"-n", b, "link", "set", "msg-bvb", "up"},
	} {
		if err := ip(args...); err != nil {
			return err
		}
	}
	webPort := make(chan string, 1)
	srv, err := benchproc.Start("ip", []string{"netns", "exec", a, c.bin, "serve", "--host", "0.0.0.0", "--only", "web,msg", "--random-ports", "--json", "--key-file", c.keyFile}, nil, func(line string) {
		var ep struct{ Service, Addr string }
		if json.Unmarshal([]byte(line), &ep) == nil && ep.Service == "web" {
			if _, port, err := net.SplitHostPort(ep.Addr); err == nil {
				select {
				case webPort <- port:
				default:
				}
			}
		}
	})
	if err != nil {
		return err
	}
	defer srv.Stop(5 * time.Second)
	var port string
	select {
	case port = <-webPort:
	case <-time.After(10 * time.Second):
		return errors.New("the server printed no web address")
	}
	time.Sleep(time.Second)
	var ms []float64
	var walls []time.Duration
	for range c.discoveryRuns {
		t0 := time.Now()
		out, err := exec.CommandContext(ctx, "ip", "netns", "exec", b, c.bin, "discover", "--first", "--json", "--timeout", "2s", "--key-file", c.keyFile).Output()
		walls = append(walls, time.Since(t0))
		if err != nil {
			return fmt.Errorf("discover: %v: %s", err, out)
		}
		var d struct {
			ElapsedMS float64 `json:"elapsed_ms"`
		}
		json.Unmarshal(bytes.SplitN(out, []byte("\n"), 2)[0], &d)
		ms = append(ms, d.ElapsedMS)
	}
	slices.Sort(ms)
	r.Discovery = &discoveryResult{Runs: len(ms), P50MS: ms[len(ms)/2], P95MS: ms[(len(ms)*95+99)/100-1], MaxMS: ms[len(ms)-1],
		WallP95: percentile(walls, 0.95), Load: benchproc.LoadAvgs()}
	fmt.Fprintf(c.stderr, "msgload: discovery p95 %.1f ms over %d runs (process wall p95 %v)\n", r.Discovery.P95MS, len(ms), r.Discovery.WallP95)

	// The fallback where multicast is blocked: a sweep of the /24 for
	// the web port, to the first verified handshake (the process's wall
	// time: the sweep has no clock of its own to print).
	var sweeps []time.Duration
	for range c.discoveryRuns {
		t0 := time.Now()
		out, err := exec.CommandContext(ctx, "ip", "netns", "exec", b, c.bin, "discover", "--sweep", "10.242.43.0/24", "--port", port, "--first", "--json", "--key-file", c.keyFile).Output()
		sweeps = append(sweeps, time.Since(t0))
		if err != nil || !bytes.Contains(out, []byte(`"verification":"verified"`)) {
			return fmt.Errorf("discover --sweep: %v: %s", err, out)
		}
	}
	r.Discovery.SweepP50, r.Discovery.SweepP95 = percentile(sweeps, 0.5), percentile(sweeps, 0.95)
	fmt.Fprintf(c.stderr, "msgload: sweep of a /24 to the first verified server: p50 %v p95 %v over %d runs\n", r.Discovery.SweepP50, r.Discovery.SweepP95, len(sweeps))
	return nil
}
