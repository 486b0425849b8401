package benchproc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestParseStatus(t *testing.T) {
	status := "Name:\tnetkit\nVmHWM:\t  20480 kB\nVmRSS:\t  10240 kB\nRssAnon:\t    8000 kB\nRssFile:\t    2240 kB\nThreads:\t9\n"
	got, err := parseStatus([]byte(status))
	want := Mem{RSS: 10240, HWM: 20480, Anon: 8000, File: 2240, Threads: 9}
	if err != nil || got != want {
		t.Errorf("parseStatus = %+v, %v; want %+v", got, err, want)
	}
	if _, err := parseStatus([]byte("Name:\tzombie\n")); err == nil {
		t.Error("parseStatus without VmRSS: no error")
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name string
		line string
		want time.Duration
		ok   bool
	}{
		{"plain", "42 (netkit) S 1 42 42 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 9 0 1000 0 0", 2 * time.Second, true},
		{"name with spaces and parentheses", "42 (a b) c)) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 9 0 1000 0 0", 100 * time.Millisecond, true},
		{"short", "42 (x) S 1 2", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.line))
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("parseStat = %v, %v; want %v, ok %v", got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestParseMachineCPU(t *testing.T) {
	got := parseMachineCPU([]byte("cpu  100 5 50 1000 20 3 7 0 9 0\ncpu0 1 2 3\n"))
	want := MachineCPU{Busy: (100 + 5 + 50 + 3 + 7 + 0) * clockTick, SoftIRQ: 7 * clockTick}
	if got != want {
		t.Errorf("parseMachineCPU = %+v, want %+v", got, want)
	}
	if got := parseMachineCPU([]byte("intr 1 2 3\n")); got != (MachineCPU{}) {
		t.Errorf("parseMachineCPU of the wrong line = %+v", got)
	}
}

func TestSelf(t *testing.T) {
	m, err := ReadMem(os.Getpid())
	if err != nil || m.RSS <= 0 || m.Threads <= 0 {
		t.Errorf("ReadMem(self) = %+v, %v", m, err)
	}
	if _, err := CPUTime(os.Getpid()); err != nil {
		t.Errorf("CPUTime(self): %v", err)
	}
	if LoadAvg() < 0 {
		t.Error("no load average")
	}
}

func TestTail(t *testing.T) {
	tl := NewTail(3)
	for i := range 5 {
		tl.Add(fmt.Sprint(i))
	}
	tl.Add(strings.Repeat("x", 400))
	got := tl.Lines()
	if len(got) != 3 || got[0] != "3" || got[1] != "4" || len(got[2]) != 300+len("…") {
		t.Errorf("Lines = %q", got)
	}
}

// TestStartNetkit runs a stand-in for netkit, a shell script that prints
// the JSON lines of `serve --json`, an nkprof line, and waits for SIGTERM.
func TestStartNetkit(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	script := `trap 'exit 0' TERM
echo '{"service":"web","proto":"tcp","addr":"127.0.0.1:8080"}'
echo '` + PprofPrefix + `http://127.0.0.1:6060' >&2
echo 'a log line' >&2
echo '{"service":"chat","proto":"tcp","addr":"127.0.0.1:7710"}'
while :; do sleep 0.05; done`
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	p, addr, pprof, err := StartNetkit(ctx, sh, []string{"-c", script}, nil, "chat", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if addr.String() != "127.0.0.1:7710" || pprof != "http://127.0.0.1:6060" {
		t.Errorf("address %s, pprof %q", addr, pprof)
	}
	if !p.Alive() {
		t.Error("not alive")
	}
	if got := p.Stop(5 * time.Second); got != "exited cleanly after SIGTERM" {
		t.Errorf("Stop = %q", got)
	}
	if p.Alive() {
		t.Error("alive after Stop")
	}
	if got := p.Tail.Lines(); len(got) != 1 || got[0] != "a log line" {
		t.Errorf("tail = %q, want the log line alone", got)
	}

	// A server that never says where it listens.
	_, _, _, err = StartNetkit(ctx, sh, []string{"-c", "echo nothing >&2; exec sleep 5"}, nil, "chat", 200*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "no chat tcp address") || !strings.Contains(err.Error(), "nothing") {
		t.Errorf("silent server: %v", err)
	}
}
