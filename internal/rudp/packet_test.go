package rudp

import (
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/rudp/wire"
	"github.com/netkit/netkit/internal/service"
)

// TestUnderPacketServer runs a Receiver as the handler of the suite's
// service.PacketServer, as netkit serve does: transfers work, silent peers
// expire, and closing the server closes the Receiver and drops unfinished
// files.
func TestUnderPacketServer(t *testing.T) {
	dir := t.TempDir()
	evs := newEvents()
	r := &Receiver{Dir: dir, Timeout: 200 * time.Millisecond, OnEvent: evs.add}
	ps := &service.PacketServer{Name: "udp", Handler: r, MaxPacket: wire.MaxFrame, Rate: -1}
	pc := listenUDP(t)
	done := make(chan error, 1)
	go func() { done <- ps.Serve(pc) }()
	addr := pc.LocalAddr().(*net.UDPAddr)

	data := randomBytes(300_000, 11)
	items := []e2eItem{{data: []byte("via the packet server")}, {file: true, name: "served.bin", data: data}}
	if _, err := Send(t.Context(), dialUDP(t, addr), []Item{items[0].item(), items[1].item()}, fast); err != nil {
		t.Fatal(err)
	}
	all := evs.wait(t, 5*time.Second, "deliveries", func(evs []Event) bool { return count(EventFile, 1)(evs) && count(EventText, 1)(evs) })
	checkArrived(t, dir, items, all)

	// A sender by hand that falls silent mid-file: expired by the
	// Receiver's own timer.
	c := dialUDP(t, addr)
	inf, dats := file("silent.bin", strings.Repeat("y", 50), 10)
	for _, b := range [][]byte{inf, dats[0], dats[1]} {
		c.Write(b)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, wire.MaxFrame)); err != nil {
			t.Fatal(err)
		}
	}
	evs.wait(t, 5*time.Second, "the silent peer gone", count(EventGone, 1))
	if got := listDir(t, dir); !slices.Equal(got, []string{"served.bin"}) {
		t.Errorf("folder holds %q", got)
	}

	// Closing the server closes the Receiver: an unfinished file goes.
	c2 := dialUDP(t, addr)
	c2.Write(inf)
	c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	c2.Read(make([]byte, wire.MaxFrame))
	c2.Write(dats[0])
	c2.Read(make([]byte, wire.MaxFrame))
	c2.Write(dats[1])
	c2.Read(make([]byte, wire.MaxFrame)) // the file exists now
	ps.Close()
	if err := <-done; !errors.Is(err, service.ErrServerClosed) {
		t.Errorf("Serve = %v", err)
	}
	evs.wait(t, 5*time.Second, "the transfer aborted", count(EventAborted, 1))
	if got := listDir(t, dir); !slices.Equal(got, []string{"served.bin"}) {
		t.Errorf("after Close the folder holds %q", got)
	}
}
