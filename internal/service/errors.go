package service

import (
	"errors"
	"fmt"
	"net"
)

var (
	// ErrServerClosed is returned by Serve after Shutdown or Close.
	ErrServerClosed = fmt.Errorf("service: server closed: %w", net.ErrClosed)
	// ErrLineTooLong is returned by LineReader when a line exceeds its limit.
	ErrLineTooLong = errors.New("service: line too long")
	// ErrTLSOnPlain reports a TLS ClientHello received on a plain-text port.
	ErrTLSOnPlain = errors.New("service: TLS handshake on a plain-text port")
)
