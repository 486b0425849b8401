package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	whatFiles = "netkit extended (file to file)"
	whatNC    = "nc -N | nc -l > OUT && sync OUT"

	pairedNC = "paired netkit / nc+sync wall time"
)

// The two ends of the nc reference (netcat-openbsd), as
// ../shared/bench/README.md runs them. The receiver's shell exits once
// sync(1) has fsynced OUT; nc -N shuts its socket down at the end of
// FILE, so that the listener sees the end of the stream.
const (
	ncListen = `nc -l 127.0.0.1 "$1" > "$2" && sync "$2"`
	ncSend   = `exec nc -N 127.0.0.1 "$1" < "$2"`
)

// partNC runs, each round, netkit extended from the -mib file into a
// fresh receiver directory, then nc over loopback TCP into a file and
// sync, and compares their wall times: from the sender's start to the
// moment the received file is on disk.
func (b *bench) partNC(ctx context.Context, p *part) {
	if err := checkNC(ctx); err != nil {
		p.Err = err.Error()
		return
	}
	src, err := b.fileSource()
	if err != nil {
		p.Err = err.Error()
		return
	}
	p.note("both: a %d MiB random file from %s (page cache) to a new file beside it, which the receiver fsyncs before the sender is done", b.opt.mib, b.opt.dir)
	p.note("netkit: wall time of udp send, start to exit; it exits on the receiver's DONE, which netkit udp recv sends after fsync of the file and of its folder")
	p.note("nc: sh -c '%s' first, then wall time from starting sh -c '%s' to the listener's shell exiting after sync", ncListen, ncSend)
	p.note("MB/s of both is the wall-clock rate; cpu s of nc is both shells with their nc and sync")

rounds:
	for round := 1; round <= b.opt.runs && ctx.Err() == nil; round++ {
		for _, step := range []func() result{
			func() result { return b.netkitTransfer(ctx, xfer{what: whatFiles, src: src}) },
			func() result { return b.ncRun(ctx, src) },
		} {
			if ctx.Err() != nil {
				break rounds
			}
			r := step()
			r.Round = round
			b.progress(p, r)
			p.add(r)
		}
		p.pair(pairedNC, round, whatFiles, whatNC, wallSeconds)
	}
	nk := p.medianFig("median wall time of "+whatFiles, whatFiles, "s", wallSeconds)
	nc := p.medianFig("median wall time of "+whatNC, whatNC, "s", wallSeconds)
	p.medianFig("median "+whatFiles+", wall clock", whatFiles, "MB/s", wallMBps)
	p.medianFig("median "+whatNC+", wall clock", whatNC, "MB/s", wallMBps)
	p.ratioFig("netkit / nc+sync wall time (medians)", nk, nc, goal{})
	p.pairedFig(pairedNC, atMost(1))
	for _, w := range []string{whatFiles, whatNC} {
		p.medianFig("median CPU of "+w, w, "cpu s/GB", cpuPerGB)
	}
	p.noteCached()
}

func wallSeconds(r result) float64 { return r.WallSeconds }

// checkNC makes sure nc is netcat-openbsd, whose -N the reference needs.
func checkNC(ctx context.Context) error {
	if _, err := exec.LookPath("nc"); err != nil {
		return fmt.Errorf("nc not found: apt-get install -y netcat-openbsd")
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(cctx, "nc", "-h").CombinedOutput() // exits 1 after its usage
	if !strings.Contains(string(out), "OpenBSD netcat") {
		return fmt.Errorf("nc is not netcat-openbsd (nc -h does not say OpenBSD netcat): apt-get install -y netcat-openbsd")
	}
	return nil
}

// ncRun sends src once with nc into a file under the temporary directory,
// then syncs that file.
func (b *bench) ncRun(ctx context.Context, src source) result {
	r := result{What: whatNC, Bytes: src.size}
	fail := func(err error) result {
		r.Err = err.Error()
		return r
	}
	out := filepath.Join(b.root, "nc-out.bin")
	defer os.Remove(out)
	port, err := freeTCPPort()
	if err != nil {
		return fail(err)
	}
	ps := strconv.Itoa(port)
	recv, err := b.start("nc -l", "", "sh", "-c", ncListen, "sh", ps, out)
	if err != nil {
		return fail(err)
	}
	defer b.stop(recv)
	if err := waitTCPListen(ctx, recv, port, 5*time.Second); err != nil {
		return fail(err)
	}
	r.SourceCached = cachedShare(src.path)
	start := time.Now()
	send, err := b.start("nc -N", "", "sh", "-c", ncSend, "sh", ps, src.path)
	if err != nil {
		return fail(err)
	}
	defer b.stop(send)
	if err := send.wait(ctx, b.budget(src.size)); err != nil {
		return fail(err)
	}
	if send.Err() != nil {
		// The listener would wait for a sender that is gone.
		return fail(fmt.Errorf("nc -N: %v%s", send.Err(), send.tail()))
	}
	if err := recv.wait(ctx, b.budget(src.size)); err != nil {
		return fail(err)
	}
	r.WallSeconds = time.Since(start).Seconds()
	r.Seconds = r.WallSeconds
	r.MBps = float64(src.size) / 1e6 / r.WallSeconds
	r.WallMBps = r.MBps
	_, cs := usage(send)
	_, cr := usage(recv)
	r.CPUSeconds = cs + cr
	if recv.Err() != nil {
		return fail(fmt.Errorf("nc -l && sync: %v%s", recv.Err(), recv.tail()))
	}
	r.Verified, r.Err = check(out, src, b.opt.verify)
	return r
}

// freeTCPPort returns a TCP port that was free on 127.0.0.1 a moment ago.
func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitTCPListen waits until some socket listens on TCP port of this host,
// which is how nc -l, which prints nothing, says it is ready.
func waitTCPListen(ctx context.Context, p *proc, port int, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile("/proc/net/tcp"); err == nil && tcpListening(string(b), port) {
			return nil
		}
		select {
		case <-tick.C:
		case <-p.Done():
			return fmt.Errorf("%s exited (%v)%s", p.name, p.Err(), p.tail())
		case <-t.C:
			return fmt.Errorf("%s is not listening on tcp port %d after %v", p.name, port, timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// tcpListening reports whether the /proc/net/tcp text lists a socket in
// the LISTEN state (0A) whose local port is port.
func tcpListening(text string, port int) bool {
	for l := range strings.SplitSeq(text, "\n") {
		f := strings.Fields(l)
		if len(f) < 4 || f[3] != "0A" {
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		if !ok {
			continue
		}
		if v, err := strconv.ParseUint(hexPort, 16, 16); err == nil && int(v) == port {
			return true
		}
	}
	return false
}
