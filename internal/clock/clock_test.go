package clock

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/service"
	"github.com/netkit/netkit/internal/timeproto"
)

var fixed = time.Date(2026, 11, 21, 22, 4, 5, 123e6, time.UTC)

func fixedNow() time.Time { return fixed }

func TestLineHandler(t *testing.T) {
	srv := &service.Server{Handler: LineHandler{Now: fixedNow}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(conn)
	tests := []struct{ send, want string }{
		{"TIME\n", "2026-11-21T22:04:05.123Z"},
		{"time\r\n", "2026-11-21T22:04:05.123Z"},
		{"ISO\n", timeproto.FormatISO(fixed)},
		{"\x00\xffgarbage\n", "error:"},
		{"\n", "error:"},
		{"QUIT\n", "bye"},
	}
	for _, tt := range tests {
		conn.Write([]byte(tt.send))
		got, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("send %q: %v", tt.send, err)
		}
		if !strings.HasPrefix(got, tt.want) {
			t.Errorf("send %q: got %q, want %q", tt.send, got, tt.want)
		}
	}
	if rest, _ := r.ReadString('\n'); rest != "" {
		t.Errorf("after QUIT got %q, want close", rest)
	}
}

func TestSNTPHandler(t *testing.T) {
	h := SNTPHandler{Now: fixedNow}
	from := netip.MustParseAddrPort("127.0.0.1:5000")
	req := timeproto.NewRequest(fixed.Add(-time.Second))
	out := h.ServePacket(context.Background(), req.Append(nil), from, make([]byte, 0, 64))
	resp, err := timeproto.ParsePacket(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := timeproto.CheckReply(req, resp); err != nil {
		t.Errorf("reply rejected by a client: %v", err)
	}
	if resp.Stratum != timeproto.DefaultStratum || string(resp.RefID[:]) != "LOCL" {
		t.Errorf("stratum %d refid %q, want a local clock", resp.Stratum, resp.RefID)
	}
	if got := resp.XmitTime.Time(); !got.Equal(fixed) {
		t.Errorf("transmit time %v, want %v", got, fixed)
	}

	// Anything but a client request is dropped, so the server cannot be
	// made to answer another server or itself.
	for _, mode := range []uint8{1, 2, 4, 5, 6, 7} {
		p := req
		p.Mode = mode
		if out := h.ServePacket(context.Background(), p.Append(nil), from, nil); out != nil {
			t.Errorf("mode %d answered", mode)
		}
	}
	if out := h.ServePacket(context.Background(), []byte("short"), from, nil); out != nil {
		t.Error("short packet answered")
	}
}

func TestRFC868Handler(t *testing.T) {
	out := RFC868Handler{Now: fixedNow}.ServePacket(context.Background(), nil, netip.AddrPort{}, []byte{})
	got, err := timeproto.ParseRFC868(out)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(fixed.Truncate(time.Second)) {
		t.Errorf("got %v, want %v", got, fixed.Truncate(time.Second))
	}
}
