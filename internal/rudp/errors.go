package rudp

import (
	"errors"
	"fmt"
	"net"
)

var (
	// ErrPeerGone reports a peer that stayed silent longer than the
	// timeout: a sender whose receiver stopped answering, or a receiver's
	// peer that stopped sending. A transfer it cuts short is lost, never
	// left hanging.
	ErrPeerGone = errors.New("rudp: peer gone")
	// ErrRefused reports a transfer the receiver refused by answering FIN:
	// a file name it will not take, a file or text over its limit, a write
	// error on its disk, or a receiver shutting down.
	ErrRefused = errors.New("rudp: transfer refused")
	// ErrPeerClosed reports a FIN from the receiver outside a transfer:
	// it ended the session.
	ErrPeerClosed = fmt.Errorf("rudp: peer closed the session: %w", net.ErrClosed)
	// ErrClosed reports a use of a Sender or Session after CloseSend, or
	// after the session ended.
	ErrClosed = fmt.Errorf("rudp: session closed: %w", net.ErrClosed)
	// ErrServerClosed is returned by Receiver.Serve after Shutdown or
	// Close.
	ErrServerClosed = fmt.Errorf("rudp: server closed: %w", net.ErrClosed)
	// ErrServing is returned by Receiver.Serve when the Receiver is
	// already serving a socket: its sessions, their replies and its read
	// deadline belong to one socket, so one Receiver serves one.
	ErrServing = errors.New("rudp: receiver already serving a socket")
	// ErrQueueFull reports an item enqueued on a Sender that already holds
	// MaxQueue items waiting.
	ErrQueueFull = errors.New("rudp: send queue full")
	// ErrTooLarge reports a file over the receiver's MaxSize, or a text
	// message over its MaxText.
	ErrTooLarge = errors.New("rudp: too large")
	// ErrReservedName reports a file name the store keeps for itself: its
	// temporary files are named ".netkit-*.part".
	ErrReservedName = errors.New("rudp: reserved file name")
	// ErrAborted reports a transfer cut short on the receiver's side: the
	// sender started another one or sent FIN before the end, or the
	// receiver closed. The wrapping error says which.
	ErrAborted = errors.New("rudp: transfer aborted")
	// ErrBadSecret reports a failed handshake: the two sides do not hold
	// the same secret.
	ErrBadSecret = errors.New("rudp: wrong secret: the handshake failed (both sides must use the same --secret)")
	// ErrNeedSecret is why a receiver with a secret refuses a legacy
	// sender, which cannot encrypt.
	ErrNeedSecret = errors.New("rudp: this receiver requires a secret, and the legacy protocol cannot encrypt")
	// ErrIntegrity reports a transfer whose SHA-256 did not match: the
	// receiver discarded it.
	ErrIntegrity = errors.New("rudp: SHA-256 mismatch")
	// ErrEcho reports a peer that sends the sender's own frames back, as
	// an RFC 862 echo service does: whatever it is, it is not a netkit
	// udp receiver, and no answer will come.
	ErrEcho = errors.New("rudp: the peer echoes what it is sent: it is not a netkit udp receiver")
	// ErrChanged reports a file that came out shorter than its size while
	// it was being sent.
	ErrChanged = errors.New("rudp: file changed while sending")
)
