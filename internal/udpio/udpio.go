// Package udpio is fast UDP socket I/O for netkit's reliable UDP transfers
// and its impairment relay: many datagrams per system call, and on Linux
// the kernel's segmentation offloads, so that a transfer is bound by the
// protocol and not by the per-datagram cost of the socket.
//
// On Linux a Conn reads with recvmmsg and writes with sendmmsg, Batch
// datagrams per call. On top of that:
//
//   - GSO (UDP_SEGMENT, Linux 4.18): a run of datagrams to one address, all
//     of one length but the last which may be shorter, leaves in one
//     message that the kernel (or the network card) cuts into datagrams.
//     A sendmmsg carries runs and lone datagrams side by side; the runs
//     point at the caller's buffers, nothing is copied.
//   - GRO (UDP_GRO, Linux 5.0): the kernel may hand over several datagrams
//     of one flow as one super-buffer with their length in a control
//     message; ReadBatch cuts it back into datagrams. On loopback a GSO
//     send arrives as one such buffer.
//
// Elsewhere a Conn falls back to one datagram per system call, through
// the net package.
//
// # Memory
//
// A Conn holds its read buffers for its life. Without GRO each of the
// Batch read slots holds MaxDatagram+1 bytes: 96 KiB for the default 64.
// A GRO super-buffer may hold 64 KiB, so with GRO each slot is 64 KiB and
// there are at most 16 of them, 1 MiB, whatever Batch is; a read then
// returns up to 16 buffers, one per datagram from a sender without GSO.
// Writing needs no buffers of its own.
//
// The socket belongs to the Conn once wrapped: with GRO on, a read
// through the *net.UDPConn would get super-buffers cut to its buffer.
// Deadlines and Close stay with the *net.UDPConn.
package udpio

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
)

// MaxDatagram is the longest datagram a Conn reads whole: netkit's
// datagrams fit 1472 bytes (an Ethernet MTU of 1500 less 20 of IPv4
// header and 8 of UDP header), but for a sealed fragment of the largest
// size asked for explicitly, 1482 bytes, which IP fragments. ReadBatch
// reports a longer datagram cut to MaxDatagram+1 bytes, so that the
// caller can tell it and drop it.
const MaxDatagram = 1500

// DefaultBatch is the number of datagrams per system call when
// Options.Batch is zero.
const DefaultBatch = 64

// maxBatch bounds Options.Batch: Linux takes at most 1024 messages in one
// sendmmsg or recvmmsg.
const maxBatch = 1024

// ErrAddress reports a datagram that cannot be sent to its address from
// this socket: no address on an unconnected socket, or an IPv6 address on
// an IPv4 socket.
var ErrAddress = errors.New("udpio: address not usable on this socket")

// Datagram is one UDP datagram and its peer: the source of one read, the
// destination of one write.
type Datagram struct {
	B    []byte
	Addr netip.AddrPort
}

// Options tunes a Conn. The zero value asks for no buffer sizes, batches
// of DefaultBatch and the offloads the kernel has.
type Options struct {
	// ReadBuffer and WriteBuffer are the socket buffer sizes to ask for,
	// in bytes (SO_RCVBUF and SO_SNDBUF); 0 leaves the socket's as they
	// are. On Linux SO_RCVBUFFORCE and SO_SNDBUFFORCE are tried first,
	// which pass net.core.rmem_max and wmem_max for a privileged process.
	ReadBuffer, WriteBuffer int
	// Batch is the most datagrams read or written in one system call;
	// 0 means DefaultBatch, and it is capped at 1024.
	Batch int
	// DisableOffload keeps GSO and GRO off: for tests, and to compare.
	DisableOffload bool
	// MaxDatagram is the longest datagram ReadBatch returns whole (a
	// longer one comes cut to MaxDatagram+1 bytes); 0 means MaxDatagram,
	// and it is capped at 65535. It sizes the read buffers: a relay of
	// any datagram asks for 65535.
	MaxDatagram int
}

// Conn does batched I/O on a UDP socket, connected or not. Its zero value
// is not usable; make one with New.
//
// One goroutine may read while another writes. ReadBatch calls are
// serialised among themselves, and so are WriteBatch calls, so a Conn is
// safe for concurrent use, but the datagrams one ReadBatch returns are
// only valid until the next, so there is no point in two readers.
type Conn struct {
	uc        *net.UDPConn
	connected bool
	// rbuf and wbuf are the buffer sizes the kernel granted; 0 when
	// unknown.
	rbuf, wbuf int

	rmu sync.Mutex // guards the read half of sys
	wmu sync.Mutex // guards the write half of sys
	sys sysConn
}

