package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"text/tabwriter"

	"github.com/netkit/netkit/internal/suite"
	"github.com/netkit/netkit/internal/web"
)

type webFlags struct {
	clientFlags
	json bool
}

func webCommand(stdio IO) *command {
	var f webFlags
	fs := flag.NewFlagSet("netkit web", flag.ContinueOnError)
	f.register(fs)
	f.find.register(fs, "web")
	fs.BoolVar(&f.json, "json", false, "print the status as JSON")
	svc, _ := suite.Lookup("web")
	def := svc.DefaultAddr("127.0.0.1", "listen")
	return &command{
		name:    "web",
		usage:   "web [HOST:PORT] [flags]",
		summary: "show what a running netkit serves, from its web service's status",
		help: `
The address defaults to ` + def + `. In a browser, the same status is at
http://` + def + `/; metrics are at /metrics.

Examples:
  netkit web
  netkit web --json
  netkit web --tls --insecure 127.0.0.1:7700`,
		flags:    fs,
		maxArgs:  1,
		children: []*command{serviceServeCommand(stdio, "web", serveExtras{})},
		check: func(args []string) error {
			if _, err := resolveAddr(firstArg(args), def); err != nil {
				return usagef("%v", err)
			}
			return f.check(fs)
		},
		run: func(ctx context.Context, args []string) error {
			addr, _ := resolveAddr(firstArg(args), def)
			addr, err := f.find.target(ctx, stdio, firstArg(args) != "", addr, f.timeout)
			if err != nil {
				return err
			}
			return runWeb(ctx, stdio, &f, addr)
		},
	}
}

func runWeb(ctx context.Context, stdio IO, f *webFlags, addr string) error {
	// Dialing through clientFlags gives the same TLS trust options and
	// error messages as every other client; what the server sent first is
	// kept, to name a server that is not a web server.
	var seen firstBytes
	dial := func(ctx context.Context, _, a string) (net.Conn, error) {
		conn, err := f.dial(ctx, a)
		if err != nil {
			seen.dialErr = err
			return nil, err
		}
		return &recordConn{Conn: conn, seen: &seen, wrote: make(chan struct{})}, nil
	}
	scheme, tr := "http", &http.Transport{DialContext: dial}
	if f.tls {
		scheme, tr = "https", &http.Transport{DialTLSContext: dial}
	}
	client := &http.Client{Transport: tr, Timeout: f.timeout}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+addr+"/status.json", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		first := seen.get()
		switch {
		case seen.dialErr != nil:
			return seen.dialErr
		case ctx.Err() != nil:
			return ErrInterrupted
		case isTLSNotice(first):
			return errPlainOnTLS(addr)
		case len(first) > 0 || !isTimeout(err):
			return errNotServer(addr, "a netkit web server", first)
		}
		return fmt.Errorf("no answer from %s within %s: is it a netkit web server?", addr, f.timeout)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reading status from %s: %w", addr, err)
	}
	if isTLSNotice(body) {
		return errPlainOnTLS(addr)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", addr, resp.Status)
	}
	if f.json {
		_, err := stdio.Stdout.Write(body)
		return err
	}
	var st web.Status
	if err := json.Unmarshal(body, &st); err != nil {
		return fmt.Errorf("%s sent a status that is not netkit's: %w", addr, err)
	}
	fmt.Fprintf(stdio.Stdout, "netkit %s, up %s\n", st.Version, st.Uptime)
	tw := tabwriter.NewWriter(stdio.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tPROTO\tADDRESS\tOPEN")
	for _, ep := range st.Endpoints {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", ep.Service, ep.Proto, ep.Addr, ep.Open)
	}
	return tw.Flush()
}

// firstBytes keeps the first bytes a server sent.
type firstBytes struct {
	mu      sync.Mutex
	b       []byte
	dialErr error
}

func (f *firstBytes) get() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.b
}

// recordConn is a connection that keeps its first bytes read in seen. It
// reads nothing before the request is written: a server that speaks first
// (echo's welcome) would otherwise meet the HTTP client's idle check, which
// logs "Unsolicited response" instead of failing the request.
type recordConn struct {
	net.Conn
	seen  *firstBytes
	wrote chan struct{} // closed by the first Write
	once  sync.Once
}

func (c *recordConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.once.Do(func() { close(c.wrote) })
	return n, err
}

func (c *recordConn) Close() error {
	c.once.Do(func() { close(c.wrote) })
	return c.Conn.Close()
}

func (c *recordConn) Read(b []byte) (int, error) {
	<-c.wrote
	n, err := c.Conn.Read(b)
	c.seen.mu.Lock()
	if room := 64 - len(c.seen.b); room > 0 {
		c.seen.b = append(c.seen.b, b[:min(n, room)]...)
	}
	c.seen.mu.Unlock()
	return n, err
}
