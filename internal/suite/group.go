// Package suite assembles netkit's services: the list of services with
// their default ports, and Group, which starts a set of servers together,
// reports their addresses and shuts them all down on one signal.
package suite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/netkit/netkit/internal/service"
	"github.com/netkit/netkit/internal/web"
)

// Group is a set of servers started and stopped together. Add servers with
// TCP, UDP and HTTP, then Run. It is not safe to add servers concurrently.
type Group struct {
	units  []unit
	before []func()
}

// BeforeShutdown registers f to run when Run begins shutting down, before
// any server stops: to say goodbye while connections are still open.
func (g *Group) BeforeShutdown(f func()) { g.before = append(g.before, f) }

type unit struct {
	service, proto string
	addr           net.Addr
	serve          func() error
	shutdown       func(context.Context) error
	close          func() error
	open           func() int
}

// TCP adds srv serving on l; proto is "tcp" or "tls".
func (g *Group) TCP(name, proto string, srv *service.Server, l net.Listener) {
	g.units = append(g.units, unit{
		service: name, proto: proto, addr: l.Addr(),
		serve:    func() error { return srv.Serve(l) },
		shutdown: srv.Shutdown, open: srv.OpenConns,
		close: func() error { srv.Close(); return l.Close() },
	})
}

// UDP adds srv serving on pc.
func (g *Group) UDP(name string, srv *service.PacketServer, pc net.PacketConn) {
	g.units = append(g.units, unit{
		service: name, proto: "udp", addr: pc.LocalAddr(),
		serve:    func() error { return srv.Serve(pc) },
		shutdown: srv.Shutdown,
		close:    func() error { srv.Close(); return pc.Close() },
	})
}

// PacketServer is a UDP server in the manner of net/http.Server that
// reads its socket itself: rudp.Receiver.
type PacketServer interface {
	Serve(net.PacketConn) error
	Shutdown(context.Context) error
	Close() error
}

// Packet adds srv serving on pc. Serve returning an error that wraps
// net.ErrClosed is taken for a normal end.
func (g *Group) Packet(name string, srv PacketServer, pc net.PacketConn) {
	g.units = append(g.units, unit{
		service: name, proto: "udp", addr: pc.LocalAddr(),
		serve: func() error {
			if err := srv.Serve(pc); !errors.Is(err, net.ErrClosed) {
				return err
			}
			return nil
		},
		shutdown: srv.Shutdown,
		close:    func() error { srv.Close(); return pc.Close() },
	})
}

// HTTP adds srv serving on l; proto is "http" or "https".
func (g *Group) HTTP(name, proto string, srv *web.Server, l net.Listener) {
	g.units = append(g.units, unit{
		service: name, proto: proto, addr: l.Addr(),
		serve:    func() error { return srv.Serve(l) },
		shutdown: srv.Shutdown,
		close:    func() error { srv.Close(); return l.Close() },
	})
}

// Endpoints lists every server's address and open connections, in the
// order they were added.
func (g *Group) Endpoints() []web.Endpoint {
	eps := make([]web.Endpoint, 0, len(g.units))
	for _, u := range g.units {
		ep := web.Endpoint{Service: u.service, Proto: u.proto, Addr: u.addr.String()}
		if u.open != nil {
			ep.Open = u.open()
		}
		eps = append(eps, ep)
	}
	return eps
}

// Names returns the distinct service names, sorted.
func (g *Group) Names() []string {
	seen := map[string]bool{}
	var names []string
	for _, u := range g.units {
		if !seen[u.service] {
			seen[u.service] = true
			names = append(names, u.service)
		}
	}
	sort.Strings(names)
	return names
}

// Run serves everything until ctx is done, then shuts every server down,
// giving connections grace to finish before closing them. It returns nil
// after a clean shutdown, or the first error that stopped a server early.
func (g *Group) Run(ctx context.Context, grace time.Duration, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	errc := make(chan error, len(g.units))
	var wg sync.WaitGroup
	for _, u := range g.units {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := u.serve()
			if err != nil && !errors.Is(err, net.ErrClosed) { // every server's "closed" unwraps to it
				errc <- fmt.Errorf("%s/%s on %s: %w", u.service, u.proto, u.addr, err)
			}
		}()
	}
	var runErr error
	select {
	case <-ctx.Done():
		logger.Info("shutting down", "grace", grace)
	case runErr = <-errc:
		logger.Error("server failed; shutting down", "err", runErr)
	}
	for _, f := range g.before {
		f()
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	var sw sync.WaitGroup
	for _, u := range g.units {
		sw.Add(1)
		go func() {
			defer sw.Done()
			if err := u.shutdown(sctx); err != nil {
				logger.Warn("grace period over; connections closed", "service", u.service, "proto", u.proto)
			}
		}()
	}
	sw.Wait()
	wg.Wait()
	return runErr
}

// Close closes every server without serving: for cleaning up after a
// failure to start.
func (g *Group) Close() {
	for _, u := range g.units {
		u.close()
	}
}
