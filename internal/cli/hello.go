package cli

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/netkit/netkit/internal/suite"
)

func helloCommand(stdio IO) *command {
	var f clientFlags
	fs := flag.NewFlagSet("netkit hello", flag.ContinueOnError)
	f.register(fs)
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
		run: func(ctx context.Context, args []string) error {
			addrArg, cmd := "", "Hello"
			switch len(args) {
			case 1:
				// One argument: a command if it is one, else an address.
				if isHelloCommand(args[0]) {
					cmd = args[0]
				} else {
					addrArg = args[0]
				}
			case 2:
				addrArg, cmd = args[0], args[1]
			}
			addr, err := resolveAddr(addrArg, def)
			if err != nil {
				return &UsageError{Cmd: "netkit hello", Err: err}
			}
			return runHello(ctx, stdio, &f, addr, cmd)
		},
	}
}

func isHelloCommand(s string) bool {
	return strings.EqualFold(s, "hello") || strings.EqualFold(s, "time")
}

func runHello(ctx context.Context, stdio IO, f *clientFlags, addr, cmd string) error {
	if strings.ContainsAny(cmd, "\r\n") {
		return &UsageError{Cmd: "netkit hello", Err: fmt.Errorf("the command must be one line")}
	}
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
		return fmt.Errorf("no reply from %s: %w", addr, err)
	}
	reply = strings.TrimRight(reply, "\r\n")
	if msg, ok := strings.CutPrefix(reply, "error: "); ok {
		return fmt.Errorf("%s refused: %s", addr, msg)
	}
	fmt.Fprintln(stdio.Stdout, reply)
	return nil
}
