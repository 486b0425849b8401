package msg

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/netkit/netkit/internal/fernet"
	"github.com/netkit/netkit/internal/msg/envelope"
	"github.com/netkit/netkit/internal/service"
)

// benchTokens seals n echo requests, each with its own id, under keys.
func benchTokens(b *testing.B, keys *fernet.Fernet, n int) [][]byte {
	b.Helper()
	toks := make([][]byte, n)
	for i := range toks {
		e, _ := envelope.New(envelope.Echo, "alice", map[string]any{"text": "hello", "n": []int{1, 2, 3}})
		p, _ := envelope.Append(nil, e)
		toks[i], _ = keys.Encrypt(p)
	}
	return toks
}

func benchServer() (*Server, *fernet.Fernet) {
	k, _ := fernet.GenerateKey()
	keys, _ := fernet.New(k)
	return &Server{Keys: keys, Name: "bench"}, keys
}

// BenchmarkHandle is the work of one message, transport aside: open,
// parse, replay check, answer, seal.
func BenchmarkHandle(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchHandle(b, false) })
	b.Run("metrics", func(b *testing.B) { benchHandle(b, true) })
}

func benchHandle(b *testing.B, metrics bool) {
	s, keys := benchServer()
	if metrics {
		s.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	toks := benchTokens(b, keys, b.N)
	from := netip.MustParseAddrPort("127.0.0.1:1")
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.Handle(context.Background(), toks[i], "bench", from); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUDPRequest is one request and its reply through the UDP
// service on loopback, with inflight requests outstanding from one client
// socket, answered one datagram per system call (batch=1) or in batches
// (batch=UDPBatch). The client's reads and writes are in the figures too (the
// tokens are sealed beforehand, the replies are not opened).
func BenchmarkUDPRequest(b *testing.B) {
	for _, bc := range []struct{ inflight, batch int }{{1, 1}, {1, UDPBatch}, {32, 1}, {32, UDPBatch}} {
		inflight := bc.inflight
		b.Run(fmt.Sprintf("inflight=%d/batch=%d", inflight, bc.batch), func(b *testing.B) {
			s, keys := benchServer()
			pc, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			ps := &service.PacketServer{Name: "msg", Handler: s.PacketHandler(pc), MaxPacket: MaxUDPPacket, Rate: -1, Batch: bc.batch}
			go ps.Serve(pc)
			defer ps.Close()
			c, err := net.Dial("udp", pc.LocalAddr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			c.(*net.UDPConn).SetReadBuffer(4 << 20)
			toks := benchTokens(b, keys, b.N)
			buf := make([]byte, 4096)
			b.ReportAllocs()
			b.ResetTimer()
			sent := 0
			for ; sent < inflight && sent < b.N; sent++ {
				c.Write(toks[sent])
			}
			for range b.N {
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if _, err := c.Read(buf); err != nil {
					b.Fatalf("reply: %v", err)
				}
				if sent < b.N {
					c.Write(toks[sent])
					sent++
				}
			}
		})
	}
}

// BenchmarkHTTPMessage is one POST /api/v1/messages through the handler,
// without the network.
func BenchmarkHTTPMessage(b *testing.B) {
	s, keys := benchServer()
	mux := http.NewServeMux()
	s.Mount(mux.Handle)
	toks := benchTokens(b, keys, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r := httptest.NewRequest("POST", PathMessages, bytes.NewReader(toks[i]))
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkBroadcast is one broadcast to 1,000 WebSocket clients' queues
// (the frames' writing aside), each queue drained as it fills.
func BenchmarkBroadcast(b *testing.B) {
	s, _ := benchServer()
	s.init()
	const clients = 1000
	stop := make(chan struct{})
	defer close(stop)
	for range clients {
		cl := &wsClient{queue: make(chan []byte, wsQueue), drop: func() { b.Error("client dropped") }}
		s.subs.addWS(cl)
		go func() {
			for {
				select {
				case <-cl.queue:
				case <-stop:
					return
				}
			}
		}()
	}
	body := []byte(`{"text":"hello"}`)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if n := s.Broadcast("alice", body); n != clients {
			b.Fatalf("delivered to %d, want %d", n, clients)
		}
	}
}

// BenchmarkBroadcastWS is one broadcast through real WebSocket
// connections on loopback, until each of 100 clients has read it: the
// server's frame writes and the clients' reads.
func BenchmarkBroadcastWS(b *testing.B) {
	s, _ := benchServer()
	mux := http.NewServeMux()
	s.Mount(mux.Handle)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	const clients = 100
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan struct{}, clients)
	for range clients {
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+PathWS, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.CloseNow()
		go func() {
			for {
				if _, _, err := c.Read(ctx); err != nil {
					return
				}
				got <- struct{}{}
			}
		}()
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		if ws, _ := s.subs.counts(); ws == clients {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("clients not subscribed")
		}
		time.Sleep(time.Millisecond)
	}
	body := []byte(`{"text":"hello"}`)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s.Broadcast("alice", body)
		for range clients {
			<-got
		}
	}
}
