package scan

import (
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/netkit/netkit/internal/timeproto"
)

// TestUDPPayloads checks that each request a UDP probe carries is one a
// server of that protocol answers: the SNTP request is one netkit's own
// SNTP server replies to, the DNS query parses as a question.
func TestUDPPayloads(t *testing.T) {
	for _, port := range []uint16{123, 7723} {
		req, err := timeproto.ParsePacket(udpPayload(port))
		if err != nil {
			t.Fatalf("port %d: %v", port, err)
		}
		if _, err := timeproto.Reply(req, time.Now(), time.Now(), timeproto.ServerInfo{}); err != nil {
			t.Errorf("port %d: netkit's SNTP server would not answer: %v", port, err)
		}
	}
	var m dns.Msg
	if err := m.Unpack(udpPayload(53)); err != nil || len(m.Question) != 1 || m.Response {
		t.Errorf("port 53: %v %v", err, m.Question)
	}
	for _, port := range []uint16{7, 7707, 37, 7737} {
		if len(udpPayload(port)) == 0 {
			t.Errorf("port %d: an empty datagram, which an echo or RFC 868 server ignores", port)
		}
	}
	if udpPayload(9) != nil {
		t.Errorf("port 9: a payload for a protocol netkit does not know")
	}
}
