package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netkit/netkit/bench/internal/benchproc"
	"github.com/netkit/netkit/internal/msg/envelope"
)

// result is one load run.
type result struct {
	Target   string        `json:"target"`
	Messages int64         `json:"messages"`
	Errors   int64         `json:"errors"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	Rate     float64       `json:"rate"`
	P50      time.Duration `json:"p50_ns"`
	P99      time.Duration `json:"p99_ns"`
	// ServerCPU and LoadCPU are the CPU time the server (with its
	// children, for gunicorn: not counted) and this generator used.
	ServerCPU time.Duration `json:"server_cpu_ns"`
	LoadCPU   time.Duration `json:"load_cpu_ns"`
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(float64(len(d)-1) * p)
	return d[i]
}

// freshToken seals a new echo envelope: a new id, time and IV each call.
func (c *config) freshToken(typ envelope.Type, body json.RawMessage) ([]byte, string) {
	e, _ := envelope.New(typ, "msgload", nil)
	e.Body = body
	b, _ := envelope.Append(nil, e)
	tok, _ := c.keys.Encrypt(b)
	return tok, e.ID
}

// openReply decrypts an answer and checks it answers id.
func (c *config) openReply(tok []byte, id string) error {
	plain, err := c.keys.Decrypt(bytes.TrimSpace(tok), time.Hour)
	if err != nil {
		return err
	}
	var r struct {
		ReplyTo string `json:"reply_to"`
	}
	if json.Unmarshal(plain, &r) != nil || r.ReplyTo != id {
		return errors.New("answer does not reply to the request")
	}
	return nil
}

var echoBody = json.RawMessage(`{"text":"hello from msgload","n":[1,2,3]}`)

// httpLoad runs clients closed-loop POSTing fresh echo tokens to addr for d.
func (c *config) httpLoad(ctx context.Context, target, addr string, clients int, d time.Duration, pids ...int) result {
	cpu0, self0 := cpuOf(pids), benchproc.SelfCPU()
	res := c.httpLoad1(ctx, target, addr, clients, d)
	res.ServerCPU, res.LoadCPU = cpuOf(pids)-cpu0, benchproc.SelfCPU()-self0
	return res
}

// cpuOf adds up the CPU time of pids and of their children (gunicorn's
// workers).
func cpuOf(pids []int) time.Duration {
	var t time.Duration
	for _, pid := range pids {
		for _, p := range append([]int{pid}, children(pid)...) {
			if d, err := benchproc.CPUTime(p); err == nil {
				t += d
			}
		}
	}
	return t
}

func children(pid int) []int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		out = append(out, atoi(f))
	}
	return out
}

func (c *config) httpLoad1(ctx context.Context, target, addr string, clients int, d time.Duration) result {
	var n, errs atomic.Int64
	lat := make([][]time.Duration, clients)
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			cl := &rawClient{addr: addr}
			defer cl.close()
			for ctx.Err() == nil {
				tok, id := c.freshToken(envelope.Echo, echoBody)
				t0 := time.Now()
				code, body, err := cl.post(tok)
				el := time.Since(t0)
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
					}
					continue
				}
				if code != 200 || c.openReply(body, id) != nil {
					errs.Add(1)
					continue
				}
				n.Add(1)
				lat[i] = append(lat[i], el)
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	all := slices.Concat(lat...)
	return result{Target: target, Messages: n.Load(), Errors: errs.Load(), Elapsed: el, Rate: float64(n.Load()) / el.Seconds(), P50: percentile(all, 0.5), P99: percentile(all, 0.99)}
}

// udpLoad runs sockets closed-loop, one request in flight each; a reply
// not back within a second is a loss.
func (c *config) udpLoad(ctx context.Context, addr string, sockets int, d time.Duration) (result, int64, error) {
	var n, lost atomic.Int64
	lat := make([][]time.Duration, sockets)
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	var dialErr error
	var once sync.Once
	for i := range sockets {
		wg.Go(func() {
			conn, err := net.Dial("udp", addr)
			if err != nil {
				once.Do(func() { dialErr = err })
				return
			}
			defer conn.Close()
			buf := make([]byte, 65536)
			for ctx.Err() == nil {
				tok, id := c.freshToken(envelope.Echo, echoBody)
				t0 := time.Now()
				if _, err := conn.Write(tok); err != nil {
					lost.Add(1)
					continue
				}
				conn.SetReadDeadline(time.Now().Add(time.Second))
				m, err := conn.Read(buf)
				if err != nil || c.openReply(buf[:m], id) != nil {
					lost.Add(1)
					continue
				}
				n.Add(1)
				lat[i] = append(lat[i], time.Since(t0))
			}
		})
	}
	wg.Wait()
	if dialErr != nil {
		return result{}, 0, dialErr
	}
	el := time.Since(start)
	all := slices.Concat(lat...)
	return result{Target: "netkit-udp", Messages: n.Load(), Elapsed: el, Rate: float64(n.Load()) / el.Seconds(), P50: percentile(all, 0.5), P99: percentile(all, 0.99)}, lost.Load(), nil
}

func (c *config) httpPairs(ctx context.Context, r *report) error {
	nk, err := c.startNetkit(ctx)
	if err != nil {
		return err
	}
	defer nk.Stop(5 * time.Second)
	fl, flAddr, err := c.startFlask(ctx)
	if err != nil {
		return err
	}
	defer fl.Stop(5 * time.Second)
	// Warm both up.
	c.httpLoad(ctx, "warm", nk.web, c.clients, time.Second)
	c.httpLoad(ctx, "warm", flAddr, c.clients, time.Second)
	if c.pprofTo != "" {
		go c.saveProfile(ctx, nk.Process)
	}
	for i := range c.runs {
		var a, b result
		if i%2 == 0 {
			a = c.httpLoad(ctx, "netkit", nk.web, c.clients, c.duration, nk.PID)
			b = c.httpLoad(ctx, "flask", flAddr, c.clients, c.duration, fl.PID)
		} else {
			b = c.httpLoad(ctx, "flask", flAddr, c.clients, c.duration, fl.PID)
			a = c.httpLoad(ctx, "netkit", nk.web, c.clients, c.duration, nk.PID)
		}
		r.HTTP = append(r.HTTP, pair{Netkit: a, Flask: b, Load: benchproc.LoadAvgs()})
		fmt.Fprintf(c.stderr, "msgload: http run %d: netkit %.0f/s p99 %v (server cpu %v, generator %v), flask %.0f/s p99 %v (server cpu %v, generator %v)\n", i+1, a.Rate, a.P99, a.ServerCPU, a.LoadCPU, b.Rate, b.P99, b.ServerCPU, b.LoadCPU)
	}
	return nil
}

func (c *config) udpRun(ctx context.Context, r *report) error {
	nk, err := c.startNetkit(ctx)
	if err != nil {
		return err
	}
	defer nk.Stop(5 * time.Second)
	c.udpLoad(ctx, nk.udp, c.udpSockets, time.Second)
	if c.pprofTo != "" {
		go c.saveProfile(ctx, nk.Process)
	}
	cpu0, self0 := cpuOf([]int{nk.PID}), benchproc.SelfCPU()
	res, lost, err := c.udpLoad(ctx, nk.udp, c.udpSockets, c.udpDuration)
	if err != nil {
		return err
	}
	res.ServerCPU, res.LoadCPU = cpuOf([]int{nk.PID})-cpu0, benchproc.SelfCPU()-self0
	r.UDP, r.UDPLost, r.UDPLoad = &res, lost, benchproc.LoadAvgs()
	fmt.Fprintf(c.stderr, "msgload: udp %.0f/s, %d lost, p99 %v (server cpu %v, generator %v)\n", res.Rate, lost, res.P99, res.ServerCPU, res.LoadCPU)
	return nil
}

// saveProfile fetches a 5 s CPU profile from nkprof's pprof handlers.
func (c *config) saveProfile(ctx context.Context, p *benchproc.Process) {
	addr := p.PprofAddr()
	if addr == "" {
		fmt.Fprintln(c.stderr, "msgload: -pprof needs -bin nkprof")
		return
	}
	resp, err := http.Get(addr + "/debug/pprof/profile?seconds=5")
	if err != nil {
		fmt.Fprintln(c.stderr, "msgload: pprof:", err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	os.WriteFile(c.pprofTo, b, 0o644)
}

// rawClient is a lean HTTP/1.1 client for POST /api/v1/messages: one
// keep-alive connection, the request written by hand, the response read
// with http.ReadResponse; it redials when the server closes (gunicorn's
// sync workers close after each response). It keeps the generator's share
// of the CPU small, for both servers alike.
type rawClient struct {
	addr string
	conn net.Conn
	br   *bufio.Reader
	req  []byte
}

func (c *rawClient) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

func (c *rawClient) post(tok []byte) (int, []byte, error) {
	for attempt := 0; ; attempt++ {
		if c.conn == nil {
			conn, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
			if err != nil {
				return 0, nil, err
			}
			c.conn, c.br = conn, bufio.NewReaderSize(conn, 4096)
		}
		c.req = fmt.Appendf(c.req[:0], "POST /api/v1/messages HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", c.addr, len(tok))
		c.req = append(c.req, tok...)
		c.conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, err := c.conn.Write(c.req)
		var resp *http.Response
		if err == nil {
			resp, err = http.ReadResponse(c.br, nil)
		}
		if err != nil {
			c.close()
			if attempt == 0 {
				continue // a keep-alive connection the server had closed
			}
			return 0, nil, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.Close {
			c.close()
		}
		if err != nil {
			return 0, nil, err
		}
		return resp.StatusCode, body, nil
	}
}
