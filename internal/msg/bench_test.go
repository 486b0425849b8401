package msg

import (
	"context"
	"net/netip"
	"testing"

	"github.com/netkit/netkit/internal/fernet"
	"github.com/netkit/netkit/internal/msg/envelope"
)

// BenchmarkHandle is the work of one message, transport aside: open,
// parse, replay check, answer, seal.
func BenchmarkHandle(b *testing.B) {
	k, _ := fernet.GenerateKey()
	keys, _ := fernet.New(k)
	s := &Server{Keys: keys, Name: "bench"}
	toks := make([][]byte, b.N)
	for i := range toks {
		e, _ := envelope.New(envelope.Echo, "alice", map[string]any{"text": "hello", "n": []int{1, 2, 3}})
		p, _ := envelope.Append(nil, e)
		toks[i], _ = keys.Encrypt(p)
	}
	from := netip.MustParseAddrPort("127.0.0.1:1")
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.Handle(context.Background(), toks[i], "bench", from); err != nil {
			b.Fatal(err)
		}
	}
}
