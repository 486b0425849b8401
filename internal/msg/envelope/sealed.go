package envelope

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/box"
)

// A sealed token carries an envelope to a server known only by its X25519
// public key (golang.org/x/crypto/nacl/box: X25519, XSalsa20, Poly1305).
// Like a Fernet token it is URL-safe base64 with padding; its first byte
// tells the two apart (a Fernet token's is 0x80, so it starts "gA"):
//
//	request: 0x81 | client's ephemeral public key (32) | nonce (24) | box
//	reply:   0x82 | nonce (24) | box
//
// where box is nacl/box of the envelope between the client's ephemeral
// key and the server's key pair (16 bytes longer than the envelope). The
// server answers under the same pair, so only the holder of the
// ephemeral private key reads the reply.
const (
	SealedRequest = 0x81
	SealedReply   = 0x82
	keyLen        = 32
	nonceLen      = 24
	requestHeader = 1 + keyLen + nonceLen
	replyHeader   = 1 + nonceLen
)

// Errors of the sealed-token codec.
var (
	ErrSealed   = errors.New("envelope: invalid sealed token")
	ErrNotBoxed = errors.New("envelope: not a sealed token")
)

var b64 = base64.URLEncoding

// IsSealed reports whether token looks like a sealed request or reply
// rather than a Fernet token, by its first byte.
func IsSealed(token []byte) bool {
	if len(token) < 4 {
		return false
	}
	var first [3]byte
	if _, err := b64.Decode(first[:], token[:4]); err != nil {
		return false
	}
	return first[0] == SealedRequest || first[0] == SealedReply
}

// KeyPair is an X25519 key pair.
type KeyPair struct {
	Public, Private [keyLen]byte
}

// GenerateKeyPair returns a new random key pair.
func GenerateKeyPair() (*KeyPair, error) {
	pub, priv, err := box.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return &KeyPair{Public: *pub, Private: *priv}, nil
}

// KeyPairFromPrivate derives the public half of priv.
func KeyPairFromPrivate(priv [keyLen]byte) (*KeyPair, error) {
	pub, err := curve25519.X25519(priv[:], curve25519.Basepoint)
	if err != nil {
		return nil, err
	}
	kp := &KeyPair{Private: priv}
	copy(kp.Public[:], pub)
	return kp, nil
}

// EncodeKey and DecodeKey write and read a 32-byte X25519 key in
// URL-safe base64.
func EncodeKey(k [keyLen]byte) string { return b64.EncodeToString(k[:]) }

// DecodeKey is EncodeKey's inverse.
func DecodeKey(s string) ([keyLen]byte, error) {
	var k [keyLen]byte
	b, err := b64.DecodeString(s)
	if err != nil || len(b) != keyLen {
		return k, errors.New("envelope: an X25519 key is 32 bytes in URL-safe base64 (44 characters)")
	}
	copy(k[:], b)
	return k, nil
}

// Shared is the precomputed nacl/box key between two parties.
type Shared [keyLen]byte

// Precompute returns the key shared by priv and peer.
func Precompute(peer, priv *[keyLen]byte) *Shared {
	var s Shared
	box.Precompute((*[keyLen]byte)(&s), peer, priv)
	return &s
}

// SealRequest seals msg from the ephemeral pair eph to the server's public
// key; the shared key it returns opens the reply.
func SealRequest(msg []byte, eph *KeyPair, server *[keyLen]byte) ([]byte, *Shared) {
	sh := Precompute(server, &eph.Private)
	raw := make([]byte, requestHeader, requestHeader+len(msg)+box.Overhead)
	raw[0] = SealedRequest
	copy(raw[1:], eph.Public[:])
	var nonce [nonceLen]byte
	rand.Read(nonce[:])
	copy(raw[1+keyLen:], nonce[:])
	raw = box.SealAfterPrecomputation(raw, msg, &nonce, (*[keyLen]byte)(sh))
	return encode(raw), sh
}

// OpenRequest opens a sealed request with the server's key pair. It
// returns the envelope's bytes, the client's ephemeral public key and the
// shared key to seal the reply with.
func OpenRequest(token []byte, server *KeyPair) (msg []byte, client [keyLen]byte, sh *Shared, err error) {
	raw, err := decode(token, SealedRequest, requestHeader)
	if err != nil {
		return nil, client, nil, err
	}
	copy(client[:], raw[1:1+keyLen])
	var nonce [nonceLen]byte
	copy(nonce[:], raw[1+keyLen:requestHeader])
	sh = Precompute(&client, &server.Private)
	msg, ok := box.OpenAfterPrecomputation(nil, raw[requestHeader:], &nonce, (*[keyLen]byte)(sh))
	if !ok {
		return nil, client, nil, fmt.Errorf("%w: does not open with this server's key", ErrSealed)
	}
	return msg, client, sh, nil
}

// SealReply seals msg under a shared key.
func SealReply(msg []byte, sh *Shared) []byte {
	raw := make([]byte, replyHeader, replyHeader+len(msg)+box.Overhead)
	raw[0] = SealedReply
	var nonce [nonceLen]byte
	rand.Read(nonce[:])
	copy(raw[1:], nonce[:])
	raw = box.SealAfterPrecomputation(raw, msg, &nonce, (*[keyLen]byte)(sh))
	return encode(raw)
}

// OpenReply opens a sealed reply under a shared key.
func OpenReply(token []byte, sh *Shared) ([]byte, error) {
	raw, err := decode(token, SealedReply, replyHeader)
	if err != nil {
		return nil, err
	}
	var nonce [nonceLen]byte
	copy(nonce[:], raw[1:replyHeader])
	msg, ok := box.OpenAfterPrecomputation(nil, raw[replyHeader:], &nonce, (*[keyLen]byte)(sh))
	if !ok {
		return nil, fmt.Errorf("%w: does not open with this key", ErrSealed)
	}
	return msg, nil
}

func encode(raw []byte) []byte {
	out := make([]byte, b64.EncodedLen(len(raw)))
	b64.Encode(out, raw)
	return out
}

func decode(token []byte, kind byte, header int) ([]byte, error) {
	raw := make([]byte, b64.DecodedLen(len(token)))
	n, err := b64.Decode(raw, token)
	if err != nil {
		return nil, fmt.Errorf("%w: bad base64", ErrSealed)
	}
	raw = raw[:n]
	if len(raw) == 0 || raw[0] != kind {
		return nil, ErrNotBoxed
	}
	if len(raw) < header+box.Overhead {
		return nil, fmt.Errorf("%w: too short", ErrSealed)
	}
	return raw, nil
}
