package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/netkit/netkit/internal/echo"
	"github.com/netkit/netkit/internal/suite"
)

type echoFlags struct {
	clientFlags
	quiet bool
	udp   bool
}

func echoCommand(stdio IO) *command {
	var f echoFlags
	fs := flag.NewFlagSet("netkit echo", flag.ContinueOnError)
	f.register(fs)
	f.find.register(fs, "echo")
	fs.BoolVar(&f.quiet, "q", false, "do not print the server's welcome line (with --udp: the round trips)")
	fs.BoolVar(&f.udp, "udp", false, "RFC 862 echo over UDP: each line one datagram, its round-trip time on standard error")
	svc, _ := suite.Lookup("echo")
	def := svc.DefaultAddr("127.0.0.1", "listen")
	return &command{
		name:    "echo",
		usage:   "echo [HOST:PORT] [flags]",
		summary: "send standard input to an echo server and print what comes back",
		help: `
The address defaults to ` + def + `. The server's welcome line goes to
standard error; the echoed bytes go to standard output, so the output is
exactly the input.

With --udp each line of input goes out as one datagram (RFC 862), and
each echo's round-trip time is printed to standard error, with a summary;
a datagram not echoed within --timeout fails the command. The suite
answers 50 datagrams a second from one address (a burst of 100).

Examples:
  echo hello | netkit echo
  netkit echo 192.168.1.20:7707 < notes.txt
  printf 'one\ntwo\n' | netkit echo --udp
  netkit echo --tls --fingerprint AB:CD:... localhost`,
		flags:    fs,
		maxArgs:  1,
		children: []*command{serviceServeCommand(stdio, "echo", serveExtras{})},
		check: func(args []string) error {
			if _, err := resolveAddr(firstArg(args), def); err != nil {
				return usagef("%v", err)
			}
			if f.udp && f.tls {
				return usagef("--udp and --tls do not go together: RFC 862 over UDP is plain text")
			}
			return f.check(fs)
		},
		run: func(ctx context.Context, args []string) error {
			addr, _ := resolveAddr(firstArg(args), def)
			addr, err := f.find.target(ctx, stdio, firstArg(args) != "", addr, f.timeout)
			if err != nil {
				return err
			}
			if f.udp {
				return runEchoUDP(ctx, stdio, &f, addr)
			}
			return runEcho(ctx, stdio, &f, addr)
		},
	}
}

func runEcho(ctx context.Context, stdio IO, f *echoFlags, addr string) error {
	conn, err := f.dial(ctx, addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	// Standard input goes out at once, without waiting for the welcome
	// line: a server that is not an echo server answers it (or a TLS
	// server its first byte) with something else, named at once.
	sent := make(chan error, 1)
	go func() {
		_, err := io.Copy(conn, stdio.Stdin)
		if err == nil {
			err = closeWrite(conn)
		}
		sent <- err
	}()
	r := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(f.timeout))
	welcome, err := r.ReadString('\n')
	switch {
	case isTLSNotice([]byte(welcome)):
		return errPlainOnTLS(addr)
	case err != nil && isTimeout(err):
		hint := ""
		if !f.tls {
			hint = "; if it speaks TLS, connect with --tls"
		}
		return fmt.Errorf("no welcome line from %s within %s: is it a netkit echo server%s?", addr, f.timeout, hint)
	case err != nil && ctx.Err() != nil:
		return ErrInterrupted
	case err != nil:
		return errNotServer(addr, "a netkit echo server", []byte(welcome))
	}
	conn.SetReadDeadline(time.Time{})
	if msg, ok := strings.CutPrefix(welcome, "error: "); ok {
		return fmt.Errorf("%s refused: %s", addr, strings.TrimSpace(msg))
	}
	if welcome != echo.Welcome {
		return errNotServer(addr, "a netkit echo server", []byte(welcome))
	}
	if !f.quiet {
		fmt.Fprint(stdio.Stderr, welcome)
	}

	_, err = io.Copy(stdio.Stdout, r)
	if ctx.Err() != nil {
		return ErrInterrupted
	}
	if err != nil {
		return fmt.Errorf("reading from %s: %w", addr, err)
	}
	// The server closes after it has echoed our end of input, so the
	// sender is done or about to be; if it is still reading standard
	// input, the server hung up early.
	select {
	case err := <-sent:
		if err != nil {
			return fmt.Errorf("sending to %s: %w", addr, err)
		}
	case <-time.After(2 * time.Second):
		return fmt.Errorf("%s closed the connection before everything was echoed", addr)
	}
	return nil
}

// closeWrite half-closes conn so the server sees the end of the input.
func closeWrite(conn net.Conn) error {
	type closeWriter interface{ CloseWrite() error }
	if cw, ok := conn.(closeWriter); ok {
		return cw.CloseWrite()
	}
	return errors.New("connection cannot half-close")
}

func firstArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return ""
}
