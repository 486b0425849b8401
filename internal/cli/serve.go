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
	rps         rpsServerFlags
	udp         serveExtras
	msg         msgServerFlags
	host        string
	only        string
	except      string
	randomPorts bool
	ports       portsValue
}

func serveCommand(stdio IO) *command {
	var f serveFlags
	fs := flag.NewFlagSet("netkit serve", flag.ContinueOnError)
	f.register(fs)
	f.chat.register(fs)
	f.rps.register(fs)
	f.udp = udpServeExtras("udp-secret")
	f.udp.register(fs)
	f.msg.register(fs)
	fs.StringVar(&f.host, "host", "127.0.0.1", "`ADDRESS` every service binds to (0.0.0.0 for all interfaces)")
	fs.StringVar(&f.only, "only", "", "start only these services (`LIST`, comma-separated; see above)")
	fs.StringVar(&f.except, "except", "", "start every service but these (`LIST`, comma-separated; see above)")
	fs.BoolVar(&f.randomPorts, "random-ports", false, "bind every service to a free port instead of its default")
	f.ports = portsValue{}
	fs.Var(f.ports, "port", "move one service to another port: `SERVICE=PORT` (repeatable; port 0 picks a free one)")
	return &command{
		name:    "serve",
		usage:   "serve [flags]",
		summary: "start every service at once, each on its default port",
		help: `
Services (the names --only, --except and --port take):
` + serviceList() + `
Ctrl-C or SIGTERM shuts everything down cleanly.

Examples:
  netkit serve
  netkit serve --only echo,hello --host 0.0.0.0
  netkit serve --tls --except web
  netkit serve --port udp=7840 --port chat=7810   # beside another netkit serve`,
		flags:   fs,
		maxArgs: 0,
		check: func([]string) error {
			if _, _, err := pickServices(f.only, f.except); err != nil {
				return err
			}
			if net.ParseIP(f.host) == nil && f.host != "localhost" {
				return usagef("--host %q: want an IP address", f.host)
			}
			if f.randomPorts && len(f.ports) > 0 {
				return usagef("--random-ports and --port do not go together")
			}
			if f.udp.check != nil {
				if err := f.udp.check(); err != nil {
					return err
				}
			}
			if err := f.chat.check(); err != nil {
				return err
			}
			if err := f.msg.check(); err != nil {
				return err
			}
			if err := f.rps.check(); err != nil {
				return err
			}
			return f.serverFlags.check(fs)
		},
		run: func(ctx context.Context, _ []string) error {
			return runServe(ctx, stdio, &f)
		},
	}
}

// serviceList is the suite's table for --help: every key with what it is.
func serviceList() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, s := range suite.Services {
		for _, p := range s.Ports {
			what := s.Summary
			if p.Name != "listen" {
				what = p.Usage + " (part of " + s.Name + ")"
			}
			fmt.Fprintf(tw, "  %s\t%s %d\t%s\n", s.Key(p), p.Proto, p.Default, what)
		}
	}
	tw.Flush()
	return b.String()
}

// portsValue is --port SERVICE=PORT, repeatable.
type portsValue map[string]string

