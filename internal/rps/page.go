package rps

import (
	_ "embed"
	"net/http"
)

//go:embed rps.html
var page []byte

// Page serves the browser client: plain HTML, CSS and JavaScript that
// play over the WebSocket at /rps/ws on the same server.
var Page = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(page)
})
