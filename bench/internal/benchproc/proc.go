package benchproc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Mem is a process's memory as /proc/PID/status reports it, in KiB.
type Mem struct {
	RSS     int64 `json:"vm_rss_kib"`
	HWM     int64 `json:"vm_hwm_kib"` // peak RSS so far
	Anon    int64 `json:"rss_anon_kib"`
	File    int64 `json:"rss_file_kib"`
	Threads int64 `json:"threads"`
}

// ReadMem reads pid's memory from /proc/PID/status.
func ReadMem(pid int) (Mem, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Mem{}, err
	}
	m, err := parseStatus(b)
	if err != nil {
		return m, fmt.Errorf("/proc/%d/status: %w", pid, err)
	}
	return m, nil
}

func parseStatus(b []byte) (Mem, error) {
	var m Mem
	fields := map[string]*int64{"VmRSS:": &m.RSS, "VmHWM:": &m.HWM, "RssAnon:": &m.Anon, "RssFile:": &m.File, "Threads:": &m.Threads}
	for line := range bytes.Lines(b) {
		f := strings.Fields(string(line))
		if len(f) < 2 {
			continue
		}
		if p, ok := fields[f[0]]; ok {
			*p, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	if m.RSS == 0 {
		return m, errors.New("no VmRSS")
	}
	return m, nil
}

// clockTick is USER_HZ, the unit of /proc/PID/stat and /proc/stat times:
// 100 on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// CPUTime returns the user+system CPU time pid has used.
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStat(b)
}

func parseStat(b []byte) (time.Duration, error) {
	// The command name may hold spaces and parentheses; fields start
	// after the last ')'. utime and stime are fields 14 and 15, so 12 and
	// 13 here.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("short stat line")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(u+s) * clockTick, nil
}

// SelfCPU returns the CPU time this process has used.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// LoadAvg returns the machine's 1-minute load average, or -1.
func LoadAvg() float64 {
	l := LoadAvgs()
	if l == nil {
		return -1
	}
	v, err := strconv.ParseFloat(l[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// LoadAvgs returns the machine's 1, 5 and 15 minute load averages as
// /proc/loadavg writes them and uptime shows them ("0.52 0.61 0.70"), or
// nil if it cannot read them.
func LoadAvgs() []string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return nil
	}
	return parseLoadAvgs(string(b))
}

func parseLoadAvgs(s string) []string {
	f := strings.Fields(s)
	if len(f) < 3 {
		return nil
	}
	return f[:3]
}

// MachineCPU is the machine-wide CPU time used, from /proc/stat.
type MachineCPU struct {
	// Busy is every CPU's time not idle, softirq included.
	Busy time.Duration
	// SoftIRQ is the part spent in softirqs, such as loopback delivery.
	SoftIRQ time.Duration
}

// ReadMachineCPU reads the machine-wide CPU time, zero if it cannot.
func ReadMachineCPU() MachineCPU {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return MachineCPU{}
	}
	return parseMachineCPU(b)
}

func parseMachineCPU(b []byte) MachineCPU {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 8 || f[0] != "cpu" {
		return MachineCPU{}
	}
	var m MachineCPU
	// user nice system idle iowait irq softirq steal guest guest_nice
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		d := time.Duration(n) * clockTick
		switch i {
		case 3, 4: // idle, iowait
		case 6:
			m.SoftIRQ += d
			m.Busy += d
		case 8, 9: // guest time is already in user
		default:
			m.Busy += d
		}
	}
	return m
}
