package hello

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/service"
)

var fixed = time.Date(2026, 11, 21, 22, 4, 5, 0, time.UTC)

func TestReply(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Hello", HelloReply},
		{"hello", HelloReply},
		{"HELLO", HelloReply},
		{"Hello\r", HelloReply},
		{" hello ", HelloReply},
		{"Time", "2026-11-21T22:04:05Z"},
		{"tImE\r", "2026-11-21T22:04:05Z"},
		{"", UnknownReply},
		{"hello world", UnknownReply},
		{"hell", UnknownReply},
		{"\x00\xff", UnknownReply},
	}
	for _, tt := range tests {
		if got := Reply([]byte(tt.in), fixed); got != tt.want {
			t.Errorf("Reply(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzReply(f *testing.F) {
	for _, s := range []string{"Hello", "time\r", "", "x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		got := Reply(line, fixed)
		if got != HelloReply && got != UnknownReply && got != "2026-11-21T22:04:05Z" {
			t.Fatalf("Reply(%q) = %q, not one of the three answers", line, got)
		}
		if strings.Contains(got, "\n") {
			t.Fatalf("reply holds a newline")
		}
	})
}

func TestHandler(t *testing.T) {
	srv := &service.Server{Handler: Handler{Now: func() time.Time { return fixed }}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	tests := []struct{ send, want string }{
		{"Hello\r\n", HelloReply + "\n"},
		{"time\n", "2026-11-21T22:04:05Z\n"},
		{"what\n", UnknownReply + "\n"},
		{"Hello", HelloReply + "\n"}, // no newline, then EOF
		{"", ""},                     // nothing at all
	}
	for _, tt := range tests {
		conn, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		conn.Write([]byte(tt.send))
		conn.(*net.TCPConn).CloseWrite()
		var got strings.Builder
		r := bufio.NewReader(conn)
		for {
			s, err := r.ReadString('\n')
			got.WriteString(s)
			if err != nil {
				break
			}
		}
		conn.Close()
		if got.String() != tt.want {
			t.Errorf("send %q: got %q, want %q", tt.send, got.String(), tt.want)
		}
	}
}
