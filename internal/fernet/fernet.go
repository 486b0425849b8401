// Package fernet implements Fernet tokens (https://github.com/fernet/spec),
// byte-compatible with Python's cryptography.fernet, including MultiFernet
// key rotation.
//
// A token is the URL-safe base64 (with padding) of
//
//	version (1 byte, 0x80) | timestamp (8 bytes, big-endian Unix seconds)
//	| IV (16 bytes) | AES-128-CBC ciphertext, PKCS #7 padded (16n bytes, n >= 1)
//	| HMAC-SHA256 (32 bytes) over everything before it
//
// under a 32-byte key whose first half signs and second half encrypts.
// Everything here is crypto/aes, crypto/cipher and crypto/hmac: no
// primitive of its own. github.com/fernet/fernet-go was tried first and
// failed the spec's vectors (it takes no IV or time for them and panics on
// a signed token with no ciphertext), hence this package.
package fernet

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strings"
	"sync"
	"time"
)

// Layout of a decoded token.
const (
	Version    = 0x80
	headerLen  = 1 + 8 + aes.BlockSize // version, timestamp, IV
	macLen     = sha256.Size
	minLen     = headerLen + aes.BlockSize + macLen
	KeySize    = 32
	MaxSkew    = 60 * time.Second // tokens from further in the future are refused
	ivOffset   = 9
	timeOffset = 1
)

// Errors. ErrInvalid is returned for every token that does not verify,
// whatever the reason, as the spec asks; the others wrap it.
var (
	ErrInvalid = errors.New("fernet: invalid token")
	ErrExpired = fmt.Errorf("%w: expired", ErrInvalid)
	ErrFuture  = fmt.Errorf("%w: from the future (clock skew over 60s)", ErrInvalid)
	ErrNoKey   = errors.New("fernet: no key")
	ErrBadKey  = errors.New("fernet: a key is 32 bytes in URL-safe base64 (44 characters)")
)

var (
	b64    = base64.URLEncoding
	errMAC = fmt.Errorf("%w: bad signature", ErrInvalid)
)

// Key is a Fernet key: 16 bytes of HMAC key, then 16 bytes of AES key.
type Key [KeySize]byte

// GenerateKey returns a new random key.
func GenerateKey() (*Key, error) {
	var k Key
	if _, err := rand.Read(k[:]); err != nil {
		return nil, err
	}
	return &k, nil
}

// DecodeKey decodes a key in URL-safe base64, as Python's
// Fernet.generate_key() prints it (standard base64 is accepted too).
func DecodeKey(s string) (*Key, error) {
	s = strings.TrimSpace(s)
	b, err := base64.URLEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.StdEncoding.DecodeString(s)
	}
	if err != nil || len(b) != KeySize {
		return nil, ErrBadKey
	}
	var k Key
	copy(k[:], b)
	return &k, nil
}

// Encode returns the key in URL-safe base64.
func (k *Key) Encode() string { return b64.EncodeToString(k[:]) }

func (k *Key) signKey() []byte  { return k[:16] }
func (k *Key) cryptKey() []byte { return k[16:] }

// Fernet encrypts with its first key and decrypts with any of them, as
// Python's MultiFernet. It is safe for concurrent use.
type Fernet struct {
	keys  []*Key
	state []*keyState // per key, in the same order
}

// keyState is what each use of a key would otherwise rebuild: its AES
// block (safe for concurrent use) and a pool of HMAC states.
type keyState struct {
	block cipher.Block
	macs  sync.Pool
}

func newKeyState(k *Key) *keyState {
	block, _ := aes.NewCipher(k.cryptKey())
	ks := &keyState{block: block}
	sign := k.signKey()
	ks.macs.New = func() any { return hmac.New(sha256.New, sign) }
	return ks
}

func (ks *keyState) mac() hash.Hash {
	m := ks.macs.Get().(hash.Hash)
	m.Reset()
	return m
}

// New returns a Fernet for keys, the first of which encrypts.
func New(keys ...*Key) (*Fernet, error) {
	if len(keys) == 0 {
		return nil, ErrNoKey
	}
	f := &Fernet{keys: keys}
	for _, k := range keys {
		f.state = append(f.state, newKeyState(k))
	}
	return f, nil
}

// Keys returns the keys, the first being the one that encrypts.
func (f *Fernet) Keys() []*Key { return f.keys }

// Encrypt returns a token holding msg, stamped now with a random IV.
func (f *Fernet) Encrypt(msg []byte) ([]byte, error) {
	return f.EncryptAppend(nil, msg)
}

// EncryptAppend is Encrypt appending the token to dst.
func (f *Fernet) EncryptAppend(dst, msg []byte) ([]byte, error) {
	var iv [aes.BlockSize]byte
	if _, err := rand.Read(iv[:]); err != nil {
		return dst, err
	}
	return f.AppendEncrypt(dst, msg, time.Now(), iv[:]), nil
}

