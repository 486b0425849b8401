//go:build linux

package udpio

import (
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The mmsghdr arrays are built and the system calls made here rather than
// through golang.org/x/net/ipv4's ReadBatch and WriteBatch: those take
// addresses as net.Addr and return a new *net.UDPAddr for every datagram
// read, which is two allocations per datagram; here addresses go straight
// between netip.AddrPort and the sockaddr arrays the Conn keeps.

const (
	// groSlotSize is the read buffer of one message with GRO: the kernel
	// coalesces up to 64 KiB (gro_max_size, by default).
	groSlotSize = 1 << 16
	// gsoMaxSegments is the most datagrams the kernel takes in one
	// UDP_SEGMENT send: UDP_MAX_SEGMENTS, 64 since GSO came in.
	gsoMaxSegments = 64
	// gsoMaxBytes is the most payload in one UDP_SEGMENT send, that of
	// one IPv4 datagram.
	gsoMaxBytes = 65507
	// readOOB is the control buffer of one message with GRO: room for the
	// UDP_GRO message and a few the caller may have turned on.
	readOOB = 64
	// kernelMaxBuffer is the most SO_RCVBUF or SO_SNDBUF Linux takes,
	// INT_MAX/2, since it stores twice the size asked in an int.
	kernelMaxBuffer = math.MaxInt32 / 2
)

// groSlots is the most read messages with GRO, each groSlotSize bytes. A
// variable for the benchmarks.
var groSlots = 16

// gsoSpace is the control buffer of one UDP_SEGMENT message: a uint16.
var gsoSpace = unix.CmsgSpace(2)

type sysConn struct {
	rc     syscall.RawConn
	family int // AF_INET or AF_INET6
	gro    bool
	gso    atomic.Bool // WriteBatch turns it off; Offload reads it

	// The read half, guarded by Conn.rmu. Message i reads into
	// rbuf[i*rslot:(i+1)*rslot]; the messages of the last recvmmsg not
	// yet returned are rnext to rgot-1, the first from byte roff.
	rh     []unix.Mmsghdr
	riov   []unix.Iovec
	rname  []unix.RawSockaddrInet6
	roob   []byte
	rbuf   []byte
	rslot  int
	rseg   []int            // the UDP_GRO segment size of each message, 0 without
	raddr  []netip.AddrPort // the source of each message
	rnext  int
	rgot   int
	roff   int
	rvlen  int        // messages to ask recvmmsg for
	max    int        // the longest datagram returned whole
	rerr   unix.Errno // recvmmsg's error
	recvFn func(uintptr) bool
	rzone  zoneCache
	// coalesced counts the super-buffers read, for the tests.
	coalesced int

	// The write half, guarded by Conn.wmu. Message i carries wdg[i]
	// datagrams.
	wh     []unix.Mmsghdr
	wiov   []unix.Iovec
	wname  []unix.RawSockaddrInet6
	woob   []byte
	wdg    []int
	wused  int // iovecs that may point at a caller's buffers
	wvlen  int // messages to send
	wn     int // messages sendmmsg sent
	werr   unix.Errno
	sendFn func(uintptr) bool
	wzone  zoneCache
}

func (c *Conn) init(o Options) ([]string, error) {
	s := &c.sys
	rc, err := c.uc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("udpio: %w", err)
	}
	s.rc = rc
	var warnings []string
	var serr error
	err = rc.Control(func(fd uintptr) {
		warnings, serr = c.setup(int(fd), o)
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return nil, fmt.Errorf("udpio: %w", err)
	}

	s.max = o.MaxDatagram
	slots, size := o.Batch, o.MaxDatagram+1
	if s.gro {
		slots, size = min(o.Batch, groSlots), max(groSlotSize, o.MaxDatagram+1)
	}
	s.rh = make([]unix.Mmsghdr, slots)
	s.riov = make([]unix.Iovec, slots)
	s.rname = make([]unix.RawSockaddrInet6, slots)
	s.rbuf = make([]byte, slots*size)
	s.rslot = size
	s.rseg = make([]int, slots)
	s.raddr = make([]netip.AddrPort, slots)
	if s.gro {
		s.roob = alignedBytes(slots * readOOB)
	}
	for i := range s.rh {
		s.riov[i].Base = &s.rbuf[i*size]
		s.riov[i].SetLen(size)
		h := &s.rh[i].Hdr
		h.Iov = &s.riov[i]
		h.SetIovlen(1)
		h.Name = (*byte)(unsafe.Pointer(&s.rname[i]))
		if s.gro {
			h.Control = &s.roob[i*readOOB]
		}
	}
	s.recvFn = s.recvmmsg

	s.wh = make([]unix.Mmsghdr, o.Batch)
	s.wiov = make([]unix.Iovec, o.Batch)
	s.wname = make([]unix.RawSockaddrInet6, o.Batch)
	s.wdg = make([]int, o.Batch)
	if s.gso.Load() {
		s.woob = alignedBytes(o.Batch * gsoSpace)
	}
	s.sendFn = s.sendmmsg
	return warnings, nil
}

// setup checks the socket, sets its buffers and turns on the offloads.
func (c *Conn) setup(fd int, o Options) ([]string, error) {
	s := &c.sys
	family, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	if err != nil {
		return nil, os.NewSyscallError("getsockopt", err)
	}
	if family != unix.AF_INET && family != unix.AF_INET6 {
		return nil, fmt.Errorf("socket family %d is not IP", family)
	}
	s.family = family

	var warnings []string
	var w string
	c.rbuf, w = setBuffer(fd, unix.SO_RCVBUFFORCE, unix.SO_RCVBUF, o.ReadBuffer, "receive")
	if w != "" {
		warnings = append(warnings, w)
	}
	c.wbuf, w = setBuffer(fd, unix.SO_SNDBUFFORCE, unix.SO_SNDBUF, o.WriteBuffer, "send")
	if w != "" {
		warnings = append(warnings, w)
	}

	if !o.DisableOffload {
		// getsockopt(UDP_SEGMENT) fails with ENOPROTOOPT before 4.18.
		if _, err := unix.GetsockoptInt(fd, unix.SOL_UDP, unix.UDP_SEGMENT); err == nil {
			s.gso.Store(true)
		}
		s.gro = unix.SetsockoptInt(fd, unix.SOL_UDP, unix.UDP_GRO, 1) == nil
	}
	return warnings, nil
}

// setBuffer asks for a buffer of asked bytes, if any, with the force
// option, then the plain one, and returns what the kernel granted and a
// warning if that is less.
func setBuffer(fd, force, plain, asked int, dir string) (int, string) {
	var warning string
	if asked > 0 {
		asked = min(asked, kernelMaxBuffer)
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, force, asked); err != nil {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, plain, asked); err != nil {
				warning = fmt.Sprintf("setting the %s buffer to %s: %v", dir, formatSize(asked), err)
			}
		}
	}
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, plain)
	if err != nil {
		return 0, fmt.Sprintf("reading the %s buffer size: %v", dir, err)
	}
	granted := grantedBuffer(v)
	if warning == "" && asked > 0 {
		warning = bufferWarning(dir, asked, granted)
	}
	return granted, warning
}

