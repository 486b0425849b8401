package scan

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The probe path makes four system calls per port on loopback (socket,
// connect, getsockopt, close), none of which can block: the socket is
// non-blocking. They are made with RawSyscall, which skips the
// scheduler's bookkeeping for calls that may block (handing the P to
// another thread, waking sysmon); that bookkeeping cost more than the
// calls themselves. epoll_wait, which does block, goes through unix as
// usual.

func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func rawSocket(family, typ int) (int, error) {
	fd, _, e := unix.RawSyscall(unix.SYS_SOCKET, uintptr(family), uintptr(typ), 0)
	return int(fd), errnoErr(e)
}

func rawConnect4(fd int, sa *unix.RawSockaddrInet4) error {
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(sa)), unix.SizeofSockaddrInet4)
	return errnoErr(e)
}

func rawConnect6(fd int, sa *unix.RawSockaddrInet6) error {
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(sa)), unix.SizeofSockaddrInet6)
	return errnoErr(e)
}

// rawSoError returns the socket's pending error (SO_ERROR), clearing it.
func rawSoError(fd int) (unix.Errno, error) {
	var v int32
	l := uint32(4)
	_, _, e := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_ERROR, uintptr(unsafe.Pointer(&v)), uintptr(unsafe.Pointer(&l)), 0)
	return unix.Errno(v), errnoErr(e)
}

func rawClose(fd int) {
	unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
}

// rawConnected reports whether fd has a peer (a completed connect).
func rawConnected(fd int) bool {
	var sa unix.RawSockaddrAny
	l := uint32(unix.SizeofSockaddrAny)
	_, _, e := unix.RawSyscall(unix.SYS_GETPEERNAME, uintptr(fd), uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&l)))
	return e == 0
}

// htons puts a port in network byte order for a raw sockaddr.
func htons(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	b[0], b[1] = byte(p>>8), byte(p)
	return p
}
