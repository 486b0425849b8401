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
	whatLegacy = "netkit --legacy --fragment-size 1428 (files)"
	whatATFTP  = "atftp blksize 1428 / tftpd-hpa (files)"
)

func (b *bench) partTFTP(ctx context.Context, p *part) {
	for _, tool := range []string{"in.tftpd", "atftp"} {
		if _, err := exec.LookPath(tool); err != nil {
			p.Err = fmt.Sprintf("%s not found: apt-get install -y tftpd-hpa atftp", tool)
			return
		}
	}
	dir := filepath.Join(b.root, "tftp")
	if err := os.Mkdir(dir, 0o755); err != nil {
		p.Err = err.Error()
		return
	}
	defer os.RemoveAll(dir)
	src, err := makeSource(filepath.Join(dir, "src.bin"), int64(b.opt.tftpMiB)<<20, false)
	if err != nil {
		p.Err = err.Error()
		return
	}
	port, err := freeUDPPort()
	if err != nil {
		p.Err = err.Error()
		return
	}
	srv, err := b.start("in.tftpd", "", "in.tftpd", "-L", "-s", dir, "-a", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		p.Err = err.Error()
		return
	}
	defer b.stop(srv)
	if err := waitUDPBound(ctx, srv, port, 5*time.Second); err != nil {
		p.Err = err.Error()
		return
	}
	p.note("both: %d MiB random file, read from the page cache and written to disk; the ratio is of wall-clock rates (process start to exit) for both, netkit's own figure shown beside", b.opt.tftpMiB)
	p.note("in.tftpd -L -s DIR -a 127.0.0.1:%d (one server for every round); atftp --option \"blksize 1428\" --get", port)
	p.note("cpu s of atftp is the client's alone: in.tftpd serves each transfer from a child udpbench does not wait for; netkit's is sender and receiver")

rounds:
	for round := 1; round <= b.opt.runs && ctx.Err() == nil; round++ {
		for _, step := range []func() result{
			func() result {
				return b.netkitTransfer(ctx, xfer{what: whatLegacy, src: src, legacy: true})
			},
			func() result { return b.atftpRun(ctx, port, src) },
		} {
			if ctx.Err() != nil {
				break rounds
			}
			r := step()
			r.Round = round
			b.progress(p, r)
			p.add(r)
		}
		p.pair("paired netkit legacy / atftp (wall clock)", round, whatLegacy, whatATFTP, wallMBps)
	}
	p.medianFig("median "+whatLegacy+", own timer", whatLegacy, "MB/s", ownMBps)
	nk := p.medianFig("median "+whatLegacy+", wall clock", whatLegacy, "MB/s", wallMBps)
	at := p.medianFig("median "+whatATFTP+", wall clock", whatATFTP, "MB/s", wallMBps)
	p.ratioFig("netkit legacy / atftp (wall clock)", nk, at, goal{})
	p.pairedFig("paired netkit legacy / atftp (wall clock)", goal{})
}

// atftpRun fetches src from the tftpd on port once.
func (b *bench) atftpRun(ctx context.Context, port int, src source) result {
	r := result{What: whatATFTP, Bytes: src.size}
	out := filepath.Join(b.root, "atftp-out.bin")
	defer os.Remove(out)
	p, err := b.runToEnd(ctx, b.budget(src.size), "atftp", "", "atftp", "--option", "blksize 1428", "--get", "-r", filepath.Base(src.path), "-l", out, "127.0.0.1", strconv.Itoa(port))
	if err != nil {
		r.Err = err.Error()
		return r
	}
	_, r.CPUSeconds = usage(p)
	r.WallSeconds = p.Wall().Seconds()
	r.Seconds = r.WallSeconds
	r.MBps = float64(src.size) / 1e6 / r.WallSeconds
	r.WallMBps = r.MBps
	if p.Err() != nil {
		r.Err = fmt.Sprintf("atftp: %v%s", p.Err(), p.tail())
		return r
	}
	if !strings.Contains(strings.Join(p.all(), "\n"), "blksize = 1428") {
		r.Err = "atftp did not report blksize = 1428 accepted: the rate would be of another block size" + p.tail()
		return r
	}
	r.Verified, r.Err = check(out, src, b.opt.verify)
	return r
}

// waitUDPBound waits until some socket is bound to UDP port on this host,
// which is how a server that prints nothing says it is ready.
func waitUDPBound(ctx context.Context, p *proc, port int, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile("/proc/net/udp"); err == nil && udpBound(string(b), port) {
			return nil
		}
		select {
		case <-tick.C:
		case <-p.Done():
			return fmt.Errorf("%s exited (%v)%s", p.name, p.Err(), p.tail())
		case <-t.C:
			return fmt.Errorf("%s is not bound to udp port %d after %v", p.name, port, timeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// udpBound reports whether the /proc/net/udp text lists a socket whose
// local port is port.
func udpBound(text string, port int) bool {
	for l := range strings.SplitSeq(text, "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
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

// freeUDPPort returns a UDP port that was free on 127.0.0.1 a moment ago.
func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}
