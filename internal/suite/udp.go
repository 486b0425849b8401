package suite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

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
	received := env.udpReceived()
	recv := &rudp.Receiver{Store: store, Secret: env.UDPSecret, Logger: env.logger().With("service", "udp"),
		OnEvent: func(ev rudp.Event) { received.add(ev, dir) }}
	g.Packet("udp", recv, pc)
	return nil
}

// Bounds of what /status.json shows of the udp service.
const (
	udpRecentItems = 50   // the last texts and files received
	udpRecentText  = 1024 // bytes of each text
)

// UDPReceived is one text or file the udp service received, as
// /status.json shows it under services.udp.received.
type UDPReceived struct {
	Time time.Time `json:"time"`
	Peer string    `json:"peer"`
	Kind string    `json:"kind"` // "text" or "file"
	// Text is the text, its first udpRecentText bytes; Truncated says
	// it was longer.
	Text      string `json:"text,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
	// Name is the file's name as sent, Path where it was stored.
	Name  string `json:"name,omitempty"`
	Path  string `json:"path,omitempty"`
	Bytes int64  `json:"bytes"`
}

// udpLog keeps the last texts and files the udp service received.
type udpLog struct {
	mu     sync.Mutex
	recent []UDPReceived // oldest first
}

func (l *udpLog) add(ev rudp.Event, dir string) {
	r := UDPReceived{Time: time.Now().UTC(), Peer: ev.Peer.String(), Bytes: ev.Size}
	switch ev.Kind {
	case rudp.EventText:
		r.Kind, r.Text = "text", ev.Text
		if len(r.Text) > udpRecentText {
			r.Text, r.Truncated = strings.ToValidUTF8(r.Text[:udpRecentText], ""), true
		}
	case rudp.EventFile:
		r.Kind, r.Name, r.Path = "file", ev.Name, filepath.Join(dir, ev.Path)
	default:
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.recent) == udpRecentItems {
		copy(l.recent, l.recent[1:])
		l.recent = l.recent[:udpRecentItems-1]
	}
	l.recent = append(l.recent, r)
}

// status is the udp service's part of /status.json.
func (l *udpLog) status() any {
	l.mu.Lock()
	defer l.mu.Unlock()
	return struct {
		Received []UDPReceived `json:"received"`
	}{append([]UDPReceived{}, l.recent...)}
}

// udpReceived returns the Env's log of what the udp service received,
// which the web service shows. The services are built one at a time, the
// udp one before anything serves, so the log is made before any request
// reads it.
func (e *Env) udpReceived() *udpLog {
	if e.udpLog == nil {
		e.udpLog = &udpLog{}
	}
	return e.udpLog
}
