// Package web is netkit's HTTP service: a status page at /, /healthz,
// /status.json and Prometheus metrics at /metrics. Other services mount
// their own routes (the chat page and its WebSocket, the game and message
// APIs) on the same Server with Handle, each under its own path; the
// connection limits, timeouts and logging below apply to every route.
package web

import (
	"context"
	"crypto/tls"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/netkit/netkit/internal/service"
)

// ErrServerClosed is returned by Serve after Shutdown or Close. It
// unwraps to net.ErrClosed, as every netkit server's does.
var ErrServerClosed = fmt.Errorf("web: server closed: %w", net.ErrClosed)

// Defaults used where a Server field is zero. They keep a slowloris client
// from holding connections: headers must arrive within ReadHeaderTimeout.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	DefaultMaxHeaderBytes    = 16 << 10
)

// Endpoint is one listening address of the suite, as the status page shows
// it.
type Endpoint struct {
	Service string `json:"service"`
	Proto   string `json:"proto"`
	Addr    string `json:"addr"`
	Open    int    `json:"open"`
}

// Status is what /status.json returns.
type Status struct {
	Version   string     `json:"version"`
	Started   time.Time  `json:"started"`
	Uptime    string     `json:"uptime"`
	Endpoints []Endpoint `json:"endpoints"`
	// Services holds what services add to the status, by service name
	// (the udp service's texts and files received, say).
	Services map[string]any `json:"services,omitempty"`
}

// Server is the HTTP service. Set its fields before the first Serve; the
// zero value serves a status page with no endpoints. Its methods are safe
// for concurrent use.
type Server struct {
	// Version is shown on the status page.
	Version string
	// Endpoints, when set, lists what the status page shows.
	Endpoints func() []Endpoint
	// Sections, when set, gives what services add to /status.json, by
	// service name; each value must marshal to JSON. It is called for
	// each request, from its goroutine.
	Sections func() map[string]any
	// Gatherer is what /metrics exposes; nil exposes nothing.
	Gatherer prometheus.Gatherer
	// TLSConfig, when set, serves HTTPS.
	TLSConfig *tls.Config
	// Limits bounds connections as for every TCP service: MaxConns in
	// all and MaxConnsPerIP from one address (defaults in package
	// service), counting plain requests and WebSockets alike. A client
	// over a limit is answered 503 at once, and others keep being served.
	// The other fields of Limits do not apply: HTTP has its own timeouts.
	Limits service.Limits
	// ReadHeaderTimeout bounds how long a client may take to send its
	// request headers (default 5s).
	ReadHeaderTimeout time.Duration
	// Logger receives logs; nil discards them.
	Logger *slog.Logger

	initOnce sync.Once
	started  time.Time
	mux      *http.ServeMux
	srv      *http.Server
	gate     *service.Gate
	refuser  *service.Refuser
}

//go:embed status.html
var files embed.FS

var statusPage = template.Must(template.ParseFS(files, "status.html"))

func (s *Server) init() {
	s.initOnce.Do(func() {
		s.started = time.Now()
		logger := s.Logger
		if logger == nil {
			logger = slog.New(slog.DiscardHandler)
		}
		s.mux = http.NewServeMux()
		s.mux.HandleFunc("GET /{$}", s.serveStatusPage)
		// Browsers ask for an icon on every page; answer with nothing
		// rather than a 404 that shows as an error in their consoles.
		s.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Cache-Control", "max-age=86400")
			w.WriteHeader(http.StatusNoContent)
		})
		s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Write([]byte("ok\n"))
		})
		s.mux.HandleFunc("GET /status.json", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			enc.Encode(s.status())
		})
		g := s.Gatherer
		if g == nil {
			g = prometheus.NewRegistry()
		}
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}))
		s.gate = service.NewGate(s.Limits)
		s.refuser = service.NewRefuser(s.TLSConfig, logger, nil)
		// An HTTP client speaks first, and may take an answer that comes
		// before its request for a broken connection: the 503 waits for
		// the request, a second at most.
		s.refuser.AnswerAfter = time.Second
		s.srv = &http.Server{
			Handler:           logRequests(logger, s.mux),
			TLSConfig:         s.TLSConfig,
			ReadHeaderTimeout: orDuration(s.ReadHeaderTimeout, DefaultReadHeaderTimeout),
			ReadTimeout:       DefaultReadTimeout,
			WriteTimeout:      DefaultWriteTimeout,
			IdleTimeout:       DefaultIdleTimeout,
			MaxHeaderBytes:    DefaultMaxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
		}
	})
}

func orDuration(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

// Handle adds a route, as http.ServeMux.Handle does. Call it before Serve.
func (s *Server) Handle(pattern string, h http.Handler) {
	s.init()
	s.mux.Handle(pattern, h)
}

// Handler returns the server's routes, for tests and embedding.
func (s *Server) Handler() http.Handler {
	s.init()
	return s.srv.Handler
}

// Serve serves HTTP (HTTPS with TLSConfig) on l until Shutdown or Close. It
// always returns a non-nil error, ErrServerClosed after shutdown.
func (s *Server) Serve(l net.Listener) error {
	s.init()
	l = &gateListener{Listener: l, s: s}
	if s.TLSConfig != nil {
		l = tls.NewListener(l, s.TLSConfig)
	}
	err := s.srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return ErrServerClosed
	}
	return err
}

// OpenConns reports the connections open now, WebSockets included.
func (s *Server) OpenConns() int {
	s.init()
	return s.gate.Open()
}

// gateListener admits connections within the server's limits and
// refuses the others at once, so that the accept queue never waits on one
// address.
type gateListener struct {
	net.Listener
	s *Server
}

func (l *gateListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		peer := service.PeerAddr(c)
		if ok, reason := l.s.gate.Admit(peer); !ok {
			l.s.refuser.Refuse(c, peer, reason, refusal(reason))
			continue
		}
		service.SetKeepAlive(c)
		return &gatedConn{Conn: c, gate: l.s.gate, peer: peer}, nil
	}
}

// refusal is the whole HTTP answer to a client over a limit.
func refusal(reason string) []byte {
	body := "error: " + reason + "; try again later\n"
	return fmt.Appendf(nil, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}

// gatedConn gives its place back to the gate when closed, whoever closes
// it: the HTTP server, or a WebSocket handler that took it over.
type gatedConn struct {
	net.Conn
	gate *service.Gate
	peer netip.Addr
	once sync.Once
}

func (c *gatedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.gate.Release(c.peer) })
	return err
}

// NetConn returns the TCP connection, for keepalive and socket options.
func (c *gatedConn) NetConn() net.Conn { return c.Conn }

// Shutdown stops accepting and waits for requests in flight, until ctx is
// done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	return s.srv.Shutdown(ctx)
}

// Close closes every connection at once.
func (s *Server) Close() error {
	s.init()
	return s.srv.Close()
}

func (s *Server) status() Status {
	st := Status{Version: s.Version, Started: s.started, Uptime: time.Since(s.started).Round(time.Second).String()}
	if s.Endpoints != nil {
		st.Endpoints = s.Endpoints()
	}
	if s.Sections != nil {
		st.Services = s.Sections()
	}
	return st
}

func (s *Server) serveStatusPage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := statusPage.Execute(w, s.status()); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// logRequests logs each request at debug level.
func logRequests(logger *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Checked first: the arguments alone cost allocations on every
		// request, logged or not.
		if logger.Enabled(r.Context(), slog.LevelDebug) {
			logger.Debug("request", "peer", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
		}
		h.ServeHTTP(w, r)
	})
}
