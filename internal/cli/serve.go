package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/netkit/netkit/internal/suite"
)

type serveFlags struct {
	serverFlags
	chat        chatServerFlags
	udp         serveExtras
	msg         msgServerFlags
	host        string
	only        string
	except      string
	randomPorts bool
}

func serveCommand(stdio IO) *command {
	var f serveFlags
	fs := flag.NewFlagSet("netkit serve", flag.ContinueOnError)
	f.register(fs)
	f.chat.register(fs)
	f.udp = udpServeExtras("udp-secret")
	f.udp.register(fs)
	f.msg.register(fs)
	fs.StringVar(&f.host, "host", "127.0.0.1", "`ADDRESS` every service binds to (0.0.0.0 for all interfaces)")
	fs.StringVar(&f.only, "only", "", "start only these services (`LIST`, comma-separated)")
	fs.StringVar(&f.except, "except", "", "start every service but these (`LIST`, comma-separated)")
	fs.BoolVar(&f.randomPorts, "random-ports", false, "bind every service to a free port instead of its default")
	return &command{
		name:    "serve",
		usage:   "serve [flags]",
		summary: "start every service at once, each on its default port",
		help: `
Services: ` + strings.Join(suite.Names(), ", ") + `.
Ctrl-C or SIGTERM shuts everything down cleanly.

Examples:
  netkit serve
  netkit serve --only echo,hello --host 0.0.0.0
  netkit serve --tls --except web`,
		flags:   fs,
		maxArgs: 0,
		run: func(ctx context.Context, _ []string) error {
			return runServe(ctx, stdio, &f)
		},
	}
}

func runServe(ctx context.Context, stdio IO, f *serveFlags) error {
	names, err := pickServices(f.only, f.except)
	if err != nil {
		return &UsageError{Cmd: "netkit serve", Err: err}
	}
	if net.ParseIP(f.host) == nil && f.host != "localhost" {
		return &UsageError{Cmd: "netkit serve", Err: fmt.Errorf("bad --host %q: want an IP address", f.host)}
	}
	var svcs []suite.Service
	for _, n := range names {
		s, _ := suite.Lookup(n)
		svcs = append(svcs, s)
	}
	return serveServices(ctx, stdio, &f.serverFlags, svcs, func(s suite.Service, port string) string {
		if f.randomPorts {
			return net.JoinHostPort(f.host, "0")
		}
		return s.DefaultAddr(f.host, port)
	}, serveExtras{setup: func(env *suite.Env) error {
		if err := f.chat.apply(env); err != nil {
			return err
		}
		if err := f.msg.apply(env, slices.Contains(names, "msg") && f.only != ""); err != nil {
			return err
		}
		return f.udp.setup(env)
	}})
}

// pickServices applies --only and --except to the service list.
func pickServices(only, except string) ([]string, error) {
	if only != "" && except != "" {
		return nil, errors.New("--only and --except do not go together")
	}
	all := suite.Names()
	if only != "" {
		return suite.ParseList(only)
	}
	skip, err := suite.ParseList(except)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(n string) bool { return slices.Contains(skip, n) }), nil
}

// serveExtras is what a service's serve command adds to the common ones.
type serveExtras struct {
	// register adds flags.
	register func(fs *flag.FlagSet)
	// setup adjusts the environment before the services are built.
	setup func(env *suite.Env) error
	// side runs beside the servers (the chat console); when it returns,
	// the servers shut down.
	side func(ctx context.Context, env *suite.Env) error
}

// serveServices binds every service, prints the address table, and serves
// until ctx is done.
func serveServices(ctx context.Context, stdio IO, f *serverFlags, svcs []suite.Service, addr func(suite.Service, string) string, extras serveExtras) error {
	env, err := f.env(stdio.Stderr, stdio.Stdout)
	if err != nil {
		return err
	}
	if extras.setup != nil {
		if err := extras.setup(env); err != nil {
			return err
		}
	}
	var g suite.Group
	for _, s := range svcs {
		if err := s.Build(&g, env, func(port string) string { return addr(s, port) }); err != nil {
			g.Close()
			return fmt.Errorf("%s: %w", s.Name, err)
		}
	}
	printTable(stdio.Stdout, &g, f.json)
	if stop := suite.Advertise(&g, env); stop != nil {
		g.BeforeShutdown(stop)
	}
	if extras.side == nil {
		return g.Run(ctx, f.grace, env.Logger)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sideErr := make(chan error, 1)
	go func() {
		sideErr <- extras.side(ctx, env)
	}()
	runErr := make(chan error, 1)
	go func() { runErr <- g.Run(ctx, f.grace, env.Logger) }()
	select {
	case err := <-sideErr:
		if err != nil {
			cancel()
			if rerr := <-runErr; rerr != nil {
				return rerr
			}
			return ignoreQuit(err)
		}
		// The side task ended quietly (no console): serve on.
		return <-runErr
	case err := <-runErr:
		return err
	}
}

func printTable(w io.Writer, g *suite.Group, asJSON bool) {
	eps := g.Endpoints()
	if asJSON {
		enc := json.NewEncoder(w)
		for _, ep := range eps {
			enc.Encode(struct {
				Service string `json:"service"`
				Proto   string `json:"proto"`
				Addr    string `json:"addr"`
			}{ep.Service, ep.Proto, ep.Addr})
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tPROTO\tADDRESS")
	for _, ep := range eps {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", ep.Service, ep.Proto, ep.Addr)
	}
	tw.Flush()
}

// serviceServeCommand is `netkit SERVICE serve`: one service, with a flag
// per listening port.
func serviceServeCommand(stdio IO, name string, extras serveExtras) *command {
	svc, ok := suite.Lookup(name)
	if !ok {
		panic("cli: no service " + name)
	}
	var f serverFlags
	path := "netkit " + name + " serve"
	fs := flag.NewFlagSet(path, flag.ContinueOnError)
	f.register(fs)
	if extras.register != nil {
		extras.register(fs)
	}
	addrs := map[string]*string{}
	var ex strings.Builder
	for _, p := range svc.Ports {
		def := svc.DefaultAddr("127.0.0.1", p.Name)
		addrs[p.Name] = fs.String(p.Name, def, fmt.Sprintf("%s: `HOST:PORT` (%s; port 0 picks a free one)", p.Usage, p.Proto))
		fmt.Fprintf(&ex, "  netkit %s serve --%s %s\n", name, p.Name, def)
	}
	return &command{
		name:    "serve",
		usage:   name + " serve [flags]",
		summary: "start the " + name + " server: " + svc.Summary,
		help:    "Examples:\n  netkit " + name + " serve\n" + ex.String() + "  netkit " + name + " serve --listen 127.0.0.1:0 --tls",
		flags:   fs,
		maxArgs: 0,
		run: func(ctx context.Context, _ []string) error {
			for _, p := range svc.Ports {
				if err := checkListenAddr(*addrs[p.Name]); err != nil {
					return &UsageError{Cmd: path, Err: fmt.Errorf("--%s: %w", p.Name, err)}
				}
			}
			return serveServices(ctx, stdio, &f, []suite.Service{svc}, func(_ suite.Service, port string) string {
				return *addrs[port]
			}, extras)
		},
	}
}
