package scan

import (
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestScanOutOfDescriptors lowers the open-file limit below what the loops
// think they may use: socket() fails with EMFILE again and again, and
// every port must still get its true answer.
func TestScanOutOfDescriptors(t *testing.T) {
	n := farHost(t)
	n.In("iptables", "-A", "INPUT", "-p", "tcp", "--dport", "1000:1399", "-j", "DROP")
	var dropped, closed []uint16
	for p := uint16(1000); p < 1400; p++ {
		dropped = append(dropped, p)
		closed = append(closed, p+1000)
	}
	open := []uint16{22, 80}
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir("/proc/self/fd")
	low := old
	low.Cur = uint64(len(ents) + 120)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	defer unix.Setrlimit(unix.RLIMIT_NOFILE, &old)
	// testBudget keeps fdBudget from raising the soft limit again.
	testBudget = 500
	defer func() { testBudget = 0 }()
	s := Scanner{Loops: 2, Timing: Timing{InitialRTT: 100 * time.Millisecond, MinRTT: 100 * time.Millisecond, MaxRTT: 100 * time.Millisecond, Retries: -1, InitialWindow: 500}}
	got, st := collect(t, &s, []Target{{Addr: n.Far}}, tcpPorts(open, closed, dropped))
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	if st.LocalWait == 0 {
		t.Errorf("no probe waited for descriptors: the test did not test")
	}
	for _, p := range open {
		if got[Port{Number: p}].State != Open {
			t.Errorf("port %d: %v, want open", p, got[Port{Number: p}].State)
		}
	}
	bad := 0
	for _, p := range closed {
		if got[Port{Number: p}].State != Closed {
			bad++
		}
	}
	for _, p := range dropped {
		if got[Port{Number: p}].State != Filtered {
			bad++
		}
	}
	if bad > 0 || len(got) != len(open)+len(closed)+len(dropped) {
		t.Errorf("%d of %d ports wrong; %d results", bad, len(closed)+len(dropped), len(got))
	}
	t.Logf("%d probes put back for lack of descriptors", st.LocalWait)
}
