// Command netkit holds the clients and servers of a client-server
// networking suite. See README.md, or run netkit --help.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/netkit/netkit/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Run(ctx, os.Args[1:], cli.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	if err != nil && !errors.Is(err, cli.ErrInterrupted) {
		msg := err.Error()
		if !strings.HasPrefix(msg, "netkit") {
			msg = "netkit: " + msg
		}
		fmt.Fprintln(os.Stderr, msg)
	}
	os.Exit(cli.ExitCode(err))
}
