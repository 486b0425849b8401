package secure

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"runtime"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/sys/cpu"
)

// Cipher is the AEAD that seals the frames after the handshake. Both
// sides must use the same one; the handshake itself is always Noise's
// ChaChaPoly. Both add Overhead bytes and take the same 64-bit nonces.
type Cipher uint8

// The ciphers.
const (
	// ChaCha20Poly1305 is the default, fast everywhere in software.
	ChaCha20Poly1305 Cipher = iota
	// AES256GCM (crypto/aes, crypto/cipher) is faster than
	// ChaCha20-Poly1305 on CPUs with AES and carry-less multiplication
	// instructions, and far slower on those without.
	AES256GCM
)

// String names the cipher as the Noise specification does.
func (c Cipher) String() string {
	switch c {
	case ChaCha20Poly1305:
		return "ChaChaPoly"
	case AES256GCM:
		return "AESGCM"
	}
	return fmt.Sprintf("Cipher(%d)", uint8(c))
}

// HasAESHardware reports whether this CPU runs AES-GCM in hardware, so
// that AES256GCM is worth offering: AES-NI and PCLMULQDQ on amd64, the
// AES and PMULL instructions on arm64, the CPACF on s390x.
func HasAESHardware() bool {
	switch runtime.GOARCH {
	case "amd64", "386":
		return cpu.X86.HasAES && cpu.X86.HasPCLMULQDQ
	case "arm64":
		return cpu.ARM64.HasAES && cpu.ARM64.HasPMULL
	case "s390x":
		return cpu.S390X.HasAES && cpu.S390X.HasAESGCM
	}
	return false
}

// newAEADFor returns the AEAD c keyed with key.
func newAEADFor(c Cipher, key []byte) (cipher.AEAD, error) {
	switch c {
	case ChaCha20Poly1305:
		aead, err := chacha20poly1305.New(key)
		if err != nil {
			// Only in FIPS 140-only mode, which forbids ChaCha20-Poly1305.
			return nil, fmt.Errorf("secure: %w", err)
		}
		return aead, nil
	case AES256GCM:
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("secure: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secure: %w", err)
		}
		return aead, nil
	}
	return nil, fmt.Errorf("secure: unknown cipher %v", c)
}

// putNonce writes n into nonce in the layout of Noise's cipher c: 32 zero
// bits, then n, little-endian for ChaChaPoly and big-endian for AESGCM.
func putNonce(c Cipher, nonce []byte, n uint64) {
	if c == AES256GCM {
		binary.BigEndian.PutUint64(nonce[4:], n)
		return
	}
	binary.LittleEndian.PutUint64(nonce[4:], n)
}
