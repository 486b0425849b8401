// Command nkprof is cmd/netkit with the net/http/pprof handlers on a free
// loopback port, for chatload, echoload and rpsload -pprof: netkit itself
// has no profiling flag. It prints "nkprof: pprof on http://ADDR" to
// standard error and then runs netkit with its arguments exactly as
// cmd/netkit does. The
// handlers cost one listener and one goroutine, so the process's memory is
// netkit's plus a few KB.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"syscall"

	"github.com/netkit/netkit/internal/cli"
)

func main() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(os.Stderr, "nkprof: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "nkprof: pprof on http://%s\n", l.Addr())
	go http.Serve(l, http.DefaultServeMux)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = cli.Run(ctx, os.Args[1:], cli.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	l.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "netkit: %v\n", err)
	}
	os.Exit(cli.ExitCode(err))
}
