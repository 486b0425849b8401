package benchproc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

func TestParseLoadAvgs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"2.23 2.31 2.93 3/412 15701\n", []string{"2.23", "2.31", "2.93"}},
		{"2.23 2.31\n", nil},
		{"", nil},
	}
	for _, tt := range tests {
		if got := parseLoadAvgs(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("parseLoadAvgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
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

func TestLineWriter(t *testing.T) {
	long := strings.Repeat("x", maxLine+10)
	tests := []struct {
		name   string
		writes []string
		want   []string
	}{
		{"lines", []string{"a\nb\n"}, []string{"a", "b"}},
		{"split across writes", []string{"a", "b\nc", "\n"}, []string{"ab", "c"}},
		{"carriage return", []string{"a\r\n"}, []string{"a"}},
		{"last line without newline", []string{"a\nb"}, []string{"a", "b"}},
		{"empty lines", []string{"\n\n"}, []string{"", ""}},
		{"overlong line", []string{long + "\ny\n"}, []string{long[:maxLine], "xxxxxxxxxx", "y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			w := &lineWriter{line: func(l string) { got = append(got, l) }}
			for _, s := range tt.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			w.flush()
			if !slices.Equal(got, tt.want) {
				t.Errorf("lines %.40q, want %.40q", got, tt.want)
			}
		})
	}
}

// TestProcess runs a stand-in in a directory of its own, reading both of
// its streams, and stops it and the child it forked.
func TestProcess(t *testing.T) {
	bin, env := helper(t, "forker")
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr []string
	lines := make(chan struct{}, 10)
	p := &Process{
		Bin:      bin,
		Env:      env,
		Dir:      dir,
		OnStdout: func(l string) { stdout = append(stdout, l); lines <- struct{}{} },
		OnStderr: func(l string) { stderr = append(stderr, l); lines <- struct{}{} },
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	for range 2 {
		select {
		case <-lines:
		case <-p.Done():
			t.Fatalf("the stand-in exited (%v); its last words:\n%s", p.Err(), p.Tail)
		case <-time.After(10 * time.Second):
			t.Fatal("the stand-in printed nothing")
		}
	}
	if got := p.Stop(5 * time.Second); got != "exited cleanly after SIGTERM" {
		t.Errorf("Stop = %q", got)
	}
	// Had the child not had SIGTERM too, it would hold standard error
	// open, and Wait would have given up on it after WaitDelay, saying so
	// in Stop's words.
	if p.Wall() <= 0 {
		t.Errorf("Wall = %v", p.Wall())
	}
	if len(stdout) != 1 || stdout[0] != dir {
		t.Errorf("stdout %q, want the directory %q", stdout, dir)
	}
	if len(stderr) != 1 || stderr[0] != "oops" || !slices.Equal(p.Tail.Lines(), stderr) {
		t.Errorf("stderr %q, tail %q, want oops", stderr, p.Tail.Lines())
	}
	if p.Err() != nil || p.CPUAtExit() < 0 {
		t.Errorf("Err %v, CPUAtExit %v", p.Err(), p.CPUAtExit())
	}
}

// TestStartNetkit runs a stand-in for netkit that prints the JSON lines of
// `serve --json` and an nkprof line, and waits for SIGTERM.
func TestStartNetkit(t *testing.T) {
	bin, env := helper(t, "netkit")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	p, addr, pprof, err := StartNetkit(ctx, bin, nil, env, "chat", 5*time.Second)
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
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	_, _, _, err = StartNetkit(ctx, sh, []string{"-c", "echo nothing >&2; exec sleep 5"}, nil, "chat", 200*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "no chat tcp address") || !strings.Contains(err.Error(), "nothing") {
		t.Errorf("silent server: %v", err)
	}
}
