package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/netkit/netkit/internal/certs"
	"github.com/netkit/netkit/internal/service"
	"github.com/netkit/netkit/internal/suite"
)

// serverFlags are the flags every server command shares.
type serverFlags struct {
	tls       bool
	certFile  string
	keyFile   string
	tlsMin    string
	dataDir   string
	logFormat string
	logLevel  string
	json      bool
	maxConns  int
	maxPerIP  int
	idle      time.Duration
	writeTO   time.Duration
	maxLine   int
	grace     time.Duration
}

func (f *serverFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.tls, "tls", false, "serve every TCP service over TLS")
	fs.StringVar(&f.certFile, "cert", "", "TLS certificate `FILE` (PEM); default: a self-signed one in the data directory")
	fs.StringVar(&f.keyFile, "key", "", "TLS private key `FILE` (PEM), with --cert")
	choiceVar(fs, &f.tlsMin, "tls-min", "1.3", "with --tls: oldest TLS `VERSION` accepted: 1.2 or 1.3", "1.2", "1.3")
	fs.StringVar(&f.dataDir, "data", "", "data `DIR` (default $XDG_DATA_HOME/netkit)")
	choiceVar(fs, &f.logFormat, "log-format", "text", "log `FORMAT`: text or json", "text", "json")
	choiceVar(fs, &f.logLevel, "log-level", "info", "log `LEVEL`: debug, info, warn or error", "debug", "info", "warn", "error")
	fs.BoolVar(&f.json, "json", false, "print the address table as JSON lines")
	fs.IntVar(&f.maxConns, "max-conns", service.DefaultMaxConns, "most connections per service (-1: no limit)")
	fs.IntVar(&f.maxPerIP, "max-conns-per-ip", service.DefaultMaxConnsPerIP, "most connections per service from one address (-1: no limit)")
	fs.DurationVar(&f.idle, "idle-timeout", service.DefaultIdleTimeout, "close connections silent this long; the chat applies it only until a nickname is chosen: members may stay silent for ever, and dead peers are found by TCP keepalive within 90s")
	fs.DurationVar(&f.writeTO, "write-timeout", service.DefaultWriteTimeout, "close connections that do not read what is sent within this long")
	fs.IntVar(&f.maxLine, "max-line", service.DefaultMaxLineLength, "longest line accepted, in bytes")
	fs.DurationVar(&f.grace, "grace", 5*time.Second, "time connections get to finish on shutdown")
}

// check refuses values and combinations that cannot work, before anything
// is bound.
func (f *serverFlags) check(fs *flag.FlagSet) error {
	switch {
	case !f.tls && (f.certFile != "" || f.keyFile != ""):
		return usagef("--cert and --key need --tls")
	case !f.tls && isSet(fs, "tls-min"):
		return usagef("--tls-min needs --tls")
	case (f.certFile == "") != (f.keyFile == ""):
		return usagef("--cert and --key go together: give both, or neither for a self-signed certificate")
	case f.maxConns == 0 || f.maxConns < -1:
		return usagef("--max-conns %d: want 1 or more, or -1 for no limit", f.maxConns)
	case f.maxPerIP == 0 || f.maxPerIP < -1:
		return usagef("--max-conns-per-ip %d: want 1 or more, or -1 for no limit", f.maxPerIP)
	case f.idle <= 0:
		return usagef("--idle-timeout %v: want a positive duration", f.idle)
	case f.writeTO <= 0:
		return usagef("--write-timeout %v: want a positive duration", f.writeTO)
	case f.maxLine <= 0:
		return usagef("--max-line %d: want a positive number of bytes", f.maxLine)
	case f.grace < 0:
		return usagef("--grace %v: want 0 or more", f.grace)
	}
	if f.certFile != "" {
		if err := checkReadable("cert", f.certFile); err != nil {
			return err
		}
		return checkReadable("key", f.keyFile)
	}
	return nil
}

// env builds the suite environment these flags describe, printing the TLS
// certificate's fingerprint to out.
func (f *serverFlags) env(stderr, out io.Writer) (*suite.Env, error) {
	logger, err := newLogger(stderr, f.logFormat, f.logLevel)
	if err != nil {
		return nil, err
	}
	env := suite.NewEnv(logger)
	env.Limits = service.Limits{
		MaxConns:      f.maxConns,
		MaxConnsPerIP: f.maxPerIP,
		IdleTimeout:   f.idle,
		WriteTimeout:  f.writeTO,
		MaxLineLength: f.maxLine,
	}
	if f.maxLine <= 0 {
		return nil, errors.New("--max-line must be positive")
	}
	dir, err := certs.DataDir(f.dataDir)
	if err != nil {
		return nil, err
	}
	env.DataDir = dir
	if !f.tls {
		if f.certFile != "" || f.keyFile != "" {
			return nil, errors.New("--cert and --key need --tls")
		}
		return env, nil
	}
	minVer, err := parseTLSVersion(f.tlsMin)
	if err != nil {
		return nil, err
	}
	var cert tls.Certificate
	switch {
	case f.certFile != "" || f.keyFile != "":
		if f.certFile == "" || f.keyFile == "" {
			return nil, errors.New("--cert and --key go together")
		}
		cert, err = tls.LoadX509KeyPair(f.certFile, f.keyFile)
		if err != nil {
			return nil, fmt.Errorf("load TLS certificate: %w", err)
		}
	default:
		var created bool
		cert, created, err = certs.LoadOrCreate(dir)
		if err != nil {
			return nil, err
		}
		verb := "using"
		if created {
			verb = "created"
		}
		if !f.json {
			fmt.Fprintf(out, "TLS: %s self-signed certificate %s\n", verb, certPath(dir))
		}
	}
	if !f.json {
		fmt.Fprintf(out, "TLS: SHA-256 fingerprint %s\n", certs.Fingerprint(cert.Certificate[0]))
	}
	env.TLS = certs.ServerConfig(cert, minVer)
	return env, nil
}

