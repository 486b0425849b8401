//go:build !linux

package udpio

import (
	"fmt"
)

// sysConn, away from Linux, is one datagram per system call through the
// net package: no batches and no offloads.
type sysConn struct {
	// rbuf takes the largest datagram, so that one over MaxDatagram is
	// seen as such rather than as an error on systems that fail a read
	// into a short buffer.
	rbuf []byte
	max  int
}

func (c *Conn) init(o Options) ([]string, error) {
	var warnings []string
	if o.ReadBuffer > 0 {
		if err := c.uc.SetReadBuffer(o.ReadBuffer); err != nil {
			warnings = append(warnings, fmt.Sprintf("setting the receive buffer to %s: %v", formatSize(o.ReadBuffer), err))
		} else {
			c.rbuf = o.ReadBuffer
		}
	}
	if o.WriteBuffer > 0 {
		if err := c.uc.SetWriteBuffer(o.WriteBuffer); err != nil {
			warnings = append(warnings, fmt.Sprintf("setting the send buffer to %s: %v", formatSize(o.WriteBuffer), err))
		} else {
			c.wbuf = o.WriteBuffer
		}
	}
	c.sys.rbuf = make([]byte, 1<<16)
	c.sys.max = o.MaxDatagram
	return warnings, nil
}

func (c *Conn) offload() (gso, gro bool) { return false, false }

func (c *Conn) readBatch(ds []Datagram) (int, error) {
	n, addr, err := c.uc.ReadFromUDPAddrPort(c.sys.rbuf)
	if err != nil {
		return 0, err
	}
	n = min(n, c.sys.max+1)
	ds[0] = Datagram{B: c.sys.rbuf[:n:n], Addr: addr}
	return 1, nil
}

func (c *Conn) writeBatch(ds []Datagram) (int, error) {
	for i, d := range ds {
		var err error
		switch {
		case c.connected:
			_, err = c.uc.Write(d.B)
		case !d.Addr.IsValid():
			err = fmt.Errorf("%w: %v", ErrAddress, d.Addr)
		default:
			_, err = c.uc.WriteToUDPAddrPort(d.B, d.Addr)
		}
		if err != nil {
			return i, err
		}
	}
	return len(ds), nil
}
