package rudp

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/netkit/netkit/internal/rudp/secure"
	"github.com/netkit/netkit/internal/rudp/wire"
)

// TestXSimCiphers checks the choice of the cipher of a sealed session
// (issue 12): AES-256-GCM when both ends have AES instructions, and
// ChaCha20-Poly1305 when either has not (or knows nothing of the choice,
// which looks the same on the wire); both ends agree, and the transfer
// goes through either way. A WELCOME whose choice is altered on the way
// fails the handshake rather than leave the two ends apart.
func TestXSimCiphers(t *testing.T) {
	real := aesHardware
	t.Cleanup(func() { aesHardware = real })
	tests := []struct {
		name              string
		hardware          bool
		senderNo, inboxNo bool
		tamper            bool // clear FlagAESGCM in the WELCOME
		want              secure.Cipher
		wantErr           error
	}{
		{name: "both have AES", hardware: true, want: secure.AES256GCM},
		{name: "sender without", hardware: true, senderNo: true, want: secure.ChaCha20Poly1305},
		{name: "receiver without", hardware: true, inboxNo: true, want: secure.ChaCha20Poly1305},
		{name: "no AES instructions", hardware: false, want: secure.ChaCha20Poly1305},
		{name: "choice altered", hardware: true, tamper: true, wantErr: ErrBadSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			aesHardware = func() bool { return tt.hardware }
			store := newMemStore()
			data := randomBytes(20000, 9)
			s := mustXSender(t, SendOptions{Secret: secret, NoAES: tt.senderNo}, Text("sealed"), File("c.bin", bytes.NewReader(data), int64(len(data))))
			in := mustXInbox(t, XInboxConfig{Store: store, Secret: secret, NoAES: tt.inboxNo})
			n := newXSim(t, 21, s, in, xlink{delay: ms, loss: .02}, xlink{delay: ms, loss: .02})
			var inboxCipher secure.Cipher = 255
			n.onSend = func(toIn bool, b []byte) {
				if !toIn && tt.tamper && wire.Type(b[8]) == wire.WELCOME {
					b[wire.HeaderLen+1] &^= wire.FlagAESGCM
					wire.SetCRC(b)
				}
				for _, ss := range in.sessions {
					if ss.keys != nil {
						inboxCipher = ss.keys.Cipher()
					}
				}
			}
			n.run(time.Minute, n.senderDone)
			if tt.wantErr != nil {
				if !errors.Is(s.Err(), tt.wantErr) {
					t.Fatalf("Err = %v, want %v", s.Err(), tt.wantErr)
				}
				return
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			if got := s.Stats().Cipher; got != tt.want.String() {
				t.Errorf("sender sealed with %q, want %v", got, tt.want)
			}
			if inboxCipher != tt.want {
				t.Errorf("inbox sealed with %v, want %v", inboxCipher, tt.want)
			}
			if !bytes.Equal(store.files["c.bin"], data) || len(xevents(n.iEvents, EventText)) != 1 {
				t.Errorf("files %v, events %+v", store.names(), n.iEvents)
			}
		})
	}
}
