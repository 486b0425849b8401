package secure

import (
	"bytes"
	"math"
	"testing"

	"github.com/flynn/noise"
)

func TestSealOpen(t *testing.T) {
	ik, rk := pair(t)
	tests := []struct {
		name      string
		n         uint64
		ad, plain []byte
	}{
		{"empty", 0, nil, nil},
		{"one byte", 1, nil, []byte{0}},
		{"with ad", 2, []byte("header"), []byte("body")},
		{"full datagram", 3, []byte{0x12, 0x34}, bytes.Repeat([]byte{0xab}, 1445)},
		{"largest nonce", MaxNonce, nil, []byte("last")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := ik.Seal([]byte("prefix"), tt.n, tt.ad, tt.plain)
			if !bytes.HasPrefix(frame, []byte("prefix")) {
				t.Fatalf("Seal dropped dst")
			}
			frame = frame[len("prefix"):]
			if got, want := len(frame), len(tt.plain)+Overhead; got != want {
				t.Errorf("len(frame) = %d, want %d", got, want)
			}
			got, err := rk.Open([]byte("p"), tt.n, tt.ad, frame)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if want := append([]byte("p"), tt.plain...); !bytes.Equal(got, want) {
				t.Errorf("Open = %q, want %q", got, want)
			}
		})
	}
}

func TestOpenRejects(t *testing.T) {
	ik, rk := pair(t)
	const n = 42
	ad, plain := []byte("header"), []byte("attack at dawn")
	frame := ik.Seal(nil, n, ad, plain)
	flip := func(b []byte, i int) []byte {
		b = bytes.Clone(b)
		b[i] ^= 1
		return b
	}
	tests := []struct {
		name      string
		keys      *Keys // nil: the responder's
		n         uint64
		ad, frame []byte
	}{
		{"ciphertext altered", nil, n, ad, flip(frame, 0)},
		{"tag altered", nil, n, ad, flip(frame, len(frame)-1)},
		{"ad altered", nil, n, flip(ad, 3), frame},
		{"ad dropped", nil, n, nil, frame},
		{"other nonce", nil, n + 1, ad, frame},
		{"truncated", nil, n, ad, frame[:len(frame)-1]},
		{"shorter than a tag", nil, n, ad, frame[:Overhead-1]},
		{"empty", nil, n, ad, nil},
		{"byte appended", nil, n, ad, append(bytes.Clone(frame), 0)},
		{"reflected to its sender", ik, n, ad, frame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := tt.keys
			if keys == nil {
				keys = rk
			}
			got, err := keys.Open(nil, tt.n, tt.ad, tt.frame)
			if err != ErrAuth {
				t.Errorf("Open error = %v, want ErrAuth itself", err)
			}
			if got != nil {
				t.Errorf("Open = %q with its error, want nil", got)
			}
		})
	}
}

// TestKeysDirectional checks that each side sends with the key the other
// receives with, and that the two directions have different keys.
func TestKeysDirectional(t *testing.T) {
	ik, rk := pair(t)
	tests := []struct {
		name     string
		seal     *Keys
		open     *Keys
		wantOpen bool
	}{
		{"initiator to responder", ik, rk, true},
		{"responder to initiator", rk, ik, true},
		{"initiator to itself", ik, ik, false},
		{"responder to itself", rk, rk, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := tt.seal.Seal(nil, 9, nil, []byte("hello"))
			_, err := tt.open.Open(nil, 9, nil, frame)
			if got := err == nil; got != tt.wantOpen {
				t.Errorf("opened = %v (err %v), want %v", got, err, tt.wantOpen)
			}
		})
	}
	// Same nonce, same plaintext: different keys give different frames.
	if bytes.Equal(ik.Seal(nil, 5, nil, []byte("x")), rk.Seal(nil, 5, nil, []byte("x"))) {
		t.Error("initiator and responder seal with the same key")
	}
}

// TestNoiseCompatible checks that Seal and Open are Noise's ChaChaPoly
// and AESGCM ciphers with an explicit nonce: the frames are byte for
// byte those of noise.CipherState.Cipher().
func TestNoiseCompatible(t *testing.T) {
	for _, c := range []struct {
		cipher Cipher
		suite  noise.CipherSuite
	}{
		{ChaCha20Poly1305, suite},
		{AES256GCM, noise.NewCipherSuite(noise.DH25519, noise.CipherAESGCM, noise.HashBLAKE2s)},
	} {
		t.Run(c.cipher.String(), func(t *testing.T) { checkNoiseCompatible(t, c.cipher, c.suite) })
	}
}