// grantedBuffer is the buffer size set, given what getsockopt reports:
// Linux doubles the size set to leave room for its bookkeeping.
func grantedBuffer(getsockopt int) int {
	return getsockopt / 2
}

// alignedBytes returns n zero bytes aligned for a Cmsghdr.
func alignedBytes(n int) []byte {
	words := make([]uint64, (n+7)/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), n)
}

func (c *Conn) offload() (gso, gro bool) {
	return c.sys.gso.Load(), c.sys.gro
}

func (c *Conn) readBatch(ds []Datagram) (int, error) {
	s := &c.sys
	if s.rnext < s.rgot {
		return s.drain(ds), nil
	}
	s.rvlen = min(len(ds), len(s.rh))
	for i := range s.rvlen {
		h := &s.rh[i].Hdr
		h.Namelen = unix.SizeofSockaddrInet6
		if s.gro {
			h.SetControllen(readOOB)
		}
		h.Flags = 0
	}
	if err := s.rc.Read(s.recvFn); err != nil {
		return 0, err
	}
	if s.rerr != 0 {
		return 0, c.opError("read", "recvmmsg", s.rerr, netip.AddrPort{})
	}
	for i := range s.rgot {
		h := &s.rh[i]
		s.raddr[i] = s.sockaddrAt(i)
		s.rseg[i] = 0
		if s.gro && h.Hdr.Controllen > 0 {
			s.rseg[i] = groSize(s.roob[i*readOOB : i*readOOB+int(h.Hdr.Controllen)])
			if s.rseg[i] > 0 && int(h.Len) > s.rseg[i] {
				s.coalesced++
			}
		}
	}
	s.rnext, s.roff = 0, 0
	return s.drain(ds), nil
}

// recvmmsg is the function given to RawConn.Read, bound once in init so
// that no closure is made per call.
func (s *sysConn) recvmmsg(fd uintptr) bool {
	for {
		n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&s.rh[0])), uintptr(s.rvlen), 0, 0, 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		case 0:
			s.rgot, s.rerr = int(n), 0
		default:
			s.rgot, s.rerr = 0, e
		}
		return true
	}
}

