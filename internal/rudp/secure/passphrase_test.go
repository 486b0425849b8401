package secure

import (
	"encoding/hex"
	"errors"
	"testing"
)

// goldenKey is DeriveKey("correct horse battery staple", 00 01 .. 0f), as
// computed by the reference implementation of Argon2 (libargon2's
// argon2id_hash_raw, t=2, m=19456 KiB, p=1). It pins the parameters:
// both sides must derive the same key.
const goldenKey = "818259b6310026a8e0dbac5d2e6927abcfdb07b32258fac4f61b18b80f929085"

func testSalt(b byte) []byte {
	salt := make([]byte, SaltLen)
	for i := range salt {
		salt[i] = b + byte(i)
	}
	return salt
}

func TestDeriveKey(t *testing.T) {
	key, err := DeriveKey("correct horse battery staple", testSalt(0))
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(key[:]); got != goldenKey {
		t.Errorf("DeriveKey = %s, want %s", got, goldenKey)
	}

	tests := []struct {
		name       string
		passphrase string
		salt       []byte
		wantSame   bool
	}{
		{"same inputs", "correct horse battery staple", testSalt(0), true},
		{"other salt", "correct horse battery staple", testSalt(1), false},
		{"other passphrase", "correct horse battery stapler", testSalt(0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DeriveKey(tt.passphrase, tt.salt)
			if err != nil {
				t.Fatal(err)
			}
			if same := got == key; same != tt.wantSame {
				t.Errorf("key equal to golden = %v, want %v", same, tt.wantSame)
			}
		})
	}
}

func TestDeriveKeyInvalid(t *testing.T) {
	tests := []struct {
		name       string
		passphrase string
		salt       []byte
		want       error // nil: any error
	}{
		{"empty passphrase", "", testSalt(0), ErrPassphrase},
		{"nil salt", "secret", nil, nil},
		{"short salt", "secret", make([]byte, SaltLen-1), nil},
		{"long salt", "secret", make([]byte, SaltLen+1), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := DeriveKey(tt.passphrase, tt.salt)
			if err == nil {
				t.Fatalf("DeriveKey = %x, nil; want an error", key)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("DeriveKey error = %v, want %v", err, tt.want)
			}
			if key != [KeyLen]byte{} {
				t.Errorf("DeriveKey returned key %x with its error", key)
			}
		})
	}
}
