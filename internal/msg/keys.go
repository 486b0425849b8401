package msg

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/netkit/netkit/internal/fernet"
	"github.com/netkit/netkit/internal/msg/envelope"
)

// KeyEnv is the environment variable that holds message keys,
// comma-separated, newest first.
const KeyEnv = "NETKIT_KEY"

// ErrNoKey says there is no message key and how to make one.
var ErrNoKey = errors.New("no message key: make one with 'netkit keygen FILE' and pass --key-file FILE, or set " + KeyEnv + " to the output of 'netkit keygen -'")

// LoadKeys returns the Fernet keys from file (one key a line, blank lines
// and lines starting with # ignored) if file is set, else from the
// comma-separated value env of NETKIT_KEY; the first key encrypts, any
// decrypts. Errors never show a key.
func LoadKeys(file, env string) (*fernet.Fernet, error) {
	var keys []*fernet.Key
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("key file: %w", err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for line := 1; sc.Scan(); line++ {
			s := strings.TrimSpace(sc.Text())
			if s == "" || strings.HasPrefix(s, "#") {
				continue
			}
			k, err := fernet.DecodeKey(s)
			if err != nil {
				return nil, fmt.Errorf("key file %s, line %d: not a key (a key is 32 bytes in URL-safe base64, as 'netkit keygen -' prints)", file, line)
			}
			keys = append(keys, k)
		}
		if len(keys) == 0 {
			return nil, fmt.Errorf("key file %s holds no key: %w", file, ErrNoKey)
		}
	case strings.TrimSpace(env) != "":
		for i, s := range strings.Split(env, ",") {
			if strings.TrimSpace(s) == "" {
				continue
			}
			k, err := fernet.DecodeKey(s)
			if err != nil {
				return nil, fmt.Errorf("%s: key %d is not a key (a key is 32 bytes in URL-safe base64, as 'netkit keygen -' prints)", KeyEnv, i+1)
			}
			keys = append(keys, k)
		}
	default:
		return nil, ErrNoKey
	}
	return fernet.New(keys...)
}

// LoadKeyPair reads an X25519 private key written by 'netkit keygen
// --pair' (URL-safe base64 on one line).
func LoadKeyPair(file string) (*envelope.KeyPair, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("key pair: %w", err)
	}
	priv, err := envelope.DecodeKey(firstKeyLine(b))
	if err != nil {
		return nil, fmt.Errorf("key pair %s: not an X25519 private key (make one with 'netkit keygen --pair FILE')", file)
	}
	return envelope.KeyPairFromPrivate(priv)
}

// LoadPublicKey reads an X25519 public key from a file written by
// 'netkit keygen --pair' (FILE.pub), or takes it as given in base64.
func LoadPublicKey(fileOrKey string) ([32]byte, error) {
	if k, err := envelope.DecodeKey(fileOrKey); err == nil {
		return k, nil
	}
	b, err := os.ReadFile(fileOrKey)
	if err != nil {
		return [32]byte{}, fmt.Errorf("server public key: %w", err)
	}
	k, err := envelope.DecodeKey(firstKeyLine(b))
	if err != nil {
		return k, fmt.Errorf("server public key %s: not an X25519 public key", fileOrKey)
	}
	return k, nil
}

func firstKeyLine(b []byte) string {
	for line := range strings.SplitSeq(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			return line
		}
	}
	return ""
}