// AppendEncrypt appends to dst the token for msg with timestamp now and
// the given 16-byte IV. Only tests and callers with their own random IV
// should use it: an IV must never repeat under one key.
func (f *Fernet) AppendEncrypt(dst, msg []byte, now time.Time, iv []byte) []byte {
	ks := f.state[0]
	padded := len(msg)/aes.BlockSize*aes.BlockSize + aes.BlockSize
	rawLen := headerLen + padded + macLen
	// The raw token is scratch: only its base64 is kept, in dst, which
	// grows once.
	scratch := rawPool.Get().(*[]byte)
	if cap(*scratch) < rawLen {
		*scratch = make([]byte, rawLen)
	}
	raw := (*scratch)[:rawLen]
	raw[0] = Version
	binary.BigEndian.PutUint64(raw[timeOffset:], uint64(now.Unix()))
	copy(raw[ivOffset:headerLen], iv)
	body := raw[headerLen : headerLen+padded]
	copy(body, msg)
	pad := byte(padded - len(msg))
	for i := len(msg); i < padded; i++ {
		body[i] = pad
	}
	cipher.NewCBCEncrypter(ks.block, iv).CryptBlocks(body, body)
	mac := ks.mac()
	mac.Write(raw[:headerLen+padded])
	mac.Sum(raw[:headerLen+padded])
	ks.macs.Put(mac)
	dst = slices.Grow(dst, b64.EncodedLen(rawLen))
	n := len(dst)
	dst = dst[:n+b64.EncodedLen(rawLen)]
	b64.Encode(dst[n:], raw)
	if rawLen <= maxPooledRaw {
		rawPool.Put(scratch)
	}
	return dst
}

// rawPool holds the scratch buffers of AppendEncrypt; those over
// maxPooledRaw are left to the collector, so that one large message does
// not pin its buffer.
var rawPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

const maxPooledRaw = 16 << 10

// Decrypt verifies token with every key in turn and returns its message.
// ttl <= 0 disables the age check (but not the future check).
func (f *Fernet) Decrypt(token []byte, ttl time.Duration) ([]byte, error) {
	msg, _, err := f.DecryptAt(token, ttl, time.Now())
	return msg, err
}

// DecryptAt is Decrypt at the time now; it also returns the token's
// timestamp.
func (f *Fernet) DecryptAt(token []byte, ttl time.Duration, now time.Time) ([]byte, time.Time, error) {
	raw, ts, err := Parse(token)
	if err != nil {
		return nil, time.Time{}, err
	}
	for _, ks := range f.state {
		msg, err := open(raw, ks)
		if errors.Is(err, errMAC) {
			continue
		}
		if err != nil {
			return nil, ts, err
		}
		// The time is checked once the token is known to be authentic,
		// so that "expired" is never said of a forgery.
		if ttl > 0 && now.Sub(ts) > ttl {
			return nil, ts, ErrExpired
		}
		if ts.Sub(now) > MaxSkew {
			return nil, ts, ErrFuture
		}
		return msg, ts, nil
	}
	return nil, ts, fmt.Errorf("%w: signature does not match any key", ErrInvalid)
}

// Timestamp returns when token was made, without verifying it.
func Timestamp(token []byte) (time.Time, error) {
	_, ts, err := Parse(token)
	return ts, err
}

// Parse decodes a token's base64 and checks its framing (version, length)
// without verifying its MAC; it returns the raw bytes and the timestamp.
func Parse(token []byte) ([]byte, time.Time, error) {
	if len(token) == 0 || len(token)%4 != 0 {
		return nil, time.Time{}, fmt.Errorf("%w: not base64 of a token", ErrInvalid)
	}
	raw := make([]byte, b64.DecodedLen(len(token)))
	n, err := b64.Decode(raw, token)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: bad base64", ErrInvalid)
	}
	raw = raw[:n]
	if len(raw) < minLen {
		return nil, time.Time{}, fmt.Errorf("%w: too short", ErrInvalid)
	}
	if raw[0] != Version {
		return nil, time.Time{}, fmt.Errorf("%w: unknown version 0x%02x", ErrInvalid, raw[0])
	}
	if (len(raw)-headerLen-macLen)%aes.BlockSize != 0 {
		return nil, time.Time{}, fmt.Errorf("%w: ciphertext not a whole number of blocks", ErrInvalid)
	}
	ts := binary.BigEndian.Uint64(raw[timeOffset:])
	if ts > 1<<62 {
		return nil, time.Time{}, fmt.Errorf("%w: timestamp out of range", ErrInvalid)
	}
	return raw, time.Unix(int64(ts), 0), nil
}

// open checks raw's MAC under k, then decrypts and unpads it.
func open(raw []byte, ks *keyState) ([]byte, error) {
	n := len(raw) - macLen
	mac := ks.mac()
	mac.Write(raw[:n])
	var sum [macLen]byte
	ok := hmac.Equal(mac.Sum(sum[:0]), raw[n:])
	ks.macs.Put(mac)
	if !ok {
		return nil, errMAC
	}
	// raw is Parse's own copy, so the ciphertext is decrypted in place.
	body := raw[headerLen:n]
	cipher.NewCBCDecrypter(ks.block, raw[ivOffset:headerLen]).CryptBlocks(body, body)
	pad := int(body[len(body)-1])
	if pad == 0 || pad > aes.BlockSize {
		return nil, fmt.Errorf("%w: bad padding", ErrInvalid)
	}
	for _, b := range body[len(body)-pad:] {
		if int(b) != pad {
			return nil, fmt.Errorf("%w: bad padding", ErrInvalid)
		}
	}
	return body[:len(body)-pad], nil
}
