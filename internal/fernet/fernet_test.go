package fernet

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// vector is one case of the spec's generate.json, verify.json and
// invalid.json (copied from the spec into testdata).
type vector struct {
	Token  string `json:"token"`
	Now    string `json:"now"`
	IV     []int  `json:"iv"`
	Src    string `json:"src"`
	Secret string `json:"secret"`
	TTL    int    `json:"ttl_sec"`
	Desc   string `json:"desc"`
}

func loadVectors(t *testing.T, name string) []vector {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) == 0 {
		t.Fatalf("%s: no vectors", name)
	}
	return vs
}

func (v vector) setup(t *testing.T) (*Fernet, time.Time) {
	t.Helper()
	k, err := DecodeKey(v.Secret)
	if err != nil {
		t.Fatal(err)
	}
	f, err := New(k)
	if err != nil {
		t.Fatal(err)
	}
	now, err := time.Parse(time.RFC3339, v.Now)
	if err != nil {
		t.Fatal(err)
	}
	return f, now
}

func TestGenerateVectors(t *testing.T) {
	for _, v := range loadVectors(t, "generate.json") {
		f, now := v.setup(t)
		iv := make([]byte, len(v.IV))
		for i, b := range v.IV {
			iv[i] = byte(b)
		}
		if got := f.AppendEncrypt(nil, []byte(v.Src), now, iv); string(got) != v.Token {
			t.Errorf("generate %q:\n got %s\nwant %s", v.Src, got, v.Token)
		}
	}
}

func TestVerifyVectors(t *testing.T) {
	for _, v := range loadVectors(t, "verify.json") {
		f, now := v.setup(t)
		got, _, err := f.DecryptAt([]byte(v.Token), time.Duration(v.TTL)*time.Second, now)
		if err != nil || string(got) != v.Src {
			t.Errorf("verify: got %q, %v; want %q", got, err, v.Src)
		}
	}
}

func TestInvalidVectors(t *testing.T) {
	for _, v := range loadVectors(t, "invalid.json") {
		t.Run(v.Desc, func(t *testing.T) {
			f, now := v.setup(t)
			got, _, err := f.DecryptAt([]byte(v.Token), time.Duration(v.TTL)*time.Second, now)
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("got %q, %v; want ErrInvalid", got, err)
			}
			t.Logf("refused: %v", err)
		})
	}
}

func TestRoundTripAndRotation(t *testing.T) {
	old, _ := GenerateKey()
	cur, _ := GenerateKey()
	fOld, _ := New(old)
	fRot, _ := New(cur, old)
	fCur, _ := New(cur)
	for _, msg := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("a"), 16), bytes.Repeat([]byte("b"), 1000)} {
		tok, err := fOld.Encrypt(msg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := fRot.Decrypt(tok, time.Minute)
		if err != nil || !bytes.Equal(got, msg) {
			t.Errorf("rotation: old token: got %q, %v", got, err)
		}
		if _, err := fCur.Decrypt(tok, time.Minute); !errors.Is(err, ErrInvalid) {
			t.Errorf("a token under a key not held verified: %v", err)
		}
		tok2, _ := fRot.Encrypt(msg)
		if got, err := fCur.Decrypt(tok2, time.Minute); err != nil || !bytes.Equal(got, msg) {
			t.Errorf("rotation encrypts with the first key: got %q, %v", got, err)
		}
	}
}

func TestTime(t *testing.T) {
	k, _ := GenerateKey()
	f, _ := New(k)
	now := time.Unix(1_700_000_000, 0)
	iv := make([]byte, 16)
	tests := []struct {
		name string
		made time.Time
		ttl  time.Duration
		want error
	}{
		{"fresh", now, time.Minute, nil},
		{"at the ttl", now.Add(-time.Minute), time.Minute, nil},
		{"past the ttl", now.Add(-time.Minute - time.Second), time.Minute, ErrExpired},
		{"no ttl", now.Add(-1000 * time.Hour), 0, nil},
		{"skew allowed", now.Add(MaxSkew), time.Minute, nil},
		{"too far ahead", now.Add(MaxSkew + time.Second), time.Minute, ErrFuture},
		{"too far ahead, no ttl", now.Add(MaxSkew + time.Second), 0, ErrFuture},
	}
	for _, tt := range tests {
		tok := f.AppendEncrypt(nil, []byte("m"), tt.made, iv)
		_, ts, err := f.DecryptAt(tok, tt.ttl, now)
		if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
		if !ts.Equal(tt.made) {
			t.Errorf("%s: timestamp %v, want %v", tt.name, ts, tt.made)
		}
	}
}