// drain hands out the datagrams of the last recvmmsg, cutting
// super-buffers at their segment size.
func (s *sysConn) drain(ds []Datagram) int {
	n := 0
	for n < len(ds) && s.rnext < s.rgot {
		i := s.rnext
		h := &s.rh[i]
		b := s.rbuf[i*s.rslot : i*s.rslot+int(h.Len)]
		seg := s.rseg[i]
		if seg <= 0 {
			ds[n] = Datagram{B: cut(b, s.max), Addr: s.raddr[i]}
			n++
			s.rnext++
			continue
		}
		if h.Hdr.Flags&unix.MSG_TRUNC != 0 {
			// The buffer ends inside a datagram that was cut short,
			// unless by chance on a boundary: drop the piece.
			b = b[:len(b)-len(b)%seg]
		}
		for n < len(ds) && s.roff < len(b) {
			end := min(s.roff+seg, len(b))
			ds[n] = Datagram{B: cut(b[s.roff:end], s.max), Addr: s.raddr[i]}
			n++
			s.roff = end
		}
		if s.roff >= len(b) {
			s.rnext++
			s.roff = 0
		}
	}
	return n
}

// cut caps b at max+1 bytes, so that a caller sees an oversize
// datagram, and its capacity at its length, so that an append cannot
// spill into the next.
func cut(b []byte, max int) []byte {
	if len(b) > max+1 {
		b = b[:max+1]
	}
	return b[:len(b):len(b)]
}

// groSize returns the segment size in a UDP_GRO control message in oob,
// or 0.
func groSize(oob []byte) int {
	for len(oob) >= unix.SizeofCmsghdr {
		h, data, rest, err := unix.ParseOneSocketControlMessage(oob)
		if err != nil {
			return 0
		}
		if h.Level == unix.SOL_UDP && h.Type == unix.UDP_GRO && len(data) >= 4 {
			return int(int32(binary.NativeEndian.Uint32(data)))
		}
		oob = rest
	}
	return 0
}

// sockaddrAt decodes the source address of read message i.
func (s *sysConn) sockaddrAt(i int) netip.AddrPort {
	sa := &s.rname[i]
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), getPort(&sa4.Port))
	case unix.AF_INET6:
		a := netip.AddrFrom16(sa.Addr)
		if sa.Scope_id != 0 {
			a = a.WithZone(s.rzone.name(sa.Scope_id))
		}
		return netip.AddrPortFrom(a, getPort(&sa.Port))
	}
	return netip.AddrPort{}
}

// getPort and putPort convert a port to and from network byte order.
func getPort(p *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(p))
	return binary.BigEndian.Uint16(b[:])
}

func putPort(p *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(p))
	binary.BigEndian.PutUint16(b[:], port)
}

// putSockaddr encodes a as the destination in sa, for a socket of the
// given family, and returns its length: 0 on a connected socket, which
// sends to its peer whatever a is.
func putSockaddr(sa *unix.RawSockaddrInet6, family int, a netip.AddrPort, connected bool, zones *zoneCache) (uint32, error) {
	if connected {
		return 0, nil
	}
	if !a.IsValid() {
		return 0, ErrAddress
	}
	ip := a.Addr()
	if family == unix.AF_INET {
		ip = ip.Unmap()
		if !ip.Is4() {
			return 0, ErrAddress
		}
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		*sa4 = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: ip.As4()}
		putPort(&sa4.Port, a.Port())
		return unix.SizeofSockaddrInet4, nil
	}
	*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: ip.As16()}
	if z := ip.Zone(); z != "" {
		id, ok := zones.index(z)
		if !ok {
			return 0, ErrAddress
		}
		sa.Scope_id = id
	}
	putPort(&sa.Port, a.Port())
	return unix.SizeofSockaddrInet6, nil
}

func (c *Conn) writeBatch(ds []Datagram) (int, error) {
	s := &c.sys
	defer s.release()
	sent := 0
	for sent < len(ds) {
		gso := s.gso.Load()
		m, err := c.pack(ds[sent:], gso)
		if err != nil {
			return sent, err
		}
		s.wvlen = m
		if err := s.rc.Write(s.sendFn); err != nil {
			return sent, err
		}
		for i := range s.wn {
			sent += s.wdg[i]
		}
		if s.werr != 0 {
			// Linux fails a sendmmsg only when its first message fails;
			// after a later one fails it returns the count, and this loop
			// tries that one again.
			if gso && s.wdg[0] > 1 && gsoRefused(s.werr) {
				s.gso.Store(false)
				continue
			}
			return sent, c.opError("write", "sendmmsg", s.werr, ds[sent].Addr)
		}
	}
	return sent, nil
}

