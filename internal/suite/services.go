package suite

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/netkit/netkit/internal/chat"
	"github.com/netkit/netkit/internal/echo"
	"github.com/netkit/netkit/internal/hello"
	"github.com/netkit/netkit/internal/msg"
	"github.com/netkit/netkit/internal/rps"
	"github.com/netkit/netkit/internal/service"
	"github.com/netkit/netkit/internal/web"
)

// Version is netkit's version, shown by the status page and `netkit version`.
var Version = "0.1.0-dev"

// Env is what every service is built with.
type Env struct {
	// Logger is the root logger; services add their name.
	Logger *slog.Logger
	// Registry collects every service's metrics; the web service exposes it.
	Registry *prometheus.Registry
	// Metrics reports to Registry.
	Metrics *service.Metrics
	// TLS, when set, makes every TCP service speak TLS.
	TLS *tls.Config
	// Limits bound every TCP service.
	Limits service.Limits
	// DataDir is netkit's state directory.
	DataDir string
	// Chat configures the chat room.
	Chat ChatConfig
	// UDPSecret, when set, seals every session of the udp service: its
	// senders need the same secret, and legacy ones are refused.
	UDPSecret string
	// Msg configures the encrypted message service.
	Msg MsgConfig
	// RPS configures the rock-paper-scissors lobby.
	RPS rps.Config

	udpLog *udpLog
	hub    *chat.Hub
	chatH  *chat.Handler
	msg    *msg.Server
	rps    *rps.Lobby
}

// NewEnv returns an Env with a fresh registry carrying the Go runtime and
// process collectors.
func NewEnv(logger *slog.Logger) *Env {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &Env{Logger: logger, Registry: reg, Metrics: service.NewMetrics(reg)}
}

// Port is one listening socket of a service with its default port.
type Port struct {
	// Name is the flag name that moves it ("listen", "daytime", ...).
	Name string
	// Proto is what it speaks: "tcp", "udp", "tcp+udp" or "http".
	Proto string
	// Default is its port number in netkit's block.
	Default int
	// Usage explains it in --help.
	Usage string
}

// Service is one entry of the suite.
type Service struct {
	Name    string
	Summary string
	Ports   []Port
	// Build binds every port at the address addr gives for its name and
	// adds the servers to g, named by their Key. A port for which addr
	// returns "" is not wanted (--except daytime): Build skips it.
	Build func(g *Group, env *Env, addr func(port string) string) error
}

// DefaultAddr returns host:port for the named port of the service, or ""
// if it has none.
func (s Service) DefaultAddr(host, port string) string {
	for _, p := range s.Ports {
		if p.Name == port {
			return net.JoinHostPort(host, strconv.Itoa(p.Default))
		}
	}
	return ""
}

// Services lists every service `netkit serve` starts, in table order.
var Services = []Service{
	{
		Name: "web", Summary: "status page, /healthz and /metrics over HTTP",
		Ports: []Port{{Name: "listen", Proto: "http", Default: 7700, Usage: "HTTP address"}},
		Build: buildWeb,
	},
	{
		Name: "echo", Summary: "echo over TCP, and RFC 862 echo over UDP on the same port",
		Ports: []Port{{Name: "listen", Proto: "tcp+udp", Default: 7707, Usage: "TCP and UDP address"}},
		Build: buildEcho,
	},
	{
		Name: "hello", Summary: "one command per connection: Hello or Time",
		Ports: []Port{{Name: "listen", Proto: "tcp", Default: 7701, Usage: "TCP address"}},
		Build: buildHello,
	},
	TimeService,
	ChatService,
	UDPService,
	MsgService,
	RPSService,
}

// Lookup returns the named service.
func Lookup(name string) (Service, bool) {
	i := slices.IndexFunc(Services, func(s Service) bool { return s.Name == name })
	if i < 0 {
		return Service{}, false
	}
	return Services[i], true
}

// Names returns the names of every service.
func Names() []string {
	names := make([]string, len(Services))
	for i, s := range Services {
		names[i] = s.Name
	}
	return names
}

func (env *Env) tcpProto() string {
	if env.TLS != nil {
		return "tls"
	}
	return "tcp"
}