// TestTruncated: every prefix of a valid token is refused cleanly.
func TestTruncated(t *testing.T) {
	k, _ := GenerateKey()
	f, _ := New(k)
	tok, _ := f.Encrypt([]byte(`{"type":"ping"}`))
	for i := range len(tok) {
		if _, err := f.Decrypt(tok[:i], time.Minute); !errors.Is(err, ErrInvalid) {
			t.Fatalf("prefix %d: %v", i, err)
		}
	}
}

// TestEmptyCiphertext: a signed token with no ciphertext block, which
// fernet-go panics on, is refused.
func TestEmptyCiphertext(t *testing.T) {
	k, _ := GenerateKey()
	f, _ := New(k)
	tok := f.AppendEncrypt(nil, nil, time.Now(), make([]byte, 16))
	raw, _, _ := Parse(tok)
	short := raw[:headerLen]
	if _, _, err := Parse([]byte(b64.EncodeToString(short))); !errors.Is(err, ErrInvalid) {
		t.Fatalf("got %v", err)
	}
}

func TestDecodeKey(t *testing.T) {
	k, _ := GenerateKey()
	s := k.Encode()
	if len(s) != 44 {
		t.Fatalf("encoded key %d characters, want 44", len(s))
	}
	got, err := DecodeKey(" " + s + "\n")
	if err != nil || *got != *k {
		t.Fatalf("DecodeKey: %v", err)
	}
	for _, bad := range []string{"", "short", s[:43], s + "AAAA", "!" + s[1:]} {
		if _, err := DecodeKey(bad); !errors.Is(err, ErrBadKey) {
			t.Errorf("DecodeKey(%q): %v", bad, err)
		}
	}
	if _, err := New(); !errors.Is(err, ErrNoKey) {
		t.Errorf("New(): %v", err)
	}
}

func FuzzDecrypt(f *testing.F) {
	for _, name := range []string{"generate.json", "verify.json", "invalid.json"} {
		b, _ := os.ReadFile(filepath.Join("testdata", name))
		var vs []vector
		json.Unmarshal(b, &vs)
		for _, v := range vs {
			f.Add([]byte(v.Token))
		}
	}
	f.Add([]byte(""))
	f.Add([]byte("gAAAAA=="))
	k, _ := DecodeKey("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=")
	fr, _ := New(k)
	now := time.Date(1985, 10, 26, 8, 20, 1, 0, time.UTC)
	f.Fuzz(func(t *testing.T, tok []byte) {
		msg, _, err := fr.DecryptAt(tok, time.Minute, now)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			return
		}
		// What verifies re-encrypts to a token that verifies.
		again := fr.AppendEncrypt(nil, msg, now, make([]byte, 16))
		if m2, _, err := fr.DecryptAt(again, time.Minute, now); err != nil || !bytes.Equal(m2, msg) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func BenchmarkEncrypt(b *testing.B) {
	k, _ := GenerateKey()
	f, _ := New(k)
	msg := bytes.Repeat([]byte("x"), 200)
	for b.Loop() {
		f.Encrypt(msg)
	}
}

func BenchmarkDecrypt(b *testing.B) {
	k, _ := GenerateKey()
	f, _ := New(k)
	tok, _ := f.Encrypt(bytes.Repeat([]byte("x"), 200))
	for b.Loop() {
		f.Decrypt(tok, time.Minute)
	}
}

func TestEncryptAppend(t *testing.T) {
	k, _ := GenerateKey()
	f, _ := New(k)
	dst := append(make([]byte, 0, 8), "prefix"...)
	out, err := f.EncryptAppend(dst, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, []byte("prefix")) {
		t.Fatalf("got %q, want it to start with the prefix", out)
	}
	msg, err := f.Decrypt(out[len("prefix"):], time.Minute)
	if err != nil || string(msg) != "hello" {
		t.Fatalf("Decrypt = %q, %v", msg, err)
	}
}
