// Package e2e holds netkit's end-to-end tests. They build the netkit binary
// once, start its servers as subprocesses on free loopback ports (learning
// the ports from the address table `netkit serve --json` prints), and drive
// them with peers netkit's authors did not write: nc (netcat-openbsd),
// rdate, curl and openssl, as well as netkit's own clients.
//
// A missing peer skips the tests that need it, except under CI (the CI
// environment variable set), where it fails them: there a missing peer means
// the CI script forgot to install it. When the tests run with -race, the
// binary under test is built with -race too, and a data race it reports on
// standard error fails the test that ran it.
//
// The package has no non-test code; this file only documents it.
package e2e
