package cli

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/netkit/netkit/internal/hello"
	"github.com/netkit/netkit/internal/suite"
)

func helloCommand(stdio IO) *command {
	var f clientFlags
	fs := flag.NewFlagSet("netkit hello", flag.ContinueOnError)
	f.register(fs)
	f.find.register(fs, "hello")
	svc, _ := suite.Lookup("hello")
	def := svc.DefaultAddr("127.0.0.1", "listen")
	return &command{
		name:    "hello",
		usage:   "hello [HOST:PORT] [COMMAND] [flags]",
		summary: "send one command (Hello or Time) to the command server and print the reply",
		help: `
The address defaults to ` + def + ` and the command to Hello.

Examples:
  netkit hello
  netkit hello 127.0.0.1:7701 Time
  netkit hello localhost time --tls --insecure`,
		flags:    fs,
		maxArgs:  2,
		children: []*command{serviceServeCommand(stdio, "hello", serveExtras{})},
		check: func(args []string) error {
			if _, _, err := helloArgs(args, def); err != nil {
				return err
			}
			return f.check(fs)
		},
		run: func(ctx context.Context, args []string) error {
			addr, cmd, _ := helloArgs(args, def)
			given := len(args) == 2 || (len(args) == 1 && !isHelloCommand(args[0]))
			addr, err := f.find.target(ctx, stdio, given, addr, f.timeout)
			if err != nil {
				return err
			}
			return runHello(ctx, stdio, &f, addr, cmd)
		},
	}
}

// helloArgs reads [HOST:PORT] [COMMAND]: one argument is a command if it
// is one, else an address.
func helloArgs(args []string, def string) (addr, cmd string, err error) {
	addrArg, cmd := "", "Hello"
	switch len(args) {
	case 1:
		if isHelloCommand(args[0]) {
			cmd = args[0]
		} else {
			addrArg = args[0]
		}
	case 2:
		if isHelloCommand(args[0]) {
			return "", "", usagef("%q is a command and stands last: netkit hello [HOST:PORT] %s", args[0], args[0])
		}
		addrArg, cmd = args[0], args[1]
		if !isHelloCommand(cmd) {
			return "", "", usagef("command %q: want Hello or Time", cmd)
		}
	}
	addr, err = resolveAddr(addrArg, def)
	if err != nil {
		return "", "", usagef("%v", err)
	}
	return addr, cmd, nil
}

func isHelloCommand(s string) bool {
	return strings.EqualFold(s, "hello") || strings.EqualFold(s, "time")
}

func runHello(ctx context.Context, stdio IO, f *clientFlags, addr, cmd string) error {
	conn, err := f.dial(ctx, addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(f.timeout))
	if _, err := fmt.Fprintf(conn, "%s\n", cmd); err != nil {
		return fmt.Errorf("sending to %s: %w", addr, err)
	}
	reply, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil && reply == "" {
		if isTimeout(err) {
			return fmt.Errorf("no reply from %s within %s (is it a netkit hello server?)", addr, f.timeout)
		}
		return errNotServer(addr, "a netkit hello server", nil)
	}
	reply = strings.TrimRight(reply, "\r\n")
	if isTLSNotice([]byte(reply)) {
		return errPlainOnTLS(addr)
	}
	if msg, ok := strings.CutPrefix(reply, "error: "); ok {
		return fmt.Errorf("%s refused: %s", addr, msg)
	}
	if !helloReplyFits(cmd, reply) {
		return errNotServer(addr, "a netkit hello server", []byte(reply))
	}
	fmt.Fprintln(stdio.Stdout, reply)
	return nil
}

// helloReplyFits reports whether reply is the hello service's answer to cmd.
func helloReplyFits(cmd, reply string) bool {
	if strings.EqualFold(cmd, "time") {
		_, err := time.Parse(time.RFC3339, reply)
		return err == nil
	}
	return reply == hello.HelloReply
}
