package cli

import (
	"bytes"
	"errors"
	"fmt"
	"net"
)

// isTimeout reports whether err is a deadline passing.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// errPlainOnTLS is what every plain-text client says when the server
// turns out to speak TLS.
func errPlainOnTLS(addr string) error {
	return fmt.Errorf("%s speaks TLS: connect with --tls (and --fingerprint, --ca or --insecure)", addr)
}

// errTLSOnPlain is what every client with --tls says when the server
// turns out to speak plain text.
func errTLSOnPlain(addr string) error {
	return fmt.Errorf("%s speaks plain text, not TLS: connect without --tls", addr)
}

// errNotServer says that addr answered, but not as the expected server.
func errNotServer(addr, what string, answer []byte) error {
	if len(answer) == 0 {
		return fmt.Errorf("%s is not %s: it closed the connection without a word", addr, what)
	}
	return fmt.Errorf("%s is not %s (it answered %q)", addr, what, printable(clipBytes(answer, 60)))
}

// isTLSNotice reports whether a plain-text client's first bytes from the
// server show a TLS server: netkit's notice to plain-text clients on TLS
// ports, Go's HTTPS answer to plain HTTP, or a TLS record (an alert or a
// handshake) from any other TLS server.
func isTLSNotice(b []byte) bool {
	switch {
	case bytes.HasPrefix(b, []byte("error: this port speaks TLS")):
		return true
	case bytes.Contains(b, []byte("Client sent an HTTP request to an HTTPS server")):
		return true
	case len(b) >= 3 && (b[0] == 0x15 || b[0] == 0x16) && b[1] == 0x03 && b[2] <= 0x04:
		return true
	}
	return false
}

func clipBytes(b []byte, n int) []byte {
	b = bytes.TrimRight(b, "\r\n")
	if len(b) > n {
		return append(b[:n:n], "..."...)
	}
	return b
}
