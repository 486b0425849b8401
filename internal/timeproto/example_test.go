package timeproto_test

import (
	"fmt"
	"time"

	"github.com/netkit/netkit/internal/timeproto"
)

func ExampleFormatTime() {
	t := time.Date(2026, time.November, 21, 23, 4, 5, 123456789, time.FixedZone("CET", 3600))
	fmt.Println(timeproto.FormatTime(t))
	// Output: 2026-11-21T22:04:05.123Z
}

// A client's view of one SNTP exchange: the server's clock runs 1.5 s ahead
// and each direction of the network takes 15 ms.
func ExampleOffset() {
	t1 := time.Date(2026, time.November, 21, 22, 4, 5, 0, time.UTC) // client sends
	req := timeproto.NewRequest(t1)

	// The server's side, on its own clock.
	t2 := t1.Add(1500*time.Millisecond + 15*time.Millisecond)
	t3 := t2.Add(2 * time.Millisecond)
	resp, err := timeproto.Reply(req, t2, t3, timeproto.ServerInfo{})
	if err != nil {
		panic(err)
	}

	t4 := t1.Add(32 * time.Millisecond) // client receives
	if err := timeproto.CheckReply(req, resp); err != nil {
		panic(err)
	}
	offset, delay := timeproto.Offset(t1, resp.RecvTime.Time(), resp.XmitTime.Time(), t4)
	fmt.Println("offset", offset, "delay", delay)
	// Output: offset 1.5s delay 30ms
}
