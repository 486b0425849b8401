package fernet

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// pythonFernet is the interpreter with cryptography.fernet: Debian's
// (python3-cryptography, which .ci/run installs) if it has it, else the
// first python3 on PATH. Without one the test skips, or fails under CI.
func pythonFernet(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if path, err := exec.LookPath(p); err == nil {
			if exec.Command(path, "-c", "import cryptography.fernet").Run() == nil {
				return path
			}
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("python3 with cryptography is missing under CI (.ci/run installs python3-cryptography)")
	}
	t.Skip("skipping: no python3 with cryptography")
	return ""
}

// interopScript reads "KEYS TOKEN" (keys comma-separated, newest first),
// decrypts TOKEN with MultiFernet, prints the message, a token of its
// own for "from python: " + message under the first key, and the old token
// rotated to the first key.
const interopScript = `
import sys
from cryptography.fernet import Fernet, MultiFernet
keys, token = sys.stdin.read().split()
mf = MultiFernet([Fernet(k) for k in keys.split(",")])
msg = mf.decrypt(token.encode(), ttl=60)
print(msg.decode())
print(mf.encrypt(b"from python: " + msg).decode())
print(mf.rotate(token.encode()).decode())
`

func TestPythonInterop(t *testing.T) {
	py := pythonFernet(t)
	old, _ := GenerateKey()
	cur, _ := GenerateKey()
	fOld, _ := New(old)
	fBoth, _ := New(cur, old)
	fCur, _ := New(cur)
	msg := `{"type":"ping","body":"héllo"}`
	tok, err := fOld.Encrypt([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", interopScript)
	cmd.Stdin = strings.NewReader(cur.Encode() + "," + old.Encode() + " " + string(tok))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 {
		t.Fatalf("python printed %q", out)
	}
	if lines[0] != msg {
		t.Errorf("python decrypted %q, want %q", lines[0], msg)
	}
	// Python's MultiFernet encrypts with the first key: netkit holding
	// only that key reads it.
	got, err := fCur.Decrypt([]byte(lines[1]), time.Minute)
	if err != nil || string(got) != "from python: "+msg {
		t.Errorf("netkit decrypting python's token: %q, %v", got, err)
	}
	// The rotated token is under the new key and keeps the timestamp.
	got, err = fCur.Decrypt([]byte(lines[2]), time.Minute)
	if err != nil || !bytes.Equal(got, []byte(msg)) {
		t.Errorf("rotated token: %q, %v", got, err)
	}
	t1, _ := Timestamp(tok)
	t2, _ := Timestamp([]byte(lines[2]))
	if !t1.Equal(t2) {
		t.Errorf("rotation changed the timestamp: %v -> %v", t1, t2)
	}
	if _, err := fBoth.Decrypt([]byte(lines[1]), time.Minute); err != nil {
		t.Errorf("rotation set: %v", err)
	}
}
