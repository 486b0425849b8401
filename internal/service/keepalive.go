package service

import (
	"net"
	"time"
)

// KeepAlive is the TCP keepalive every netkit server sets on the
// connections it accepts: after 30 s of silence the kernel probes the
// peer every 15 s, and a peer that answers none of 4 probes is gone, so a
// dead peer (powered off, unplugged, forgotten by a NAT) is found within
// 30 s + 4 × 15 s = 90 s however long a connection may stay quiet.
// Services where silence is normal, such as the chat, rely on it instead
// of an idle timeout.
var KeepAlive = net.KeepAliveConfig{
	Enable:   true,
	Idle:     30 * time.Second,
	Interval: 15 * time.Second,
	Count:    4,
}

// SetKeepAlive applies KeepAlive to c when it is a TCP connection (or
// wraps one, as a TLS connection does); other connections are left alone.
func SetKeepAlive(c net.Conn) error {
	for {
		switch cc := c.(type) {
		case *net.TCPConn:
			return cc.SetKeepAliveConfig(KeepAlive)
		case interface{ NetConn() net.Conn }:
			c = cc.NetConn()
		default:
			return nil
		}
	}
}
