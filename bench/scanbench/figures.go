package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/netkit/netkit/bench/internal/benchproc"
	"github.com/netkit/netkit/internal/netns"
)

// scanTimeout bounds one scan: nmap -T4 of a host dropping 20,000 ports
// takes about 20 s here.
const scanTimeout = 5 * time.Minute

// scanResult is one timed scan.
type scanResult struct {
	wall   time.Duration
	maxRSS int64 // KiB
	answer answer
	raw    string // the XML output
}

// timeScan runs argv inside ns, or here when ns is nil, after prefix
// (such as prlimit), with its XML output in out, and reads what it
// found.
func timeScan(ctx context.Context, ns *netns.Net, prefix, argv []string, out string) (scanResult, error) {
	ctx, cancel := context.WithTimeout(ctx, scanTimeout)
	defer cancel()
	args := append(prefix, argv...)
	if ns != nil {
		args = append([]string{"ip", "netns", "exec", ns.Name}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	var errOut strings.Builder
	cmd.Stderr = &errOut
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return scanResult{}, err
	}
	// The peak RSS is read from /proc while the scanner runs (VmHWM, of
	// the program that "ip netns exec" and prlimit exec in the same
	// process), not from getrusage: a child Go starts shares the parent's
	// memory until it execs, and Linux counts the parent's peak as the
	// child's.
	var rss atomic.Int64
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if m, err := benchproc.ReadMem(cmd.Process.Pid); err == nil {
				rss.Store(max(rss.Load(), m.HWM))
			} else {
				return // gone
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	err := cmd.Wait()
	wall := time.Since(start)
	<-sampled
	if err != nil {
		return scanResult{}, fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, errOut.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return scanResult{}, err
	}
	a, err := readXML(b)
	if err != nil {
		return scanResult{}, fmt.Errorf("%s: %w", out, err)
	}
	return scanResult{wall: wall, maxRSS: rss.Load(), answer: a, raw: string(b)}, nil
}

// pair runs netkit's and the reference's scans of one round, in turn,
// the first one first on even rounds.
func pair(ctx context.Context, round int, nk, ref func() (scanResult, error)) (scanResult, scanResult, error) {
	var a, b scanResult
	var err error
	if round%2 == 0 {
		if a, err = nk(); err == nil {
			b, err = ref()
		}
	} else {
		if b, err = ref(); err == nil {
			a, err = nk()
		}
	}
	return a, b, err
}

func (c *config) netkitArgs(out string, args ...string) []string {
	return append([]string{c.bin, "scan", "--no-progress", "-oX", out}, args...)
}

func (c *config) nmapArgs(out string, args ...string) []string {
	return append([]string{c.nmap, "-sT", "-n", "-oX", out}, args...)
}

// listen opens n listeners at random ports of addr (random among
// [lo, hi]) in ns, and returns their ports.
func listen(ns *netns.Net, addr netip.Addr, n, lo, hi int) ([]string, func(), error) {
	var ls []net.Listener
	closeAll := func() {
		for _, l := range ls {
			l.Close()
		}
	}
	var ports []string
	for len(ports) < n {
		p := strconv.Itoa(lo + rand.IntN(hi-lo+1))
		if slices.Contains(ports, p) {
			continue
		}
		l, err := ns.ListenAccepting(net.JoinHostPort(addr.String(), p))
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		ls = append(ls, l)
		ports = append(ports, p)
	}
	return sortPorts(ports), closeAll, nil
}

func newNet(ctx context.Context, prefix string) (*netns.Net, error) {
	ns, err := netns.Create(ctx, prefix)
	if err != nil && ns != nil {
		ns.Close()
	}
	return ns, err
}

// rounds times the pair of scans c.rounds times into s, checking each
// round's answers against want. nk and ref get the file each writes its
// XML to.
func rounds(ctx context.Context, c *config, w io.Writer, s summary, want answer, nk, ref func(out string) (scanResult, error)) (summary, error) {
	dir, err := os.MkdirTemp("", "scanbench-")
	if err != nil {
		return s, err
	}
	defer os.RemoveAll(dir)
	nkOut, refOut := filepath.Join(dir, "netkit.xml"), filepath.Join(dir, "ref.xml")
	for r := range c.rounds {
		a, b, err := pair(ctx, r, func() (scanResult, error) { return nk(nkOut) }, func() (scanResult, error) { return ref(refOut) })
		if err != nil {
			return s, err
		}
		s.add(w, r, a, b, want)
	}
	return s, nil
}

// loopbackNet makes a namespace whose own loopback has c.listeners
// listeners at random ports, where nothing else listens, and the answer a
// full scan of it must give. done undoes it.
func loopbackNet(ctx context.Context, c *config, prefix string) (ns *netns.Net, want answer, done func(), err error) {
	if ns, err = newNet(ctx, prefix); err != nil {
		return nil, want, nil, err
	}
	lo := netip.MustParseAddr("127.0.0.1")
	ports, closeL, err := listen(ns, lo, c.listeners, 1, 65535)
	if err != nil {
		ns.Close()
		return nil, want, nil, err
	}
	want = answer{up: []string{"127.0.0.1"}, open: map[string][]string{"127.0.0.1": ports}}
	return ns, want, func() { closeL(); ns.Close() }, nil
}

func benchLoopback(ctx context.Context, c *config, w io.Writer) (summary, error) {
	ns, want, closeNet, err := loopbackNet(ctx, c, "sbloop")
	if err != nil {
		return summary{}, err
	}
	defer closeNet()
	return rounds(ctx, c, w, summary{name: "loopback", ref: "nmap -sT -T5 -p-", goal: 0.5}, want,
		func(out string) (scanResult, error) {
			return timeScan(ctx, ns, nil, c.netkitArgs(out, "-p-", "-T5", "127.0.0.1"), out)
		},
		func(out string) (scanResult, error) {
			return timeScan(ctx, ns, nil, c.nmapArgs(out, "-Pn", "-p-", "-T5", "127.0.0.1"), out)
		})
}

func benchFDLimit(ctx context.Context, c *config, w io.Writer) (summary, error) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		return summary{}, errors.New("prlimit (util-linux) is not installed")
	}
	ns, want, closeNet, err := loopbackNet(ctx, c, "sbfd")
	if err != nil {
		return summary{}, err
	}
	defer closeNet()
	return rounds(ctx, c, w, summary{name: "fdlimit", ref: "netkit, no lowered limit", goal: 1.5}, want,
		func(out string) (scanResult, error) {
			return timeScan(ctx, ns, []string{prlimit, "--nofile=1024:1024"}, c.netkitArgs(out, "-p-", "-T5", "127.0.0.1"), out)
		},
		func(out string) (scanResult, error) {
			return timeScan(ctx, ns, nil, c.netkitArgs(out, "-p-", "-T5", "127.0.0.1"), out)
		})
}

