package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
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
		run: func(ctx context.Context, args []string) error {
			addr, err := resolveAddr(firstArg(args), def)
			if err != nil {
				return &UsageError{Cmd: "netkit web", Err: err}
			}
			return runWeb(ctx, stdio, &f, addr)
		},
	}
}

func runWeb(ctx context.Context, stdio IO, f *webFlags, addr string) error {
	// Dialing through clientFlags gives the same TLS trust options and
	// error messages as every other client.
	dial := func(ctx context.Context, _, a string) (net.Conn, error) { return f.dial(ctx, a) }
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
		return fmt.Errorf("asking %s for its status: %w", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reading status from %s: %w", addr, err)
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
