package suite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/netkit/netkit/internal/rudp"
	"github.com/netkit/netkit/internal/rudp/wire"
	"github.com/netkit/netkit/internal/service"
)

// UDPInbox is the folder, in the data directory, where the udp service
// stores the files it receives.
const UDPInbox = "udp-inbox"

// UDPService is the reliable UDP communicator's receiver (legacy
// stop-and-wait protocol): texts are logged, files stored in
// <data dir>/udp-inbox.
var UDPService = Service{
	Name: "udp", Summary: "reliable UDP texts and files (legacy stop-and-wait), files stored in <data dir>/" + UDPInbox,
	Ports: []Port{{Name: "listen", Proto: "udp", Default: 7740, Usage: "UDP address"}},
	Build: buildUDP,
}

// buildUDP runs an rudp.Receiver as the handler of a PacketServer, which
// is what Group serves. The server's per-address rate limit is off: a
// sender sends thousands of frames a second, and an answer is never
// longer than the frame it answers (13 or 14 bytes), so the service
// cannot amplify a flood aimed at a spoofed address.
func buildUDP(g *Group, env *Env, addr func(string) string) error {
	if env.DataDir == "" {
		return errors.New("no data directory for the udp inbox")
	}
	dir := filepath.Join(env.DataDir, UDPInbox)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("udp inbox: %w", err)
	}
	store, err := rudp.OpenStore(dir, rudp.StoreOptions{MaxSize: rudp.DefaultMaxSize})
	if err != nil {
		return err
	}
	pc, err := ListenUDP(addr("listen"))
	if err != nil {
		store.Close()
		return err
	}
	recv := &rudp.Receiver{Store: store, Logger: env.logger().With("service", "udp")}
	ps := &service.PacketServer{
		Name: "udp", Handler: recv, MaxPacket: wire.MaxFrame, Rate: -1,
		Logger: env.logger(), Metrics: env.Metrics,
	}
	g.UDP("udp", ps, pc)
	return nil
}
