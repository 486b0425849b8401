// Package netns builds small networks for tests: a network namespace (the
// far host) joined to this one by a veth pair, with iptables inside it,
// so that a test can scan or talk to a host whose ports are open, closed,
// dropped or rejected, without touching any real network. It needs root
// and iproute2; tests skip without them, and fail under CI (CI=true),
// where they must run.
//
// It is Linux only: elsewhere the package is empty.
package netns
