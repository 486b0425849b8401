package udpio_test

import (
	"fmt"
	"log"
	"net"
	"time"

	"github.com/netkit/netkit/internal/udpio"
)

// Example sends a batch from a connected socket and reads it back on an
// unconnected one.
func Example() {
	rconn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		log.Fatal(err)
	}
	defer rconn.Close()
	wconn, err := net.DialUDP("udp", nil, rconn.LocalAddr().(*net.UDPAddr))
	if err != nil {
		log.Fatal(err)
	}
	defer wconn.Close()

	r, warnings, err := udpio.New(rconn, udpio.Options{ReadBuffer: 1 << 20})
	if err != nil {
		log.Fatal(err)
	}
	for _, w := range warnings {
		log.Print(w) // a smaller buffer works, just with more loss
	}
	w, _, err := udpio.New(wconn, udpio.Options{})
	if err != nil {
		log.Fatal(err)
	}

	out := []udpio.Datagram{{B: []byte("one")}, {B: []byte("two")}, {B: []byte("six")}}
	if _, err := w.WriteBatch(out); err != nil {
		log.Fatal(err)
	}

	rconn.SetReadDeadline(time.Now().Add(5 * time.Second))
	in := make([]udpio.Datagram, udpio.DefaultBatch)
	for got := 0; got < len(out); {
		n, err := r.ReadBatch(in)
		if err != nil {
			log.Fatal(err)
		}
		for _, d := range in[:n] {
			fmt.Printf("%s from the sender: %v\n", d.B, d.Addr == wconn.LocalAddr().(*net.UDPAddr).AddrPort())
		}
		got += n
	}
	// Output:
	// one from the sender: true
	// two from the sender: true
	// six from the sender: true
}