// New wraps c, which must be a UDP socket; c stays the caller's to close.
// It sets the buffer sizes o asks for and turns on the offloads the kernel
// has (see Offload). It returns warnings, lines for a human, when the
// kernel granted smaller buffers than asked, and an error only when c
// cannot be used.
func New(c *net.UDPConn, o Options) (*Conn, []string, error) {
	if c == nil {
		return nil, nil, errors.New("udpio: nil connection")
	}
	if o.ReadBuffer < 0 || o.WriteBuffer < 0 {
		return nil, nil, fmt.Errorf("udpio: negative buffer size (read %d, write %d)", o.ReadBuffer, o.WriteBuffer)
	}
	switch {
	case o.Batch <= 0:
		o.Batch = DefaultBatch
	case o.Batch > maxBatch:
		o.Batch = maxBatch
	}
	switch {
	case o.MaxDatagram <= 0:
		o.MaxDatagram = MaxDatagram
	case o.MaxDatagram > 65535:
		o.MaxDatagram = 65535
	}
	conn := &Conn{uc: c, connected: c.RemoteAddr() != nil}
	warnings, err := conn.init(o)
	if err != nil {
		return nil, nil, err
	}
	return conn, warnings, nil
}

// ReadBatch reads datagrams into ds: it waits for at least one, honouring
// the socket's read deadline, and takes as many more as are already
// queued, up to len(ds). It returns how many it filled. ds[i].B points
// into buffers the Conn owns, valid until the next ReadBatch.
//
// A GRO super-buffer is returned as the datagrams it holds; those that do
// not fit in ds are returned by the next call, before it reads again. A
// datagram longer than Options.MaxDatagram is returned cut to one byte
// more.
//
// Errors are those of net.Conn: a deadline that passed satisfies
// errors.Is(err, os.ErrDeadlineExceeded), a closed socket
// errors.Is(err, net.ErrClosed). An ICMP error the kernel queued on the
// socket, such as ECONNREFUSED on a connected socket, is returned too.
func (c *Conn) ReadBatch(ds []Datagram) (int, error) {
	if len(ds) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.readBatch(ds)
}

// WriteBatch sends ds in order and returns how many it sent. On a
// connected socket Addr is ignored: all go to the peer. It blocks only while the send
// buffer is full, honouring the socket's write deadline.
//
// With GSO, runs of datagrams to one address of one length (the last of
// a run may be shorter; at most 64 datagrams and 65507 bytes) leave as
// one message each. If the kernel refuses one (a device without
// checksum offload, a path MTU below the length), the Conn turns GSO off
// for good and sends the run again without it.
//
// On error, n < len(ds): ds[n] is the datagram that failed or was not
// tried. Errors the caller may take for loss are returned as they come:
// ECONNREFUSED from an ICMP port unreachable, ENOBUFS.
func (c *Conn) WriteBatch(ds []Datagram) (int, error) {
	if len(ds) == 0 {
		return 0, nil
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeBatch(ds)
}

// Offload reports the offloads in use: GSO on sends, GRO on reads. GSO
// may turn off after New; see WriteBatch.
func (c *Conn) Offload() (gso, gro bool) {
	return c.offload()
}

// Buffers reports the socket buffer sizes, in bytes, as the kernel
// granted them (on Linux, half what getsockopt reports, since the kernel
// doubles the size set for its bookkeeping). Where they cannot be read
// back, they are the sizes asked for, or 0 when none was.
func (c *Conn) Buffers() (read, write int) {
	return c.rbuf, c.wbuf
}

// bufferWarning is the warning for a buffer of which the kernel granted
// less than asked, or "" when it granted enough. dir is "receive" or
// "send".
func bufferWarning(dir string, asked, granted int) string {
	if granted >= asked {
		return ""
	}
	sysctl := "net.core.rmem_max"
	if dir == "send" {
		sysctl = "net.core.wmem_max"
	}
	return fmt.Sprintf("the kernel granted a %s %s buffer of the %s asked; raise %s",
		formatSize(granted), dir, formatSize(asked), sysctl)
}

// formatSize writes n bytes the way a person would say it.
func formatSize(n int) string {
	const kib, mib = 1 << 10, 1 << 20
	switch {
	case n >= mib && n%mib == 0:
		return fmt.Sprintf("%d MiB", n/mib)
	case n >= mib:
		return fmt.Sprintf("%.1f MiB", float64(n)/mib)
	case n >= kib && n%kib == 0:
		return fmt.Sprintf("%d KiB", n/kib)
	case n >= kib:
		return fmt.Sprintf("%.1f KiB", float64(n)/kib)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
