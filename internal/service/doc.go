// Package service is the runtime every netkit server stands on.
//
// Server runs a TCP (optionally TLS) Handler in the manner of net/http.Server:
// a config struct whose zero value works, Serve(net.Listener) that always
// returns a non-nil error (ErrServerClosed after Shutdown or Close), Shutdown
// that stops accepting and lets connections drain within the caller's
// deadline, and Close for the hard stop. Every connection is bounded: a
// maximum count per server and per client address, an idle timeout on reads,
// a write timeout, and a maximum line length for line-based protocols. A
// client that goes over a limit is told so in one line and closed; the server
// carries on serving everyone else.
//
// PacketServer does the same for request/response UDP services (RFC 862
// echo, RFC 868 time, SNTP): a bounded datagram size and a per-address rate
// limit so that the server cannot be used to flood a third party.
//
// Metrics holds the Prometheus collectors both kinds of server report to.
package service
