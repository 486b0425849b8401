package impair_test

import (
	"fmt"
	"net"
	"time"

	"github.com/netkit/netkit/internal/impair"
)

// A relay in front of a UDP echo server that duplicates every datagram on
// its way to the server: each one sent comes back twice.
func ExampleRelay() {
	server, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	defer server.Close()
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := server.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			server.WriteToUDPAddrPort(buf[:n], from)
		}
	}()

	relay := &impair.Relay{
		Target:   server.LocalAddr().String(),
		Upstream: impair.Impairment{Duplicate: 1, Delay: 10 * time.Millisecond},
		Seed:     1,
	}
	pc, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	go relay.Serve(pc)
	defer relay.Close()

	client, _ := net.DialUDP("udp", nil, pc.LocalAddr().(*net.UDPAddr))
	defer client.Close()
	client.Write([]byte("hello"))
	buf := make([]byte, 2048)
	for range 2 {
		client.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _ := client.Read(buf)
		fmt.Printf("%s\n", buf[:n])
	}
	st := relay.Stats()
	fmt.Println("up:", st.Up.Received, "received,", st.Up.Duplicated, "duplicated,", st.Up.Forwarded, "forwarded")
	// Output:
	// hello
	// hello
	// up: 1 received, 1 duplicated, 2 forwarded
}
