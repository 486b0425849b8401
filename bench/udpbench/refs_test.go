package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testBench is a bench with no netkit, for running the references.
func testBench(t *testing.T) *bench {
	t.Helper()
	b := &bench{opt: options{minRate: 5, verify: true, runs: 1, mib: 1}, log: io.Discard, root: t.TempDir(), live: make(map[*proc]bool)}
	t.Cleanup(b.killAll)
	return b
}

// needTool skips when tool is missing, but in CI, where a missing peer is
// a failure.
func needTool(t *testing.T, tool, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found: apt-get install -y %s", tool, pkg)
		}
		t.Skipf("%s not found: apt-get install -y %s", tool, pkg)
	}
}

func TestNCRun(t *testing.T) {
	needTool(t, "nc", "netcat-openbsd")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := checkNC(ctx); err != nil {
		t.Fatal(err)
	}
	b := testBench(t)
	src, err := makeSource(filepath.Join(b.root, "src.bin"), 3<<20+17, false)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	r := b.ncRun(ctx, src)
	t.Logf("ncRun: %+v in %v", r, time.Since(t0))
	if !r.ok() || r.Verified != "sha256" || r.WallSeconds <= 0 || r.MBps <= 0 || r.What != whatNC || r.Bytes != src.size {
		t.Fatalf("ncRun = %+v, want a verified run", r)
	}
	if r.SourceCached == nil {
		t.Error("ncRun did not record how much of the source was in the page cache")
	}
	if _, err := os.Stat(filepath.Join(b.root, "nc-out.bin")); !os.IsNotExist(err) {
		t.Errorf("nc's received file left behind (%v)", err)
	}
	// What nc received is checked against what was sent.
	bad := src
	bad.sha = strings.Repeat("0", 64)
	if r := b.ncRun(ctx, bad); r.ok() || !strings.Contains(r.Err, "SHA-256") {
		t.Errorf("ncRun with the wrong SHA-256 = %+v, want a SHA-256 failure", r)
	}
}

func TestDDRun(t *testing.T) {
	needTool(t, "dd", "coreutils")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b := testBench(t)
	r := b.ddRun(ctx, 2<<20)
	if !r.ok() || r.Verified != "size" || r.Seconds <= 0 || r.MBps <= 0 || r.WallSeconds < r.Seconds || r.Bytes != 2<<20 {
		t.Fatalf("ddRun = %+v, want a run of 2 MiB with dd's own time within its wall time", r)
	}
	if _, err := os.Stat(filepath.Join(b.root, "dd-out.bin")); !os.IsNotExist(err) {
		t.Errorf("dd's file left behind (%v)", err)
	}
}

func TestPeakKiB(t *testing.T) {
	tests := []struct {
		maxrss, own, sampled int64
		want                 int64
		wantSampled          bool
	}{
		{30000, 20000, 29000, 30000, false}, // above udpbench's own: exact
		{34000, 34000, 23000, 23000, true},  // udpbench's own: the sample
		{34000, 40000, 23000, 23000, true},
		{34000, 34000, 0, 34000, false},    // no sample: an upper bound
		{34000, 34000, 50000, 34000, true}, // never above ru_maxrss
	}
	for _, tt := range tests {
		got, s := peakKiB(tt.maxrss, tt.own, tt.sampled)
		if got != tt.want || s != tt.wantSampled {
			t.Errorf("peakKiB(%d, %d, %d) = %d, %v; want %d, %v", tt.maxrss, tt.own, tt.sampled, got, s, tt.want, tt.wantSampled)
		}
	}
}

// TestUsageNotParentRSS: a small child of a large udpbench reports its
// own peak RSS, not udpbench's, which Linux gives it as ru_maxrss.
func TestUsageNotParentRSS(t *testing.T) {
	needTool(t, "sleep", "coreutils")
	const big = 200 << 20
	hold := make([]byte, big)
	for i := 0; i < len(hold); i += 4096 {
		hold[i] = 1 // each page resident
	}
	b := testBench(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := b.runToEnd(ctx, 30*time.Second, "sleep", "", "sleep", "0.5")
	if err != nil {
		t.Fatal(err)
	}
	ru := p.Cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
	kib, sampled, _ := usageSampled(p)
	t.Logf("sleep: ru_maxrss %d KiB, reported %d KiB (sampled %v)", ru, kib, sampled)
	if ru < big>>10 {
		t.Skipf("ru_maxrss %d KiB: this kernel does not hand the parent's peak to a child", ru)
	}
	if !sampled || kib <= 0 || kib > 32<<10 {
		t.Errorf("sleep's peak RSS reported as %d KiB (sampled %v), want its own few MB", kib, sampled)
	}
	hold[len(hold)-1]++
}
