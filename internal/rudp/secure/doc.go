// Package secure is the encryption layer of netkit's reliable UDP
// protocol (netkit udp send --secret): two sides that share a passphrase
// authenticate each other, agree on fresh keys, and then seal every frame
// so that it can be neither read, altered, forged nor replayed. Nothing in
// it is home-made: Argon2id stretches the passphrase, a Noise handshake
// (github.com/flynn/noise) authenticates and derives the keys, and
// ChaCha20-Poly1305 or AES-256-GCM seals the frames. Like package wire, it is sans-IO:
// functions and state over []byte, with no socket and no clock.
//
// # The key
//
// DeriveKey stretches the passphrase with Argon2id (time 2, 19 MiB, one
// thread: OWASP's recommended minimum) over a 16-byte salt into the
// 32-byte pre-shared key (PSK) of the handshake. The salt is not secret,
// but both sides must use the same one. The stretching is what makes a
// recorded handshake expensive to attack: anyone who has message 1 can
// test passphrases against it offline, one Argon2id run per guess.
//
// # The handshake
//
// The handshake is Noise_NNpsk0_25519_ChaChaPoly_BLAKE2s, two messages:
//
//	-> psk, e     message 1, Initiator.Hello   e (32 bytes) | encrypted payload | tag (16)
//	<- e, ee      message 2, Respond           e (32 bytes) | encrypted payload | tag (16)
//
// Both sides bring a fresh ephemeral X25519 key and no static key: what
// authenticates them is holding the PSK. Placed at 0, the PSK is mixed in
// before message 1 is written, so message 1's payload is already
// encrypted and authenticated under it, and a responder with another key
// fails to authenticate the very first message. The prologue, data both
// sides agree on without sending it (say a protocol version and the
// salt), is mixed in too: a mismatch fails the same way. The
// Diffie-Hellman of the two ephemeral keys (ee) gives the rest forward
// secrecy: a passphrase that leaks later does not open recorded sessions.
// Message 1's payload is the exception, since the PSK alone decrypts it,
// and it can be replayed, so it should carry nothing secret for long or
// harmful to repeat. A responder's keys are confirmed only by the first
// frame that opens with them.
//
// # Frames
//
// The end of the handshake splits two keys, one per direction: the
// initiator's sending key is the responder's receiving key and the other
// way round (Keys). A frame is sealed with ChaCha20-Poly1305, Noise's
// ChaChaPoly cipher, or with AES-256-GCM (AESGCM) where both sides agreed
// on it beforehand (NewInitiatorCipher, RespondCipher: on CPUs with AES
// instructions it is the faster), under an explicit 64-bit nonce rather than Noise's
// implicit counter, because UDP loses and reorders datagrams: the nonce is
// the frame's packet number, which the frame carries in the clear. The
// caller passes the clear header, packet number included, as additional
// data, so that it is authenticated too. A nonce must never be used twice
// with one Keys in one direction: packet numbers only go up, and a
// retransmission gets a new one. Sealing adds Overhead (16) bytes.
//
// # Replays
//
// Open alone would accept a recorded frame twice. A ReplayWindow per
// direction, in the manner of RFC 6479 and WireGuard, remembers the
// highest packet number accepted and a bitmap of the WindowSize below it:
// each number is accepted once, in any order within the window, and
// anything older is refused. The window moves only on Accept, called
// after Open succeeded, so a forged frame cannot push it forward; Check
// can drop a replay before paying for Open.
//
// # A wrong secret
//
// A wrong passphrase (or salt, or prologue) shows on the responder: Respond
// returns ErrAuth for message 1, at the cost of a few hashes, and the
// caller tells the user the secret is wrong. The initiator gets no
// message 2; whatever refusal the responder sends instead cannot be
// authenticated, since the two sides share no key. ErrMalformed, by
// contrast, is a datagram too short or too long to be a handshake message
// at all. After the handshake, a frame that fails Open is dropped without
// a word, like a lost datagram.
package secure