// pack lays ds out as the messages of one sendmmsg, as many as fit, and
// returns how many. With gso, a run of datagrams that UDP_SEGMENT can
// carry becomes one message of several iovecs; any other datagram is a
// message of its own.
func (c *Conn) pack(ds []Datagram, gso bool) (int, error) {
	s := &c.sys
	m, v := 0, 0 // messages and iovecs used
	for i := 0; i < len(ds) && m < len(s.wh) && v < len(s.wiov); {
		d := &ds[i]
		namelen, err := putSockaddr(&s.wname[m], s.family, d.Addr, c.connected, &s.wzone)
		if err != nil {
			if m > 0 {
				break // send what is packed; the next call fails on d
			}
			return 0, fmt.Errorf("%w: %v", err, d.Addr)
		}
		run := 1
		if seg := len(d.B); gso && seg > 0 && seg <= MaxDatagram {
			total := seg
			for j := i + 1; j < len(ds) && run < gsoMaxSegments && v+run < len(s.wiov); j++ {
				e := &ds[j]
				l := len(e.B)
				if (e.Addr != d.Addr && !c.connected) || l == 0 || l > seg || total+l > gsoMaxBytes {
					break
				}
				run++
				total += l
				if l < seg {
					break
				}
			}
		}
		for k := range run {
			iov := &s.wiov[v+k]
			b := ds[i+k].B
			iov.Base = nil
			if len(b) > 0 {
				iov.Base = &b[0]
			}
			iov.SetLen(len(b))
		}
		h := &s.wh[m]
		h.Len = 0
		h.Hdr = unix.Msghdr{Iov: &s.wiov[v], Namelen: namelen}
		h.Hdr.SetIovlen(run)
		if namelen > 0 {
			h.Hdr.Name = (*byte)(unsafe.Pointer(&s.wname[m]))
		}
		if run > 1 {
			oob := s.woob[m*gsoSpace : (m+1)*gsoSpace]
			cm := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
			cm.Level = unix.SOL_UDP
			cm.Type = unix.UDP_SEGMENT
			cm.SetLen(unix.CmsgLen(2))
			binary.NativeEndian.PutUint16(oob[unix.CmsgLen(0):], uint16(len(d.B)))
			h.Hdr.Control = &oob[0]
			h.Hdr.SetControllen(gsoSpace)
		}
		s.wdg[m] = run
		m++
		v += run
		i += run
	}
	s.wused = max(s.wused, v)
	return m, nil
}

// release forgets the caller's buffers, so that the Conn does not keep
// them from the garbage collector.
func (s *sysConn) release() {
	for i := range s.wused {
		s.wiov[i].Base = nil
	}
	s.wused = 0
}

// sendmmsg is the function given to RawConn.Write, bound once in init.
func (s *sysConn) sendmmsg(fd uintptr) bool {
	for {
		n, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&s.wh[0])), uintptr(s.wvlen), 0, 0, 0)
		switch e {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		case 0:
			s.wn, s.werr = int(n), 0
		default:
			s.wn, s.werr = 0, e
		}
		return true
	}
}

// gsoRefused tells the errors with which the kernel refuses a
// UDP_SEGMENT send, where a plain one may pass: EIO from a device without
// checksum offload, EINVAL or EMSGSIZE for a segment over the path MTU
// (or a socket with SO_NO_CHECK), and the kernel not knowing the option.
func gsoRefused(e unix.Errno) bool {
	switch e {
	case unix.EIO, unix.EINVAL, unix.EMSGSIZE, unix.ENOPROTOOPT, unix.EOPNOTSUPP:
		return true
	}
	return false
}

// opError wraps a system call's error the way the net package does.
func (c *Conn) opError(op, call string, e unix.Errno, to netip.AddrPort) error {
	var addr net.Addr
	if c.connected {
		addr = c.uc.RemoteAddr()
	} else if to.IsValid() {
		addr = net.UDPAddrFromAddrPort(to)
	}
	return &net.OpError{Op: op, Net: "udp", Source: c.uc.LocalAddr(), Addr: addr, Err: os.NewSyscallError(call, e)}
}

// zoneCache remembers the last IPv6 zone seen, by name and by index, as
// the net package's lookups allocate; one suffices for link-local peers
// on one interface.
type zoneCache struct {
	id   uint32
	zone string
}

func (z *zoneCache) name(id uint32) string {
	if id != z.id || z.zone == "" {
		z.id, z.zone = id, strconv.FormatUint(uint64(id), 10)
		if ifi, err := net.InterfaceByIndex(int(id)); err == nil {
			z.zone = ifi.Name
		}
	}
	return z.zone
}

func (z *zoneCache) index(zone string) (uint32, bool) {
	if zone == z.zone && z.id != 0 {
		return z.id, true
	}
	if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
		z.id, z.zone = uint32(n), zone
		return z.id, true
	}
	ifi, err := net.InterfaceByName(zone)
	if err != nil {
		return 0, false
	}
	z.id, z.zone = uint32(ifi.Index), zone
	return z.id, true
}
