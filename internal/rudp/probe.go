package rudp

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"time"

	"github.com/netkit/netkit/internal/rudp/wire"
)

// WhyRefused asks a receiver that refused a legacy sender with FIN,
// which can say no more, for its reason: it offers the extended protocol
// once (a HELLO, sent again a few times within wait) on conn, a socket
// connected to the receiver and not in use. It returns ErrNeedSecret when
// the receiver answers that it requires a secret, and nil when it gives
// no such answer. A session the receiver opens for the HELLO is closed
// at once.
func WhyRefused(conn net.Conn, wait time.Duration) error {
	var tok [8]byte
	rand.Read(tok[:])
	token := binary.BigEndian.Uint64(tok[:])
	hello := append(wire.AppendXHeader(nil, wire.XHeader{Type: wire.HELLO}), wire.AppendHello(nil, wire.Hello{Version: wire.Version, Token: token})...)
	wire.SetCRC(hello)
	defer conn.SetReadDeadline(time.Time{})
	buf := make([]byte, wire.MaxExtFrame+1)
	end := time.Now().Add(wait)
	const tries = 3
	for i := 0; i < tries && time.Now().Before(end); i++ {
		conn.Write(hello)
		conn.SetReadDeadline(earliest(end, time.Now().Add(wait/tries)))
		for {
			n, err := conn.Read(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break
			}
			if err != nil && !transient(err) {
				return nil
			}
			if err != nil {
				continue
			}
			h, body, err := wire.ParseXHeader(buf[:n], true)
			if err != nil {
				continue
			}
			switch h.Type {
			case wire.REJECT:
				if r, err := wire.ParseReject(body); err == nil && r.Token == token {
					if r.Code == wire.CodeNeedSecret {
						return ErrNeedSecret
					}
					return nil
				}
			case wire.WELCOME:
				if w, err := wire.ParseWelcome(body); err == nil && w.Token == token {
					bye := wire.AppendXHeader(nil, wire.XHeader{Session: h.Session, PN: 1, Type: wire.CLOSE})
					wire.SetCRC(bye)
					conn.Write(bye)
					return nil
				}
			}
		}
	}
	return nil
}
