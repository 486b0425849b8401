package secure

import (
	"fmt"

	"golang.org/x/crypto/argon2"
)

// SaltLen is the length of the salt DeriveKey takes.
const SaltLen = 16

// KeyLen is the length of the key DeriveKey returns: a Noise pre-shared
// key.
const KeyLen = 32

// The Argon2id parameters: OWASP's recommended minimum (time 2, 19 MiB,
// one thread). Both sides must derive with the same ones, so changing them
// is a protocol change.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
)

// DeriveKey stretches a passphrase into the pre-shared key of the
// handshake, with Argon2id over salt. The same passphrase and salt give
// the same key on every machine; the passphrase is taken byte for byte,
// without Unicode normalisation.
//
// The salt need not be secret, but both sides must use the same one. It
// is what keeps an attacker who recorded a handshake from trying
// passphrases against a table computed in advance: each salt needs its
// own run of Argon2id per guess.
//
// Each call costs 19 MiB of memory and tens of milliseconds of CPU, by
// design: that is the price of each guess of an attacker who recorded a
// handshake. The memory is garbage once DeriveKey returns, left to the
// garbage collector. Derive once per passphrase and salt and keep the
// key; a responder that takes salts from the network should cache and
// rate-limit its derivations.
//
// DeriveKey returns ErrPassphrase for an empty passphrase, and an error if
// salt is not SaltLen bytes long.
func DeriveKey(passphrase string, salt []byte) ([KeyLen]byte, error) {
	var key [KeyLen]byte
	if passphrase == "" {
		return key, ErrPassphrase
	}
	if len(salt) != SaltLen {
		return key, fmt.Errorf("secure: salt is %d bytes, want %d", len(salt), SaltLen)
	}
	copy(key[:], argon2.IDKey([]byte(passphrase), salt, argonTime, argonMemory, argonThreads, KeyLen))
	return key, nil
}
