package msg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Routes of the HTTP API.
const (
	PathMessages = "/api/v1/messages"
	PathTime     = "/api/v1/time"
	PathWS       = "/api/v1/ws"
	PathIndex    = "/api/v1/"
)

// Status is the HTTP status err is answered with.
func Status(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrToken), errors.Is(err, ErrExpired), errors.Is(err, ErrFuture):
		return http.StatusUnauthorized
	case errors.Is(err, ErrReplay):
		return http.StatusConflict
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrBusy):
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// Mount adds the HTTP API's routes with handle (web.Server.Handle, or an
// http.ServeMux's):
//
//	POST /api/v1/messages  token in, token out (text/plain)
//	GET  /api/v1/time      {"time": RFC 3339, "unix": seconds} in plain JSON
//	GET  /api/v1/ws        WebSocket, one token per text frame
//	GET  /api/v1/          the endpoints, in JSON
//	GET  /api              302 to /api/v1/
func (s *Server) Mount(handle func(pattern string, h http.Handler)) {
	s.init()
	handle("POST "+PathMessages, http.HandlerFunc(s.serveMessage))
	handle("GET "+PathTime, http.HandlerFunc(s.serveTime))
	handle("GET "+PathWS, http.HandlerFunc(s.serveWS))
	handle("GET "+PathIndex+"{$}", http.HandlerFunc(serveIndex))
	handle("GET /api", http.RedirectHandler(PathIndex, http.StatusFound))
}

// bodyBufs are the buffers request bodies are read into: Handle keeps
// nothing of a token once it returns.
var bodyBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Header values of every answer, shared rather than made per request
// (net/http only reads them).
var (
	textPlain = []string{"text/plain; charset=utf-8"}
	noStore   = []string{"no-store"}
)

func (s *Server) serveMessage(w http.ResponseWriter, r *http.Request) {
	buf := bodyBufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= MaxToken+bytes.MinRead {
			bodyBufs.Put(buf)
		}
	}()
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, MaxToken))
	body := buf.Bytes()
	var reply []byte
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		err = fmt.Errorf("%w: over %d bytes", ErrTooLarge, MaxToken)
		s.count("http", "", err)
	case err != nil:
		return // the client went away
	default:
		reply, err = s.Handle(r.Context(), trimToken(body), "http", remoteAddrPort(r))
	}
	h := w.Header()
	h["Content-Type"] = textPlain
	h["Cache-Control"] = noStore
	if err != nil {
		h.Set("X-Netkit-Error", oneLine(err))
	}
	w.WriteHeader(Status(err))
	if reply != nil {
		w.Write(reply)
		w.Write([]byte("\n"))
		return
	}
	fmt.Fprintf(w, "error: %s\n", oneLine(err))
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.TrimPrefix(err.Error(), "msg: ")), " ")
}

func (s *Server) serveTime(w http.ResponseWriter, _ *http.Request) {
	now := s.now().UTC()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(struct {
		Time string  `json:"time"`
		Unix float64 `json:"unix"`
	}{now.Format(time.RFC3339Nano), float64(now.UnixNano()) / 1e9})
}

// Endpoint is one entry of GET /api/v1/.
type Endpoint struct {
	Method      string `json:"method"`
	Path        string `json:"path"`
	Description string `json:"description"`
}

// Endpoints lists the HTTP API.
var Endpoints = []Endpoint{
	{"POST", PathMessages, "a Fernet (or sealed) token holding a JSON envelope in, the token of the answer out, as text/plain"},
	{"GET", PathTime, "the server's UTC time, in plain JSON"},
	{"GET", PathWS, "WebSocket: one token per text frame each way, broadcasts pushed"},
	{"GET", PathIndex, "this list"},
}

func serveIndex(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(struct {
		Endpoints []Endpoint `json:"endpoints"`
		Docs      string     `json:"docs"`
	}{Endpoints, "docs/messages.md"})
}

func remoteAddrPort(r *http.Request) netip.AddrPort {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		a, _ := netip.ParseAddr(host)
		return netip.AddrPortFrom(a.Unmap(), 0)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
