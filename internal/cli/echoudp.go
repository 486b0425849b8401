package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// echoUDPMax is the most input one datagram carries: a line longer than
// this goes out in several, none fragmented on an Ethernet path.
const echoUDPMax = 1400

// runEchoUDP is RFC 862 over UDP: each line of standard input is sent as a
// datagram, the echo written to standard output, and its round trip to
// standard error.
func runEchoUDP(ctx context.Context, stdio IO, f *echoFlags, addr string) error {
	d := net.Dialer{Timeout: f.timeout}
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return dialError(addr, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()

	in := bufio.NewReaderSize(stdio.Stdin, echoUDPMax)
	buf := make([]byte, 64<<10)
	var n int
	var total, lo, hi time.Duration
	for {
		chunk, rerr := readChunk(in)
		if len(chunk) > 0 {
			rtt, err := echoOnce(conn, buf, chunk, f.timeout, addr)
			if ctx.Err() != nil {
				return ErrInterrupted
			}
			if err != nil {
				return err
			}
			stdio.Stdout.Write(chunk)
			n++
			total += rtt
			if n == 1 || rtt < lo {
				lo = rtt
			}
			hi = max(hi, rtt)
			if !f.quiet {
				fmt.Fprintf(stdio.Stderr, "%d bytes from %s: round trip %.3f ms\n", len(chunk), addr, ms(rtt))
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return fmt.Errorf("reading standard input: %w", rerr)
		}
	}
	if n > 0 && !f.quiet {
		fmt.Fprintf(stdio.Stderr, "%d datagrams echoed by %s: round trip min %.3f ms, avg %.3f ms, max %.3f ms\n",
			n, addr, ms(lo), ms(total/time.Duration(n)), ms(hi))
	}
	return nil
}

// readChunk returns the next line of r, or its next echoUDPMax bytes when
// the line is longer.
func readChunk(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		err = nil
	}
	return bytes.Clone(line), err
}

// echoOnce sends one datagram and waits for its echo, ignoring datagrams
// that are not it (a late echo of an earlier one).
func echoOnce(conn net.Conn, buf, msg []byte, timeout time.Duration, addr string) (time.Duration, error) {
	start := time.Now()
	if _, err := conn.Write(msg); err != nil {
		return 0, fmt.Errorf("sending to %s: %w", addr, err)
	}
	conn.SetReadDeadline(start.Add(timeout))
	for {
		n, err := conn.Read(buf)
		switch {
		case isTimeout(err):
			return 0, fmt.Errorf("no echo from %s within %s (is an echo server there? over UDP a lost datagram or a firewall looks the same)", addr, timeout)
		case errors.Is(err, syscall.ECONNREFUSED):
			return 0, fmt.Errorf("nothing is listening on UDP %s (is 'netkit serve' running?)", addr)
		case err != nil:
			return 0, fmt.Errorf("reading from %s: %w", addr, err)
		}
		if bytes.Equal(buf[:n], msg) {
			return time.Since(start), nil
		}
		if isTLSNotice(buf[:n]) || len(buf[:n]) != len(msg) {
			return 0, errNotServer(addr, "an RFC 862 echo server", buf[:n])
		}
	}
}
