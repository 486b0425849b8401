package certs

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadOrCreate(t *testing.T) {
	dir := t.TempDir()
	first, created, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !created {
		t.Error("first call did not report creating a certificate")
	}
	info, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("key file mode %o, want 600", mode)
	}
	second, created, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if created {
		t.Error("second call made a new certificate instead of reusing the first")
	}
	if Fingerprint(first.Certificate[0]) != Fingerprint(second.Certificate[0]) {
		t.Error("second call returned a different certificate")
	}
	leaf, err := x509.ParseCertificate(first.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname("localhost"); err != nil {
		t.Errorf("not valid for localhost: %v", err)
	}
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Errorf("not valid for 127.0.0.1: %v", err)
	}
}

func TestLoadOrCreateBadFile(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "tls"), 0o700)
	os.WriteFile(filepath.Join(dir, CertFile), []byte("not a certificate"), 0o644)
	if _, _, err := LoadOrCreate(dir); err == nil {
		t.Error("a corrupt certificate file was accepted")
	}
}

func TestParseFingerprint(t *testing.T) {
	sum := sha256.Sum256([]byte("x"))
	canonical := formatFingerprint(sum[:])
	plain := strings.ReplaceAll(canonical, ":", "")
	tests := []struct {
		in string
		ok bool
	}{
		{canonical, true},
		{strings.ToLower(canonical), true},
		{plain, true},
		{"sha256:" + plain, true},
		{"SHA256:" + canonical, true},
		{"sha256 Fingerprint=" + canonical, true},
		{"  " + canonical + "\n", true},
		{plain[:62], false},
		{plain + "00", false},
		{"zz" + plain[2:], false},
		{"", false},
	}
	for _, tt := range tests {
		got, err := ParseFingerprint(tt.in)
		if tt.ok != (err == nil) {
			t.Errorf("ParseFingerprint(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && string(got) != string(sum[:]) {
			t.Errorf("ParseFingerprint(%q) = %x, want %x", tt.in, got, sum)
		}
		if !tt.ok && !errors.Is(err, ErrBadFingerprint) {
			t.Errorf("ParseFingerprint(%q) error %v is not ErrBadFingerprint", tt.in, err)
		}
	}
}

func TestClientOptions(t *testing.T) {
	dir := t.TempDir()
	cert, _, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	otherPEM, _, err := SelfSigned(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	otherCA := filepath.Join(dir, "other.pem")
	os.WriteFile(otherCA, otherPEM, 0o644)

	l, err := tls.Listen("tcp", "127.0.0.1:0", ServerConfig(cert, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				c.(*tls.Conn).Handshake()
				c.Close()
			}()
		}
	}()
	fp := Fingerprint(cert.Certificate[0])
	wrong := strings.Repeat("AB:", 31) + "AB"
	tests := []struct {
		name    string
		opts    ClientOptions
		wantErr string
	}{
		{"pinned", ClientOptions{Fingerprint: fp}, ""},
		{"wrong pin", ClientOptions{Fingerprint: wrong}, "server presented " + fp + ", expected " + wrong},
		{"ca", ClientOptions{CAFile: filepath.Join(dir, CertFile), ServerName: "127.0.0.1"}, ""},
		{"other ca", ClientOptions{CAFile: otherCA, ServerName: "127.0.0.1"}, "certificate signed by unknown authority"},
		{"insecure", ClientOptions{Insecure: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.opts.Config()
			if err != nil {
				t.Fatal(err)
			}
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", l.Addr().String(), cfg)
			if err == nil {
				conn.Close()
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("handshake failed: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("handshake error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	if _, err := (ClientOptions{}).Config(); !errors.Is(err, ErrNoTrust) {
		t.Errorf("no trust option: error %v, want ErrNoTrust", err)
	}
}

func TestDataDir(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/x")
	if got, _ := DataDir(""); got != "/x/netkit" {
		t.Errorf("DataDir with XDG_DATA_HOME = %q", got)
	}
	if got, _ := DataDir("/given"); got != "/given" {
		t.Errorf("DataDir(/given) = %q", got)
	}
}

func FuzzParseFingerprint(f *testing.F) {
	sum := sha256.Sum256([]byte("seed"))
	f.Add(formatFingerprint(sum[:]))
	f.Add("sha256:" + strings.ReplaceAll(formatFingerprint(sum[:]), ":", ""))
	f.Add("sha256 Fingerprint=")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseFingerprint(s)
		if err != nil {
			if !errors.Is(err, ErrBadFingerprint) {
				t.Fatalf("error %v is not ErrBadFingerprint", err)
			}
			return
		}
		if len(b) != sha256.Size {
			t.Fatalf("ParseFingerprint(%q) gave %d bytes", s, len(b))
		}
		// The canonical form parses back to the same bytes.
		again, err := ParseFingerprint(formatFingerprint(b))
		if err != nil || string(again) != string(b) {
			t.Fatalf("round trip of %q failed: %v", s, err)
		}
	})
}
