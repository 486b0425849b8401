// Package web is netkit's HTTP service: a status page at /, /healthz,
// /status.json and Prometheus metrics at /metrics. Later services mount
// their own routes (the chat page, the message API) on the same Server
// with Handle.
package web

import (
	"context"
	"crypto/tls"
	"embed"
	"encoding/json"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/net/netutil"
)

// Defaults used where a Server field is zero. They keep a slowloris client
// from holding connections: headers must arrive within ReadHeaderTimeout.
const (
	DefaultMaxConns          = 1024
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
}

// Server is the HTTP service. Set its fields before the first Serve; the
// zero value serves a status page with no endpoints. Its methods are safe
// for concurrent use.
type Server struct {
	// Version is shown on the status page.
	Version string
	// Endpoints, when set, lists what the status page shows.
	Endpoints func() []Endpoint
	// Gatherer is what /metrics exposes; nil exposes nothing.
	Gatherer prometheus.Gatherer
	// TLSConfig, when set, serves HTTPS.
	TLSConfig *tls.Config
	// MaxConns bounds connections open at once (default 1024).
	MaxConns int
	// ReadHeaderTimeout bounds how long a client may take to send its
	// request headers (default 5s).
	ReadHeaderTimeout time.Duration
	// Logger receives logs; nil discards them.
	Logger *slog.Logger

	initOnce sync.Once
	started  time.Time
	mux      *http.ServeMux
	srv      *http.Server
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
// always returns a non-nil error, http.ErrServerClosed after shutdown.
func (s *Server) Serve(l net.Listener) error {
	s.init()
	max := s.MaxConns
	if max <= 0 {
		max = DefaultMaxConns
	}
	l = netutil.LimitListener(l, max)
	if s.TLSConfig != nil {
		l = tls.NewListener(l, s.TLSConfig)
	}
	return s.srv.Serve(l)
}

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
		logger.Debug("request", "peer", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
		h.ServeHTTP(w, r)
	})
}
