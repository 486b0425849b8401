package main

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/netkit/netkit/bench/internal/benchproc"
)

// server is the netkit process under test.
type server struct {
	*benchproc.Process
	addr  netip.AddrPort // the echo service's TCP address
	pprof string         // "http://HOST:PORT" when the binary is nkprof
}

// startServer runs bin with args and waits at most timeout for it to print
// its echo TCP address, which must be a loopback address.
func startServer(ctx context.Context, bin string, args, env []string, timeout time.Duration) (*server, error) {
	p, addr, pprof, err := benchproc.StartNetkit(ctx, bin, args, env, "echo", timeout)
	if err != nil {
		return nil, err
	}
	return &server{Process: p, addr: addr, pprof: pprof}, nil
}

// tcpKernelMem returns the pages the kernel holds for TCP socket buffers,
// machine-wide, from /proc/net/sockstat, in KiB.
func tcpKernelMem() int64 {
	b, err := os.ReadFile("/proc/net/sockstat")
	if err != nil {
		return -1
	}
	for line := range bytes.Lines(b) {
		f := strings.Fields(string(line))
		if len(f) == 0 || f[0] != "TCP:" {
			continue
		}
		for i := 1; i+1 < len(f); i += 2 {
			if f[i] == "mem" {
				pages, _ := strconv.ParseInt(f[i+1], 10, 64)
				return pages * int64(os.Getpagesize()) / 1024
			}
		}
	}
	return -1
}
