// Package netns builds small networks for tests: a network namespace (the
// far host) joined to this one by a veth pair, with iptables inside it,
// so that a test can scan or talk to a host whose ports are open, closed,
// dropped or rejected, without touching any real network. It needs root
// and iproute2; tests skip without them, and fail under CI (CI=true),
// where they must run.
package netns

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Net is a namespace joined to the test's own by a veth pair on a /24:
// the test's side has .1, the namespace .2.
type Net struct {
	Name   string // the namespace
	Prefix netip.Prefix
	Near   netip.Addr // this side's address (.1)
	Far    netip.Addr // the namespace's address (.2)
	t      testing.TB
	near   string // this side's veth
	farDev string // the namespace's veth
}

// Require skips t (or fails it under CI) unless namespaces can be made.
func Require(t testing.TB) {
	t.Helper()
	why := ""
	switch {
	case os.Geteuid() != 0:
		why = "network namespaces need root"
	default:
		if _, err := exec.LookPath("ip"); err != nil {
			why = "ip (iproute2) is not installed"
		}
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("under CI: %s", why)
	}
	t.Skipf("skipping: %s", why)
}

// New makes a namespace named prefix-RANDOM on a random 10.X.Y.0/24 and
// removes it when the test ends.
func New(t testing.TB, prefix string) *Net {
	t.Helper()
	Require(t)
	var b [3]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	n := &Net{Name: prefix + "-" + id, t: t, near: "nk" + id + "a"}
	// 10.128.0.0/9 with a random /24, away from the usual home networks.
	n.Prefix = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 128 | b[0]&0x7f, b[1], 0}), 24)
	n.Near = n.Prefix.Addr().Next()
	n.Far = n.Near.Next()
	far := "nk" + id + "b"
	t.Cleanup(func() {
		run(context.Background(), "ip", "netns", "del", n.Name)
		run(context.Background(), "ip", "link", "del", n.near)
	})
	steps := [][]string{
		{"ip", "netns", "add", n.Name},
		{"ip", "link", "add", n.near, "type", "veth", "peer", "name", far},
		{"ip", "link", "set", far, "netns", n.Name},
		{"ip", "addr", "add", n.Near.String() + "/24", "dev", n.near},
		{"ip", "link", "set", n.near, "up"},
		{"ip", "-n", n.Name, "addr", "add", n.Far.String() + "/24", "dev", far},
		{"ip", "-n", n.Name, "link", "set", far, "up"},
		{"ip", "-n", n.Name, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if out, err := run(t.Context(), s...); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(s, " "), err, out)
		}
	}
	n.farDev = far
	return n
}

// AddFar gives the namespace's side more addresses of the /24 (the last
// octets given), as if more hosts stood behind the veth.
func (n *Net) AddFar(octets ...byte) []netip.Addr {
	n.t.Helper()
	var out []netip.Addr
	for _, o := range octets {
		b := n.Prefix.Addr().As4()
		b[3] = o
		a := netip.AddrFrom4(b)
		n.Must("ip", "-n", n.Name, "addr", "add", a.String()+"/24", "dev", n.farDev)
		out = append(out, a)
	}
	return out
}

// Addr returns the address of the /24 with last octet o.
func (n *Net) Addr(o byte) netip.Addr {
	b := n.Prefix.Addr().As4()
	b[3] = o
	return netip.AddrFrom4(b)
}

// Must runs a command (on this side), failing the test if it fails.
func (n *Net) Must(args ...string) {
	n.t.Helper()
	if out, err := run(n.t.Context(), args...); err != nil {
		n.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// In runs a command inside the namespace, failing the test if it fails.
func (n *Net) In(args ...string) {
	n.t.Helper()
	n.Must(append([]string{"ip", "netns", "exec", n.Name}, args...)...)
}

// Command returns a command that runs inside the namespace.
func (n *Net) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Inside calls fn on an OS thread switched into the namespace. Sockets
// fn opens belong to the namespace for their whole life, whatever thread
// uses them later: a listener opened here serves as the far host.
func (n *Net) Inside(fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return err
	}
	defer self.Close()
	target, err := os.Open("/run/netns/" + n.Name)
	if err != nil {
		return err
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("netns: setns %s: %w", n.Name, err)
	}
	ferr := fn()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread is stuck in the namespace: never unlock it, so that
		// the runtime ends it with this goroutine instead of reusing it.
		runtime.LockOSThread()
		return fmt.Errorf("netns: back from %s: %w", n.Name, err)
	}
	return ferr
}

// Listen opens a TCP listener inside the namespace on addr (e.g.
// "10.1.2.2:22") that accepts connections and closes them, until the test
// ends.
func (n *Net) Listen(addr string) net.Listener {
	n.t.Helper()
	var l net.Listener
	err := n.Inside(func() (err error) {
		l, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		n.t.Fatalf("listen %s in %s: %v", addr, n.Name, err)
	}
	n.t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l
}

func run(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%w", err)
	}
	return string(out), nil
}
