// Package certs gives netkit's services and clients their TLS setup: a
// self-signed server certificate made on first use and kept in the data
// directory, SHA-256 fingerprints, and client configurations that trust a
// CA file, pin a fingerprint, or (when asked) trust anything.
package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

var (
	// ErrFingerprintMismatch is returned when a pinned fingerprint does not
	// match the server's certificate.
	ErrFingerprintMismatch = errors.New("certs: server certificate fingerprint mismatch")
	// ErrBadFingerprint is returned for a fingerprint that is not 32 bytes
	// of hex.
	ErrBadFingerprint = errors.New("certs: fingerprint must be 64 hex digits (colons allowed)")
	// ErrNoTrust is returned when a TLS client has neither a CA, a
	// fingerprint nor --insecure.
	ErrNoTrust = errors.New("certs: no way to trust the server: give --ca FILE, --fingerprint SHA256 or --insecure")
)

// File names inside the data directory.
const (
	CertFile = "tls/cert.pem"
	KeyFile  = "tls/key.pem"
)

// DataDir returns the directory netkit keeps its state in: dir if set, else
// $XDG_DATA_HOME/netkit, else ~/.local/share/netkit.
func DataDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "netkit"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("certs: no data directory: set --data or XDG_DATA_HOME: %w", err)
	}
	return filepath.Join(home, ".local", "share", "netkit"), nil
}

// LoadOrCreate returns the server certificate kept in dataDir, creating a
// self-signed one there first if there is none. created reports whether it
// was made now. The key file is written with mode 0600.
func LoadOrCreate(dataDir string) (cert tls.Certificate, created bool, err error) {
	certPath := filepath.Join(dataDir, CertFile)
	keyPath := filepath.Join(dataDir, KeyFile)
	if _, err := os.Stat(certPath); err == nil {
		cert, err := tls.LoadX509KeyPair(certPath, keyPath)
		if err != nil {
			return tls.Certificate{}, false, fmt.Errorf("certs: load %s: %w", certPath, err)
		}
		return cert, false, nil
	}
	certPEM, keyPEM, err := SelfSigned(time.Now())
	if err != nil {
		return tls.Certificate{}, false, err
	}
	if err := os.MkdirAll(filepath.Dir(certPath), 0o700); err != nil {
		return tls.Certificate{}, false, fmt.Errorf("certs: %w", err)
	}
	// The key goes first: a certificate file is what marks the pair as
	// complete for the next run.
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, false, err
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, false, err
	}
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, false, fmt.Errorf("certs: %w", err)
	}
	return cert, true, nil
}

// SelfSigned makes a self-signed ECDSA P-256 certificate valid for ten
// years, for localhost, the loopback addresses and every address of this
// host, usable as its own CA with a client's --ca.
func SelfSigned(now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "netkit " + host, Organization: []string{"netkit"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if host != "" && host != "localhost" {
		tmpl.DNSNames = append(tmpl.DNSNames, host)
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && !ipn.IP.IsLinkLocalUnicast() {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ipn.IP)
			}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("certs: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("certs: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("certs: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("certs: write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("certs: %w", err)
	}
	return nil
}

// Fingerprint returns the SHA-256 of a DER certificate as upper-case hex
// pairs joined by colons, the form `openssl x509 -fingerprint -sha256`
// prints.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return formatFingerprint(sum[:])
}

func formatFingerprint(sum []byte) string {
	var b strings.Builder
	for i, c := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	return b.String()
}

// ParseFingerprint reads a SHA-256 fingerprint given as 64 hex digits,
// upper or lower case, with or without colons, optionally prefixed by
// "sha256:", "SHA256:" or "sha256 Fingerprint=".
func ParseFingerprint(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, label := range []string{"sha256 fingerprint=", "sha256:", "sha256="} {
		if len(s) > len(label) && strings.EqualFold(s[:len(label)], label) {
			s = s[len(label):]
			break
		}
	}
	s = strings.ReplaceAll(s, ":", "")
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("%w: %q", ErrBadFingerprint, s)
	}
	return b, nil
}

// ServerConfig returns the TLS configuration for a server presenting cert,
// accepting nothing older than minVersion (TLS 1.3 when zero).
func ServerConfig(cert tls.Certificate, minVersion uint16) *tls.Config {
	if minVersion == 0 {
		minVersion = tls.VersionTLS13
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: minVersion}
}

// ClientOptions says how a client trusts a server.
type ClientOptions struct {
	// CAFile is a PEM file of certificates to trust.
	CAFile string
	// Fingerprint pins the server certificate's SHA-256.
	Fingerprint string
	// Insecure trusts any certificate.
	Insecure bool
	// MinVersion is the oldest TLS version accepted (TLS 1.3 when zero).
	MinVersion uint16
	// ServerName is checked against the certificate when CAFile is used.
	ServerName string
}

// Config returns the client TLS configuration for o.
func (o ClientOptions) Config() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: o.MinVersion, ServerName: o.ServerName}
	if cfg.MinVersion == 0 {
		cfg.MinVersion = tls.VersionTLS13
	}
	switch {
	case o.Fingerprint != "":
		want, err := ParseFingerprint(o.Fingerprint)
		if err != nil {
			return nil, err
		}
		// Pinning replaces chain verification: the pinned certificate is
		// the trust anchor, whoever signed it.
		cfg.InsecureSkipVerify = true
		cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return fmt.Errorf("%w: server sent no certificate", ErrFingerprintMismatch)
			}
			got := sha256.Sum256(raw[0])
			if !bytes.Equal(got[:], want) {
				return fmt.Errorf("%w: server presented %s, expected %s", ErrFingerprintMismatch, formatFingerprint(got[:]), formatFingerprint(want))
			}
			return nil
		}
	case o.CAFile != "":
		pemData, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("certs: read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemData) {
			return nil, fmt.Errorf("certs: %s holds no PEM certificate", o.CAFile)
		}
		cfg.RootCAs = pool
	case o.Insecure:
		cfg.InsecureSkipVerify = true
	default:
		return nil, ErrNoTrust
	}
	return cfg, nil
}
