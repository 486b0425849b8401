package secure

import (
	"crypto/rand"
	"fmt"

	"github.com/flynn/noise"
	"golang.org/x/crypto/curve25519"
)

// HandshakeOverhead is the number of bytes a handshake message adds to its
// payload: the sender's ephemeral public key and the tag.
const HandshakeOverhead = dhLen + Overhead

// MaxPayload is the largest payload a handshake message carries: Noise
// caps a message at 65535 bytes.
const MaxPayload = noise.MaxMsgLen - HandshakeOverhead

const dhLen = 32

// suite is Noise_NNpsk0_25519_ChaChaPoly_BLAKE2s with the pattern and the
// PSK placement of config.
var suite = noise.NewCipherSuite(noise.DH25519, noise.CipherChaChaPoly, noise.HashBLAKE2s)

func config(psk *[KeyLen]byte, prologue []byte, initiator bool) noise.Config {
	return noise.Config{
		CipherSuite:           suite,
		Random:                rand.Reader,
		Pattern:               noise.HandshakeNN,
		Initiator:             initiator,
		Prologue:              prologue,
		PresharedKey:          psk[:],
		PresharedKeyPlacement: 0,
	}
}

// checkLen reports ErrMalformed for a handshake message that cannot be
// one, before Noise takes it in.
func checkLen(msg []byte) error {
	if len(msg) < HandshakeOverhead || len(msg) > noise.MaxMsgLen {
		return fmt.Errorf("%w: %d bytes, want %d to %d", ErrMalformed, len(msg), HandshakeOverhead, noise.MaxMsgLen)
	}
	return nil
}

func checkPayload(payload []byte) error {
	if len(payload) > MaxPayload {
		return fmt.Errorf("secure: handshake payload is %d bytes, max %d", len(payload), MaxPayload)
	}
	return nil
}

// An Initiator is the side that starts the handshake: it sends message 1
// (Hello) and reads the responder's message 2 (Finish). It is made with
// NewInitiator, used for one handshake, and not safe for concurrent use.
type Initiator struct {
	hs     *noise.HandshakeState
	cipher Cipher // what the frames are sealed with
	sent   bool   // Hello has been called
	done   bool   // Finish has succeeded
}

// NewInitiator starts a handshake authenticated by psk, the key from
// DeriveKey. The prologue is data both sides already agree on, such as a
// protocol version and the salt; it is not sent, but a responder given
// another prologue rejects message 1 with ErrAuth.
func NewInitiator(psk [KeyLen]byte, prologue []byte) (*Initiator, error) {
	return NewInitiatorCipher(psk, prologue, ChaCha20Poly1305)
}

// NewInitiatorCipher is NewInitiator whose Keys seal the frames with c.
// The two sides must agree on c beforehand, and should bind it into the
// prologue, so that a choice altered on the way fails the handshake.
func NewInitiatorCipher(psk [KeyLen]byte, prologue []byte, c Cipher) (*Initiator, error) {
	hs, err := noise.NewHandshakeState(config(&psk, prologue, true))
	if err != nil {
		return nil, fmt.Errorf("secure: %w", err)
	}
	return &Initiator{hs: hs, cipher: c}, nil
}

// Hello appends to dst handshake message 1, HandshakeOverhead +
// len(payload) bytes: a fresh ephemeral public key, then payload
// encrypted under a key from psk and that ephemeral key. To retransmit it,
// send the same bytes again; Hello may be called only once.
//
// The payload is confidential and authenticated but, as Noise's 0-RTT data,
// has no forward secrecy (the psk alone decrypts it) and can be replayed
// to a responder: carry nothing in it whose repetition matters.
func (i *Initiator) Hello(dst, payload []byte) ([]byte, error) {
	if i.sent {
		return nil, ErrOutOfOrder
	}
	if err := checkPayload(payload); err != nil {
		return nil, err
	}
	msg1, _, _, err := i.hs.WriteMessage(dst, payload)
	if err != nil {
		return nil, fmt.Errorf("secure: writing message 1: %w", err)
	}
	i.sent = true
	return msg1, nil
}

// Finish reads handshake message 2 and returns its payload and the
// transport keys. A message 2 that does not authenticate (forged, altered,
// or an answer to another Hello) is ErrAuth, one that is too short or too
// long ErrMalformed; after either, the Initiator is as before the call and
// Finish may be called again with the next message 2 to arrive, so a
// forged datagram cannot break a handshake.
func (i *Initiator) Finish(msg2 []byte) (payload []byte, k *Keys, err error) {
	if !i.sent || i.done {
		return nil, nil, ErrOutOfOrder
	}
	if err := checkLen(msg2); err != nil {
		return nil, nil, err
	}
	// Noise rolls its state back when the payload fails to decrypt, but not
	// when the Diffie-Hellman fails, as it does on a low-order point: a
	// forged message 2 carrying one would leave the state unable to read the
	// genuine one. So do that Diffie-Hellman first, on the side.
	if _, err := curve25519.X25519(i.hs.LocalEphemeral().Private, msg2[:dhLen]); err != nil {
		return nil, nil, ErrAuth
	}
	payload, send, recv, err := i.hs.ReadMessage(nil, msg2)
	if err != nil {
		return nil, nil, ErrAuth
	}
	if k, err = newKeys(send, recv, i.cipher); err != nil {
		return nil, nil, err
	}
	i.done = true
	i.hs = nil // the ephemeral private key is of no more use
	return payload, k, nil
}

// Respond is the responder's side of the handshake, in one call since it
// has no state to keep between messages: it reads msg1, an Initiator's
// Hello, and answers it with msg2, appended to dst, carrying reply (also
// HandshakeOverhead + len(reply) bytes). It returns the payload of msg1 and
// the transport keys.
//
// A msg1 made with another psk or another prologue is ErrAuth: that is
// how a wrong secret shows. A msg1 too short or too long to be a handshake
// message is ErrMalformed.
//
// Message 1 can be replayed, and Respond answers a replay as it answered
// the original, with keys that nobody else holds since the replayer lacks
// the ephemeral private key. Take the keys as confirmed, and the peer as
// present, only once a first frame from the initiator opens with them.
func Respond(psk [KeyLen]byte, prologue, msg1, reply, dst []byte) (payload, msg2 []byte, k *Keys, err error) {
	return RespondCipher(psk, prologue, msg1, reply, dst, ChaCha20Poly1305)
}

// RespondCipher is Respond whose Keys seal the frames with c: see
// NewInitiatorCipher.
func RespondCipher(psk [KeyLen]byte, prologue, msg1, reply, dst []byte, c Cipher) (payload, msg2 []byte, k *Keys, err error) {
	if err := checkPayload(reply); err != nil {
		return nil, nil, nil, err
	}
	if err := checkLen(msg1); err != nil {
		return nil, nil, nil, err
	}
	hs, err := noise.NewHandshakeState(config(&psk, prologue, false))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("secure: %w", err)
	}
	if payload, _, _, err = hs.ReadMessage(nil, msg1); err != nil {
		return nil, nil, nil, ErrAuth
	}
	// The initiator's send key comes first out of the Split, for both.
	msg2, recv, send, err := hs.WriteMessage(dst, reply)
	if err != nil {
		// Only on a low-order ephemeral key, which message 1's tag
		// authenticated: a peer that holds the key but misbehaves.
		return nil, nil, nil, fmt.Errorf("secure: writing message 2: %w", err)
	}
	if k, err = newKeys(send, recv, c); err != nil {
		return nil, nil, nil, err
	}
	return payload, msg2, k, nil
}