func (v portsValue) String() string {
	var parts []string
	for k, p := range v {
		parts = append(parts, k+"="+p)
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func (v portsValue) Set(s string) error {
	key, port, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("want SERVICE=PORT, like udp=7840")
	}
	if _, _, ok := suite.LookupKey(key); !ok {
		return fmt.Errorf("unknown service %q (services: %s)", key, strings.Join(suite.Keys(), ", "))
	}
	if err := checkPort(port); err != nil {
		return err
	}
	v[key] = port
	return nil
}

func runServe(ctx context.Context, stdio IO, f *serveFlags) error {
	svcs, want, err := pickServices(f.only, f.except)
	if err != nil {
		return err
	}
	err = serveServices(ctx, stdio, &f.serverFlags, svcs, func(s suite.Service, port string) string {
		key := s.Key(portOf(s, port))
		switch {
		case !want[key]:
			return ""
		case f.randomPorts:
			return net.JoinHostPort(f.host, "0")
		case f.ports[key] != "":
			return net.JoinHostPort(f.host, f.ports[key])
		}
		return s.DefaultAddr(f.host, port)
	}, serveExtras{setup: func(env *suite.Env) error {
		if err := f.chat.apply(env); err != nil {
			return err
		}
		if err := f.msg.apply(env, f.only != "" && want["msg"]); err != nil {
			return err
		}
		if err := f.rps.apply(env); err != nil {
			return err
		}
		return f.udp.setup(env)
	}})
	var ie *suite.InUseError
	if errors.As(err, &ie) {
		if key := keyAt(ie.Port(), f.ports); key != "" {
			return serveInUseError(ie, key)
		}
	}
	return err
}

func portOf(s suite.Service, name string) suite.Port {
	for _, p := range s.Ports {
		if p.Name == name {
			return p
		}
	}
	return suite.Port{Name: name}
}

// keyAt is the key of the service netkit serve bound at port.
func keyAt(port string, moved portsValue) string {
	for k, p := range moved {
		if p == port {
			return k
		}
	}
	if k := defaultOwner(port); k != "" && moved[k] == "" {
		return k
	}
	return ""
}

// pickServices applies --only and --except to the suite's table: the
// services to build, and the keys of the ports wanted.
func pickServices(only, except string) ([]suite.Service, map[string]bool, error) {
	if only != "" && except != "" {
		return nil, nil, usagef("--only and --except do not go together")
	}
	want := map[string]bool{}
	for _, k := range suite.Keys() {
		want[k] = only == ""
	}
	list, flagName := only, "--only"
	if only == "" {
		list, flagName = except, "--except"
	}
	keys, err := suite.ParseKeys(list)
	if err != nil {
		return nil, nil, usagef("%s: %v", flagName, err)
	}
	for _, k := range keys {
		if s, ok := suite.Lookup(k); ok {
			// A service's name stands for all its ports.
			for _, p := range s.Ports {
				want[s.Key(p)] = only != ""
			}
		}
		want[k] = only != ""
	}
	var svcs []suite.Service
	for _, s := range suite.Services {
		if slices.ContainsFunc(s.Ports, func(p suite.Port) bool { return want[s.Key(p)] }) {
			svcs = append(svcs, s)
		}
	}
	switch {
	case only != "" && len(keys) == 0:
		return nil, nil, usagef("--only %q names no service", only)
	case len(svcs) == 0:
		return nil, nil, usagef("--except %s leaves no service to start", except)
	}
	return svcs, want, nil
}

// serveExtras is what a service's serve command adds to the common ones.
type serveExtras struct {
	// register adds flags.
	register func(fs *flag.FlagSet)
	// check refuses bad values of those flags (usagef), before anything
	// is bound.
	check func() error
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
	}
	// One example opens the service to the LAN, one moves every port out
	// of the way of a running `netkit serve` (each default plus 100).
	var beside []string
	for _, p := range svc.Ports {
		beside = append(beside, fmt.Sprintf("--%s 127.0.0.1:%d", p.Name, p.Default+100))
	}
	fmt.Fprintf(&ex, "  netkit %s serve --listen 0.0.0.0:%d   # open to the LAN\n", name, svc.Ports[0].Default)
	fmt.Fprintf(&ex, "  netkit %s serve %s   # beside a running 'netkit serve'\n", name, strings.Join(beside, " "))
	return &command{
		name:    "serve",
		usage:   name + " serve [flags]",
		summary: "start the " + name + " server: " + svc.Summary,
		help: "While 'netkit serve' runs, its ports are taken: stop it, leave this service out of it\n" +
			"('netkit serve --except " + name + "'), or give this one free ports (port 0 picks one).\n\n" +
			"Examples:\n  netkit " + name + " serve\n" + ex.String() + "  netkit " + name + " serve --listen 127.0.0.1:0 --tls",
		flags:   fs,
		maxArgs: 0,
		check: func([]string) error {
			for _, p := range svc.Ports {
				if err := checkListenAddr(*addrs[p.Name]); err != nil {
					return usagef("--%s: %v", p.Name, err)
				}
			}
			if extras.check != nil {
				if err := extras.check(); err != nil {
					return err
				}
			}
			return f.check(fs)
		},
		run: func(ctx context.Context, _ []string) error {
			return serveServices(ctx, stdio, &f, []suite.Service{svc}, func(_ suite.Service, port string) string {
				return *addrs[port]
			}, extras)
		},
	}
}
