package cli

import (
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/netkit/netkit/internal/fernet"
	"github.com/netkit/netkit/internal/msg"
	"github.com/netkit/netkit/internal/msg/envelope"
)

// listenAt listens on addr:port, or skips t when that port is taken on
// that loopback address (the first listener picked it free on another).
func listenAt(t *testing.T, addr string, port int) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(port)))
	if err != nil {
		t.Skipf("port %d taken on %s: %v", port, addr, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func keyFile(t *testing.T) (string, *fernet.Fernet) {
	t.Helper()
	k, _ := fernet.GenerateKey()
	f, _ := fernet.New(k)
	file := filepath.Join(t.TempDir(), "msg.key")
	if err := os.WriteFile(file, []byte(k.Encode()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return file, f
}

// TestDiscoverSweepLoopback: a sweep of 127.0.0.0/29 (every address of
// which is this host's loopback) on one port finds the msg API under our
// key (verified) and the one under another key (unverified), over HTTP
// and HTTPS, and none of the decoys on the same port: an HTTP server
// that answers 200, one that answers 401, a port that accepts and
// closes, a port that accepts and says nothing.
func TestDiscoverSweepLoopback(t *testing.T) {
	file, keys := keyFile(t)
	_, other := keyFile(t)
	t.Setenv(msg.KeyEnv, "")

	api := func(k *fernet.Fernet, name string) http.Handler {
		s := &msg.Server{Keys: k, Name: name, Version: "test", Info: func() msg.Info {
			return msg.Info{Transports: []string{"http"}, Ports: map[string]int{"web": 1, "msg": 7742}}
		}}
		mux := http.NewServeMux()
		s.Mount(mux.Handle)
		return mux
	}
	first := listenAt(t, "127.0.0.2", 0)
	port := first.Addr().(*net.TCPAddr).Port
	serve := func(l net.Listener, h http.Handler, tls bool) {
		s := &httptest.Server{Listener: l, Config: &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}}
		if tls {
			s.StartTLS()
		} else {
			s.Start()
		}
		t.Cleanup(s.Close)
	}
	serve(first, api(keys, "ours"), false)
	serve(listenAt(t, "127.0.0.3", port), api(keys, "ours-tls"), true)
	serve(listenAt(t, "127.0.0.4", port), api(other, "theirs"), false)
	serve(listenAt(t, "127.0.0.5", port), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok, but not netkit\n"))
	}), false)
	serve(listenAt(t, "127.0.0.6", port), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusUnauthorized)
	}), false)
	closes := listenAt(t, "127.0.0.7", port)
	silent := listenAt(t, "127.0.0.1", port)
	go func() {
		for {
			c, err := closes.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	var (
		mu   sync.Mutex
		held []net.Conn
	)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()

	out, _, err := run(t, "", "discover", "--sweep", "127.0.0.0/29", "--port", strconv.Itoa(port), "--key-file", file, "--json")
	if err != nil {
		t.Fatalf("sweep: %v\n%s", err, out)
	}
	type hit struct {
		Name, Addr, Verification, Version string
		MsgAddr                           string `json:"msg_addr"`
		TLS                               string `json:"tls_fingerprint"`
		FoundBy                           string `json:"found_by"`
	}
	var got []hit
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		var h hit
		if err := json.Unmarshal([]byte(line), &h); err != nil {
			t.Fatalf("sweep printed %q", out)
		}
		got = append(got, h)
	}
	slices.SortFunc(got, func(a, b hit) int { return strings.Compare(a.Addr, b.Addr) })
	p := ":" + strconv.Itoa(port)
	want := []hit{
		{Name: "ours", Addr: "127.0.0.2" + p, Verification: "verified", Version: "test", MsgAddr: "127.0.0.2:7742", FoundBy: "sweep"},
		{Name: "ours-tls", Addr: "127.0.0.3" + p, Verification: "verified", Version: "test", MsgAddr: "127.0.0.3:7742", FoundBy: "sweep"},
		{Name: "127.0.0.4", Addr: "127.0.0.4" + p, Verification: "unverified", FoundBy: "sweep"},
	}
	if len(got) == 3 {
		if got[1].TLS == "" {
			t.Errorf("the HTTPS server's fingerprint is missing: %+v", got[1])
		}
		got[1].TLS = ""
	}
	if !slices.Equal(got, want) {
		t.Errorf("sweep found\n%+v\nwant\n%+v", got, want)
	}
}

// TestDiscoverSweepServerKey: with only a server's public key, a sweep
// confirms the server holding its private key (verified: it opened the
// sealed handshake and sealed the answer back), and not one holding
// another pair, nor one with only a shared key.
func TestDiscoverSweepServerKey(t *testing.T) {
	t.Setenv(msg.KeyEnv, "")
	ours, _ := envelope.GenerateKeyPair()
	theirs, _ := envelope.GenerateKeyPair()
	_, shared := keyFile(t)
	api := func(name string, box *envelope.KeyPair, k *fernet.Fernet) http.Handler {
		s := &msg.Server{Keys: k, Box: box, Name: name, Version: "test", Info: func() msg.Info {
			return msg.Info{Transports: []string{"http"}, Ports: map[string]int{"web": 1}}
		}}
		mux := http.NewServeMux()
		s.Mount(mux.Handle)
		return mux
	}
	first := listenAt(t, "127.0.0.2", 0)
	port := first.Addr().(*net.TCPAddr).Port
	for _, x := range []struct {
		l net.Listener
		h http.Handler
	}{
		{first, api("ours", ours, shared)},
		{listenAt(t, "127.0.0.3", port), api("theirs", theirs, shared)},
		{listenAt(t, "127.0.0.4", port), api("shared-only", nil, shared)},
	} {
		s := &httptest.Server{Listener: x.l, Config: &http.Server{Handler: x.h, ErrorLog: log.New(io.Discard, "", 0)}}
		s.Start()
		t.Cleanup(s.Close)
	}
	pub := envelope.EncodeKey(ours.Public)
	out, _, err := run(t, "", "discover", "--sweep", "127.0.0.2-4", "--port", strconv.Itoa(port), "--server-key", pub, "--json")
	if err != nil {
		t.Fatalf("sweep: %v\n%s", err, out)
	}
	var verified []string
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		var h struct{ Name, Verification string }
		if err := json.Unmarshal([]byte(line), &h); err != nil {
			t.Fatalf("sweep printed %q", out)
		}
		if h.Verification == "verified" {
			verified = append(verified, h.Name)
		}
	}
	if !slices.Equal(verified, []string{"ours"}) {
		t.Errorf("verified %v, want only the holder of the private key:\n%s", verified, out)
	}
	if _, _, err := run(t, "", "discover", "--server-key", pub); ExitCode(err) != 2 {
		t.Errorf("--server-key without --sweep: %v, want a usage error", err)
	}
	if _, _, err := run(t, "", "discover", "--sweep", "127.0.0.2", "--server-key", "not-a-key"); ExitCode(err) != 2 {
		t.Errorf("a bad --server-key: %v, want a usage error", err)
	}
}
