package secure

import (
	"crypto/cipher"

	"github.com/flynn/noise"
	"golang.org/x/crypto/chacha20poly1305"
)

// Overhead is the number of bytes Seal adds to a plaintext: the Poly1305
// tag.
const Overhead = chacha20poly1305.Overhead

// MaxNonce is the largest nonce Seal and Open take: Noise reserves
// 2^64-1 for rekeying.
const MaxNonce = noise.MaxNonce

// Keys are one side's transport keys, from the Noise Split at the end of
// the handshake: one key to send with, another to receive with. The
// initiator's sending key is the responder's receiving key and the other
// way round, so a frame reflected back to its sender does not open.
//
// Keys are made by Initiator.Finish and Respond; the zero value is not
// usable. One goroutine may Seal while another Opens, but two concurrent
// Seals, or two concurrent Opens, need the caller's lock: each direction
// builds its nonce in a buffer of its own.
type Keys struct {
	send, recv direction
}

// direction is the AEAD of one direction and the buffer its nonces are
// built in. The buffer lives here rather than on the stack because
// cipher.AEAD is an interface: the compiler cannot see that Seal and Open
// do not keep the nonce, so a local array would escape to the heap, one
// allocation per frame. (noise.Cipher has the same cost, which is why the
// keys are taken out of Noise's CipherStates rather than used through
// them.)
type direction struct {
	aead   cipher.AEAD
	cipher Cipher
	nonce  [chacha20poly1305.NonceSize]byte
}

// newKeys builds Keys sealing with c from the CipherStates of a finished
// handshake. The AEAD is the one Noise's cipher c wraps, keyed with the
// same key, and nonceFor builds the same nonce, so frames are byte for
// byte what a CipherState of c would make.
func newKeys(send, recv *noise.CipherState, c Cipher) (*Keys, error) {
	var k Keys
	var err error
	if k.send, err = newDirection(send, c); err != nil {
		return nil, err
	}
	if k.recv, err = newDirection(recv, c); err != nil {
		return nil, err
	}
	return &k, nil
}

func newDirection(cs *noise.CipherState, c Cipher) (direction, error) {
	key := cs.UnsafeKey()
	aead, err := newAEADFor(c, key[:])
	return direction{aead: aead, cipher: c}, err
}

// Cipher reports which AEAD the keys seal with.
func (k *Keys) Cipher() Cipher { return k.send.cipher }

// nonceFor returns n as a nonce in Noise's layout for the cipher.
func (d *direction) nonceFor(n uint64) []byte {
	putNonce(d.cipher, d.nonce[:], n)
	return d.nonce[:]
}

// Seal appends to dst the encryption of plaintext under nonce n, with ad
// as additional authenticated data, followed by the tag: len(plaintext) +
// Overhead bytes. It allocates only if dst lacks the capacity. To seal in
// place, pass plaintext[:0] as dst.
//
// The caller must never seal twice with the same n: with either AEAD a
// repeated nonce gives away the XOR of the two plaintexts and lets the
// tag key be recovered, which breaks authentication. A packet number that
// only ever goes up, never reused even for a retransmission, meets this.
// Seal panics if n is above MaxNonce.
func (k *Keys) Seal(dst []byte, n uint64, ad, plaintext []byte) []byte {
	if n > MaxNonce {
		panic("secure: nonce 2^64-1 is reserved")
	}
	return k.send.aead.Seal(dst, k.send.nonceFor(n), plaintext, ad)
}

// Open authenticates ciphertext (as made by the peer's Seal) and ad under
// nonce n, and appends the plaintext to dst. It returns ErrAuth, and
// nothing else, if they do not authenticate, or if n is above MaxNonce,
// which no peer seals with. It allocates only if dst lacks the capacity,
// even on failure. To open in place, pass ciphertext[:0] as dst; a failed
// Open may then have overwritten ciphertext.
//
// Open does not check for replays: pass n to a ReplayWindow after Open
// succeeds.
func (k *Keys) Open(dst []byte, n uint64, ad, ciphertext []byte) ([]byte, error) {
	if n > MaxNonce {
		return nil, ErrAuth
	}
	out, err := k.recv.aead.Open(dst, k.recv.nonceFor(n), ciphertext, ad)
	if err != nil {
		return nil, ErrAuth
	}
	return out, nil
}