func certPath(dir string) string { return strings.TrimSuffix(dir, "/") + "/" + certs.CertFile }

func parseTLSVersion(s string) (uint16, error) {
	switch s {
	case "1.3", "":
		return tls.VersionTLS13, nil
	case "1.2":
		return tls.VersionTLS12, nil
	}
	return 0, fmt.Errorf("--tls-min %q: want 1.2 or 1.3", s)
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// clientFlags are the connection flags every TCP client shares.
type clientFlags struct {
	tls         bool
	ca          string
	fingerprint string
	insecure    bool
	tlsMin      string
	timeout     time.Duration
	find        findFlag // --discover, for the commands that register it
}

func (f *clientFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.tls, "tls", false, "connect with TLS")
	fs.StringVar(&f.ca, "ca", "", "with --tls: trust the certificates in `FILE` (PEM)")
	fs.Var(fingerprintValue{&f.fingerprint}, "fingerprint", "with --tls: trust only the certificate with this `SHA256` fingerprint")
	fs.BoolVar(&f.insecure, "insecure", false, "with --tls: trust any certificate (testing only)")
	choiceVar(fs, &f.tlsMin, "tls-min", "1.3", "with --tls: oldest TLS `VERSION` accepted: 1.2 or 1.3", "1.2", "1.3")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "give up connecting, or waiting for an answer, after this long")
}

// check refuses values and combinations that cannot work, before anything
// is dialled.
func (f *clientFlags) check(fs *flag.FlagSet) error {
	trust := 0
	for _, b := range []bool{f.ca != "", f.fingerprint != "", f.insecure} {
		if b {
			trust++
		}
	}
	switch {
	case !f.tls && trust > 0:
		return usagef("--ca, --fingerprint and --insecure need --tls")
	case !f.tls && isSet(fs, "tls-min"):
		return usagef("--tls-min needs --tls")
	case f.tls && trust == 0:
		return usagef("--tls needs a way to trust the server: --ca FILE, --fingerprint SHA256 or --insecure (testing only); 'netkit serve --tls' prints the fingerprint")
	case trust > 1:
		return usagef("--ca, --fingerprint and --insecure are three ways to trust the server: give one")
	case f.timeout <= 0:
		return usagef("--timeout %v: want a positive duration", f.timeout)
	}
	if f.ca != "" {
		return checkReadable("ca", f.ca)
	}
	return nil
}

// dial connects to addr, with TLS when asked, turning the usual failures
// into sentences a person can act on.
func (f *clientFlags) dial(ctx context.Context, addr string) (net.Conn, error) {
	if !f.tls && (f.ca != "" || f.fingerprint != "" || f.insecure) {
		return nil, errors.New("--ca, --fingerprint and --insecure need --tls")
	}
	d := net.Dialer{Timeout: f.timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, dialError(addr, err)
	}
	if !f.tls {
		return conn, nil
	}
	minVer, err := parseTLSVersion(f.tlsMin)
	if err != nil {
		conn.Close()
		return nil, err
	}
	host, _, _ := net.SplitHostPort(addr)
	cfg, err := certs.ClientOptions{CAFile: f.ca, Fingerprint: f.fingerprint, Insecure: f.insecure, MinVersion: minVer, ServerName: host}.Config()
	if err != nil {
		conn.Close()
		return nil, err
	}
	tc := tls.Client(conn, cfg)
	hctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		conn.Close()
		var rhe tls.RecordHeaderError
		if errors.As(err, &rhe) {
			return nil, errTLSOnPlain(addr)
		}
		return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	return tc, nil
}

func printable(b []byte) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '.'
		}
		return r
	}, string(b))
}

func dialError(addr string, err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("nothing is listening on %s (is 'netkit serve' running?)", addr)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("no answer from %s: %w", addr, err)
	}
	return fmt.Errorf("connect to %s: %w", addr, err)
}

// resolveAddr completes a client's address argument: "" gives the default,
// "HOST" gets the default port, ":PORT" gets the default host.
func resolveAddr(arg, def string) (string, error) {
	if arg == "" {
		return def, nil
	}
	defHost, defPort, _ := net.SplitHostPort(def)
	host, port, err := net.SplitHostPort(arg)
	if err != nil {
		// No port: the whole argument is a host name or an IP address.
		_, ipErr := netip.ParseAddr(arg)
		if strings.ContainsAny(arg, "[] /") || (strings.Contains(arg, ":") && ipErr != nil) {
			return "", fmt.Errorf("bad address %q: want HOST:PORT", arg)
		}
		host, port = arg, defPort
	}
	if strings.ContainsAny(host, " /\\?#@") {
		return "", fmt.Errorf("bad address %q: want HOST:PORT", arg)
	}
	if host == "" {
		host = defHost
	}
	if err := checkPort(port); err != nil {
		return "", fmt.Errorf("bad address %q: %v", arg, err)
	}
	return net.JoinHostPort(host, port), nil
}

// checkListenAddr validates a server's --listen address.
func checkListenAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("bad address %q: want HOST:PORT (port 0 picks a free one)", addr)
	}
	if err := checkPort(port); err != nil {
		return fmt.Errorf("bad address %q: %v", addr, err)
	}
	return nil
}

func checkPort(port string) error {
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}
