package cli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netkit/netkit/internal/fernet"
	"github.com/netkit/netkit/internal/msg"
)

func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := Run(context.Background(), args, IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
	return out.String(), errb.String(), err
}

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "msg.key")
	out, _, err := runCLI(t, "keygen", file)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", st.Mode(), err)
	}
	b, _ := os.ReadFile(file)
	if _, err := fernet.DecodeKey(string(b)); err != nil || len(strings.TrimSpace(string(b))) != 44 {
		t.Fatalf("key file holds %q: %v", b, err)
	}
	if strings.Contains(out, strings.TrimSpace(string(b))) {
		t.Error("keygen FILE printed the key")
	}
	if _, err := msg.LoadKeys(file, ""); err != nil {
		t.Errorf("LoadKeys: %v", err)
	}
	// Never overwritten.
	_, _, err = runCLI(t, "keygen", file)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second keygen: %v", err)
	}
	if b2, _ := os.ReadFile(file); !bytes.Equal(b, b2) {
		t.Error("key file changed")
	}
	// '-' prints one.
	out, _, err = runCLI(t, "keygen", "-")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fernet.DecodeKey(out); err != nil {
		t.Errorf("keygen - printed %q", out)
	}
	// Usage errors.
	for _, args := range [][]string{{"keygen"}, {"keygen", "--pair", "-"}} {
		_, _, err := runCLI(t, args...)
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}

func TestKeygenPair(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "server")
	if _, _, err := runCLI(t, "keygen", "--pair", file); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(file)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v", st.Mode())
	}
	kp, err := msg.LoadKeyPair(file)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := msg.LoadPublicKey(file + ".pub")
	if err != nil || pub != kp.Public {
		t.Errorf("public key file does not match the private key: %v", err)
	}
	if _, _, err := runCLI(t, "keygen", "--pair", file); err == nil {
		t.Error("--pair overwrote")
	}
}

func TestLoadKeys(t *testing.T) {
	k1, _ := fernet.GenerateKey()
	k2, _ := fernet.GenerateKey()
	f, err := msg.LoadKeys("", k1.Encode()+", "+k2.Encode())
	if err != nil || len(f.Keys()) != 2 || *f.Keys()[0] != *k1 {
		t.Fatalf("NETKIT_KEY with two keys: %v", err)
	}
	file := filepath.Join(t.TempDir(), "keys")
	os.WriteFile(file, []byte("# newest first\n"+k2.Encode()+"\n\n"+k1.Encode()+"\n"), 0o600)
	f, err = msg.LoadKeys(file, "ignored")
	if err != nil || len(f.Keys()) != 2 || *f.Keys()[0] != *k2 {
		t.Fatalf("key file: %v", err)
	}
	os.WriteFile(file, []byte("not-a-key-"+k1.Encode()[:20]+"\n"), 0o600)
	_, err = msg.LoadKeys(file, "")
	if err == nil || !strings.Contains(err.Error(), "line 1") || strings.Contains(err.Error(), k1.Encode()[:20]) {
		t.Errorf("bad key file: %v (must say where, never show the key)", err)
	}
	if _, err := msg.LoadKeys("", ""); !errors.Is(err, msg.ErrNoKey) || !strings.Contains(err.Error(), "netkit keygen") {
		t.Errorf("no key: %v", err)
	}
}