func (env *Env) logger() *slog.Logger {
	if env.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return env.Logger
}

// tcpServer returns a Server for handler with env's TLS, limits, logger
// and metrics.
func (env *Env) tcpServer(name string, h service.Handler) *service.Server {
	return &service.Server{Name: name, Handler: h, TLSConfig: env.TLS, Limits: env.Limits, Logger: env.logger(), Metrics: env.Metrics}
}

func (env *Env) packetServer(name string, h service.PacketHandler) *service.PacketServer {
	return &service.PacketServer{Name: name, Handler: h, Logger: env.logger(), Metrics: env.Metrics}
}

// ListenTCP listens on addr with a clear error.
func ListenTCP(addr string) (net.Listener, error) {
	l, err := new(net.ListenConfig).Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, listenError("tcp", addr, err)
	}
	return l, nil
}

// ListenUDP listens on addr with a clear error.
func ListenUDP(addr string) (net.PacketConn, error) {
	pc, err := new(net.ListenConfig).ListenPacket(context.Background(), "udp", addr)
	if err != nil {
		return nil, listenError("udp", addr, err)
	}
	return pc, nil
}

func listenError(proto, addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return &InUseError{Proto: proto, Addr: addr, Err: err}
	}
	if errors.Is(err, syscall.EACCES) {
		return fmt.Errorf("%s %s: permission denied (ports below 1024 need privileges): %w", proto, addr, err)
	}
	return fmt.Errorf("listen %s %s: %w", proto, addr, err)
}

// ListenBoth listens on TCP at addr and on UDP at the same port number. With
// port 0 it retries until it finds a number free for both.
func ListenBoth(addr string) (net.Listener, net.PacketConn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, err
	}
	const tries = 20
	for i := 0; ; i++ {
		l, err := ListenTCP(addr)
		if err != nil {
			return nil, nil, err
		}
		tcpPort := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		pc, err := ListenUDP(net.JoinHostPort(host, tcpPort))
		if err == nil {
			return l, pc, nil
		}
		l.Close()
		if port != "0" || i == tries {
			return nil, nil, err
		}
	}
}

func buildWeb(g *Group, env *Env, addr func(string) string) error {
	l, err := ListenTCP(addr("listen"))
	if err != nil {
		return err
	}
	srv := &web.Server{
		Version:   Version,
		Endpoints: g.Endpoints,
		Sections: func() map[string]any {
			if !slices.Contains(g.Names(), "udp") {
				return nil
			}
			return map[string]any{"udp": env.udpReceived().status()}
		},
		Gatherer:  env.Registry,
		TLSConfig: webTLS(env.TLS),
		Limits:    env.Limits,
		Logger:    env.logger().With("service", "web"),
	}
	// The chat page and its WebSocket share the room with the chat
	// service's TCP clients.
	srv.Handle("GET /chat", chat.Page)
	srv.Handle("GET /chat/ws", env.chatHandler())
	env.mountMsg(g, srv)
	env.rpsRoutes(srv)
	proto := "http"
	if env.TLS != nil {
		proto = "https"
	}
	g.HTTP("web", proto, srv, l)
	return nil
}

func buildEcho(g *Group, env *Env, addr func(string) string) error {
	l, pc, err := ListenBoth(addr("listen"))
	if err != nil {
		return err
	}
	g.TCP("echo", env.tcpProto(), env.tcpServer("echo", echo.Handler{}), l)
	g.UDP("echo", env.packetServer("echo", echo.PacketHandler{}), pc)
	return nil
}

func buildHello(g *Group, env *Env, addr func(string) string) error {
	l, err := ListenTCP(addr("listen"))
	if err != nil {
		return err
	}
	g.TCP("hello", env.tcpProto(), env.tcpServer("hello", hello.Handler{}), l)
	return nil
}

// ParseList splits a comma-separated list of service names, checking each.
func ParseList(s string) ([]string, error) {
	var names []string
	for _, n := range strings.Split(s, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if _, ok := Lookup(n); !ok {
			return nil, fmt.Errorf("unknown service %q (services: %s)", n, strings.Join(Names(), ", "))
		}
		names = append(names, n)
	}
	return names, nil
}
