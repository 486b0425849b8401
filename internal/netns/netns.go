//go:build linux

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
	t      testing.TB // for the methods that fail a test; nil from Create
	near   string     // this side's veth
	farDev string     // the namespace's veth
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
	n, err := Create(t.Context(), prefix)
	if n != nil {
		t.Cleanup(func() { n.Close() })
	}
	if err != nil {
		t.Fatal(err)
	}
	n.t = t
	return n
}

// Create makes a namespace named prefix-RANDOM on a random 10.X.Y.0/24,
// for programs other than tests (benchmarks); Close removes it. It needs
// root. When it fails after making part of the network, it returns that
// part too, for the caller to Close.
func Create(ctx context.Context, prefix string) (*Net, error) {
	var b [3]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	n := &Net{Name: prefix + "-" + id, near: "nk" + id + "a"}
	// 10.128.0.0/9 with a random /24, away from the usual home networks.
	n.Prefix = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 128 | b[0]&0x7f, b[1], 0}), 24)
	n.Near = n.Prefix.Addr().Next()
	n.Far = n.Near.Next()
	far := "nk" + id + "b"
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
		if err := n.Exec(ctx, s...); err != nil {
			return n, err
		}
	}
	n.farDev = far
	return n, nil
}

// Close removes the namespace and the veth pair.
func (n *Net) Close() error {
	_, err := run(context.Background(), "ip", "netns", "del", n.Name)
	run(context.Background(), "ip", "link", "del", n.near)
	return err
}

// AddFar gives the namespace's side more addresses of the /24 (the last
// octets given), as if more hosts stood behind the veth.
func (n *Net) AddFar(octets ...byte) []netip.Addr {
	n.t.Helper()
	out, err := n.AddAddrs(n.t.Context(), octets...)
	if err != nil {
		n.t.Fatal(err)
	}
	return out
}

// AddAddrs is AddFar for programs other than tests.
func (n *Net) AddAddrs(ctx context.Context, octets ...byte) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, o := range octets {
		a := n.Addr(o)
		if err := n.Exec(ctx, "ip", "-n", n.Name, "addr", "add", a.String()+"/24", "dev", n.farDev); err != nil {
			return out, err
		}
		out = append(out, a)
	}
	return out, nil
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
	if err := n.Exec(n.t.Context(), args...); err != nil {
		n.t.Fatal(err)
	}
}

// In runs a command inside the namespace, failing the test if it fails.
func (n *Net) In(args ...string) {
	n.t.Helper()
	n.Must(append([]string{"ip", "netns", "exec", n.Name}, args...)...)
}

// Exec runs a command on this side; its error holds what it printed.
func (n *Net) Exec(ctx context.Context, args ...string) error {
	if out, err := run(ctx, args...); err != nil {
		return fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// ExecIn runs a command inside the namespace.
func (n *Net) ExecIn(ctx context.Context, args ...string) error {
	return n.Exec(ctx, append([]string{"ip", "netns", "exec", n.Name}, args...)...)
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
	l, err := n.ListenAccepting(addr)
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { l.Close() })
	return l
}

// ListenAccepting is Listen for programs other than tests: the caller
// closes the listener.
func (n *Net) ListenAccepting(addr string) (net.Listener, error) {
	var l net.Listener
	err := n.Inside(func() (err error) {
		l, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listen %s in %s: %w", addr, n.Name, err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l, nil
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