func checkNoiseCompatible(t *testing.T, c Cipher, suite noise.CipherSuite) {
	sendKey, recvKey := [32]byte{1, 2, 3}, [32]byte{4, 5, 6}
	k, err := newKeys(noise.UnsafeNewCipherState(suite, sendKey, 0), noise.UnsafeNewCipherState(suite, recvKey, 0), c)
	if err != nil {
		t.Fatal(err)
	}
	if k.Cipher() != c {
		t.Errorf("Cipher() = %v, want %v", k.Cipher(), c)
	}
	// The peer's ciphers: it receives with sendKey and sends with recvKey.
	peerRecv := noise.UnsafeNewCipherState(suite, sendKey, 0).Cipher()
	peerSend := noise.UnsafeNewCipherState(suite, recvKey, 0).Cipher()
	ad, plain := []byte("ad"), []byte("plaintext")
	for _, n := range []uint64{0, 1, 255, 256, 1 << 32, MaxNonce} {
		sealed := k.Seal(nil, n, ad, plain)
		if want := noise.UnsafeNewCipherState(suite, sendKey, 0).Cipher().Encrypt(nil, n, ad, plain); !bytes.Equal(sealed, want) {
			t.Errorf("n=%d: Seal = %x, Noise makes %x", n, sealed, want)
		}
		if got, err := peerRecv.Decrypt(nil, n, ad, sealed); err != nil || !bytes.Equal(got, plain) {
			t.Errorf("n=%d: Noise opens Seal's frame as %q, %v", n, got, err)
		}
		if got, err := k.Open(nil, n, ad, peerSend.Encrypt(nil, n, ad, plain)); err != nil || !bytes.Equal(got, plain) {
			t.Errorf("n=%d: Open of Noise's frame = %q, %v", n, got, err)
		}
	}
	// Noise can seal with the nonce it reserves; Open refuses it all the same.
	if got, err := k.Open(nil, math.MaxUint64, ad, peerSend.Encrypt(nil, math.MaxUint64, ad, plain)); err != ErrAuth {
		t.Errorf("Open with nonce 2^64-1 = %q, %v; want ErrAuth", got, err)
	}
}

func TestInPlace(t *testing.T) {
	ik, rk := pair(t)
	plain := []byte("sealed and opened in one buffer")
	buf := make([]byte, len(plain), len(plain)+Overhead)
	copy(buf, plain)

	frame := ik.Seal(buf[:0], 3, nil, buf)
	if &frame[0] != &buf[0] {
		t.Fatal("Seal in place moved the buffer")
	}
	got, err := rk.Open(frame[:0], 3, nil, frame)
	if err != nil {
		t.Fatalf("Open in place: %v", err)
	}
	if &got[0] != &buf[0] {
		t.Error("Open in place moved the buffer")
	}
	if !bytes.Equal(got, plain) {
		t.Errorf("Open in place = %q, want %q", got, plain)
	}
}

// TestSealWhileOpen checks, under the race detector, that one goroutine
// may Seal while another Opens with the same Keys, as Keys documents.
func TestSealWhileOpen(t *testing.T) {
	ik, rk := pair(t)
	const frames = 200
	incoming := make([][]byte, frames)
	for n := range incoming {
		incoming[n] = rk.Seal(nil, uint64(n), nil, []byte("to initiator"))
	}
	sealed := make(chan []byte, frames)
	go func() {
		defer close(sealed)
		for n := range uint64(frames) {
			sealed <- ik.Seal(nil, n, nil, []byte("to responder"))
		}
	}()
	for n, f := range incoming {
		if _, err := ik.Open(nil, uint64(n), nil, f); err != nil {
			t.Errorf("initiator Open(%d): %v", n, err)
		}
	}
	var n uint64
	for f := range sealed {
		if _, err := rk.Open(nil, n, nil, f); err != nil {
			t.Errorf("responder Open(%d): %v", n, err)
		}
		n++
	}
}

func TestSealReservedNonce(t *testing.T) {
	ik, _ := pair(t)
	defer func() {
		if recover() == nil {
			t.Error("Seal with nonce 2^64-1 did not panic")
		}
	}()
	ik.Seal(nil, math.MaxUint64, nil, []byte("x"))
}

func TestAllocs(t *testing.T) {
	ik, rk := pair(t)
	plain := make([]byte, 1445)
	ad := []byte{1, 2, 3, 4}
	frame := ik.Seal(nil, 1, ad, plain)
	forged := bytes.Clone(frame)
	forged[0] ^= 1
	sealBuf := make([]byte, 0, len(plain)+Overhead)
	openBuf := make([]byte, 0, len(plain))
	inPlace := make([]byte, len(frame))

	tests := []struct {
		name string
		f    func()
	}{
		{"Seal", func() { ik.Seal(sealBuf, 2, ad, plain) }},
		{"Open", func() {
			if _, err := rk.Open(openBuf, 1, ad, frame); err != nil {
				t.Fatal(err)
			}
		}},
		{"Open in place", func() {
			copy(inPlace, frame)
			if _, err := rk.Open(inPlace[:0], 1, ad, inPlace); err != nil {
				t.Fatal(err)
			}
		}},
		{"Open of a forged frame", func() {
			if _, err := rk.Open(openBuf, 1, ad, forged); err == nil {
				t.Fatal("forged frame opened")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := testing.AllocsPerRun(100, tt.f); got != 0 {
				t.Errorf("allocations = %v, want 0", got)
			}
		})
	}
}

func BenchmarkSeal(b *testing.B) {
	for _, c := range []Cipher{ChaCha20Poly1305, AES256GCM} {
		b.Run(c.String(), func(b *testing.B) {
			cs := noise.UnsafeNewCipherState(suite, [32]byte{1}, 0)
			ik, err := newKeys(cs, cs, c)
			if err != nil {
				b.Fatal(err)
			}
			plain := make([]byte, 1435)
			ad := make([]byte, 8)
			buf := make([]byte, 0, len(plain)+Overhead)
			b.SetBytes(int64(len(plain)))
			b.ReportAllocs()
			var n uint64
			for b.Loop() {
				ik.Seal(buf, n, ad, plain)
				n++
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	ik, rk := pair(b)
	plain := make([]byte, 1445)
	ad := make([]byte, 8)
	frame := ik.Seal(nil, 1, ad, plain)
	buf := make([]byte, 0, len(plain))
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rk.Open(buf, 1, ad, frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHandshake(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		pair(b)
	}
}

func BenchmarkDeriveKey(b *testing.B) {
	salt := testSalt(0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DeriveKey("correct horse battery staple", salt); err != nil {
			b.Fatal(err)
		}
	}
}
