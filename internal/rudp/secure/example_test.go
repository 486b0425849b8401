package secure_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/netkit/netkit/internal/rudp/secure"
)

func Example() {
	// Both sides derive the key from the shared secret once; the salt and
	// the prologue must be the same on both, and need not be secret.
	salt := []byte("0123456789abcdef")
	prologue := append([]byte("netkit rudp secure v1 "), salt...)
	key, err := secure.DeriveKey("correct horse battery staple", salt)
	if err != nil {
		log.Fatal(err)
	}

	// The sender starts the handshake...
	ini, err := secure.NewInitiator(key, prologue)
	if err != nil {
		log.Fatal(err)
	}
	msg1, err := ini.Hello(nil, []byte("hello"))
	if err != nil {
		log.Fatal(err)
	}

	// ...the receiver answers it...
	hello, msg2, recvKeys, err := secure.Respond(key, prologue, msg1, []byte("welcome"), nil)
	if errors.Is(err, secure.ErrAuth) {
		log.Fatal("wrong secret")
	} else if err != nil {
		log.Fatal(err)
	}

	// ...and the sender reads the answer.
	welcome, sendKeys, err := ini.Finish(msg2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s, %s\n", hello, welcome)

	// Frames are sealed with their packet number as nonce, and their clear
	// header as additional data.
	header := []byte{0x01, 0x00, 0x00, 0x00, 0x07} // type, packet number 7
	frame := sendKeys.Seal(nil, 7, header, []byte("some data"))

	var window secure.ReplayWindow
	for range 2 { // the network duplicates the datagram
		if !window.Check(7) {
			fmt.Println("replay dropped")
			continue
		}
		data, err := recvKeys.Open(nil, 7, header, frame)
		if err != nil {
			continue // forged or damaged: drop it
		}
		window.Accept(7)
		fmt.Printf("%s\n", data)
	}
	// Output:
	// hello, welcome
	// some data
	// replay dropped
}
