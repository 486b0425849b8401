package rudp_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/netkit/netkit/internal/rudp"
)

// A receiver storing into a folder, and a sender sending it a text and a
// file over loopback, in the legacy protocol.
func ExampleSend() {
	dir, _ := os.MkdirTemp("", "inbox")
	defer os.RemoveAll(dir)
	got := make(chan rudp.Event, 2)
	r := &rudp.Receiver{Dir: dir, OnEvent: func(ev rudp.Event) {
		if ev.Kind == rudp.EventText || ev.Kind == rudp.EventFile {
			got <- ev
		}
	}}
	pc, _ := net.ListenPacket("udp", "127.0.0.1:0")
	go r.Serve(pc)
	defer r.Close()

	conn, _ := net.Dial("udp", pc.LocalAddr().String())
	defer conn.Close()
	content := "It is a small file."
	items := []rudp.Item{
		rudp.Text("Toto je textova sprava."),
		rudp.File("smallFile.bin", strings.NewReader(content), int64(len(content))),
	}
	st, err := rudp.Send(context.Background(), conn, items, rudp.SendOptions{FragmentSize: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("sent", st.Items, "items,", st.Bytes, "bytes")
	for range 2 {
		ev := <-got
		switch ev.Kind {
		case rudp.EventText:
			fmt.Printf("text: %s\n", ev.Text)
		case rudp.EventFile:
			b, _ := os.ReadFile(dir + "/" + ev.Path)
			fmt.Printf("file %s: %s\n", ev.Path, b)
		}
	}
	// Output:
	// sent 2 items, 42 bytes
	// text: Toto je textova sprava.
	// file smallFile.bin: It is a small file.
}