// benchDropped scans the far host from this side of the veth.
func benchDropped(ctx context.Context, c *config, w io.Writer) (summary, error) {
	ns, err := newNet(ctx, "sbdrop")
	if err != nil {
		return summary{}, err
	}
	defer ns.Close()
	if err := ns.ExecIn(ctx, "iptables", "-A", "INPUT", "-p", "tcp", "--dport", "1:20000", "-j", "DROP"); err != nil {
		return summary{}, err
	}
	ports, closeL, err := listen(ns, ns.Far, 10, 20001, 65535)
	if err != nil {
		return summary{}, err
	}
	defer closeL()
	far := ns.Far.String()
	want := answer{up: []string{far}, open: map[string][]string{far: ports}, filtered: map[string]int{far: 20000}}
	return rounds(ctx, c, w, summary{name: "dropped", ref: "nmap -sT -T4 -p-", goal: 0.2}, want,
		func(out string) (scanResult, error) {
			return timeScan(ctx, nil, nil, c.netkitArgs(out, "-p-", "-T4", far), out)
		},
		func(out string) (scanResult, error) {
			return timeScan(ctx, nil, nil, c.nmapArgs(out, "-Pn", "-p-", "-T4", far), out)
		})
}

// benchSubnet scans a /24 from this side of the veth (with discovery):
// 30 far addresses, every other one with a few of the top 100 ports open.
func benchSubnet(ctx context.Context, c *config, w io.Writer) (summary, error) {
	ns, err := newNet(ctx, "sbnet")
	if err != nil {
		return summary{}, err
	}
	defer ns.Close()
	var octets []byte
	for o := byte(10); o < 40; o++ {
		octets = append(octets, o)
	}
	addrs, err := ns.AddAddrs(ctx, octets...)
	if err != nil {
		return summary{}, err
	}
	want := answer{up: []string{ns.Far.String()}, open: map[string][]string{}}
	var closers []func()
	defer func() {
		for _, f := range closers {
			f()
		}
	}()
	sets := [][]string{{"22"}, {"80", "443"}, {"8080"}, {"3389", "21"}, {"25", "53", "110"}}
	for i, a := range addrs {
		want.up = append(want.up, a.String())
		if i%2 == 1 {
			continue
		}
		set := sets[i/2%len(sets)]
		for _, p := range set {
			l, err := ns.ListenAccepting(net.JoinHostPort(a.String(), p))
			if err != nil {
				return summary{}, err
			}
			closers = append(closers, func() { l.Close() })
		}
		want.open[a.String()] = sortPorts(slices.Clone(set))
	}
	slices.Sort(want.up)
	block, self := ns.Prefix.String(), ns.Near.String()
	return rounds(ctx, c, w, summary{name: "subnet", ref: "nmap -sT --top-ports 100 /24", goal: 0.5}, want,
		func(out string) (scanResult, error) {
			return timeScan(ctx, nil, nil, c.netkitArgs(out, "--top", "100", "--exclude", self, block), out)
		},
		func(out string) (scanResult, error) {
			return timeScan(ctx, nil, nil, c.nmapArgs(out, "--top-ports", "100", "--exclude", self, block), out)
		})
}
