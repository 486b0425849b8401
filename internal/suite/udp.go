package suite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/netkit/netkit/internal/rudp"
)

// UDPInbox is the folder, in the data directory, where the udp service
// stores the files it receives.
const UDPInbox = "udp-inbox"

// UDPService is the reliable UDP communicator's receiver (the windowed
// extended protocol, and the legacy stop-and-wait one): texts are logged,
// files stored in <data dir>/udp-inbox.
var UDPService = Service{
	Name: "udp", Summary: "reliable UDP texts and files (extended windowed protocol, and legacy stop-and-wait), files stored in <data dir>/" + UDPInbox,
	Ports: []Port{{Name: "listen", Proto: "udp", Default: 7740, Usage: "UDP address"}},
	Build: buildUDP,
}

// buildUDP runs an rudp.Receiver on its own socket: it reads in its own
// loop, and sends delayed acks of the extended protocol on its own
// timer, which a per-datagram handler could not. An answer is never
// longer than the frame it answers but for a WELCOME to a HELLO (about
// 30 bytes more) so the service cannot amplify a flood much.
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
	recv := &rudp.Receiver{Store: store, Secret: env.UDPSecret, Logger: env.logger().With("service", "udp")}
	g.Packet("udp", recv, pc)
	return nil
}
