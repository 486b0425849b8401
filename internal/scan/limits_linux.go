package scan

import (
	"os"

	"golang.org/x/sys/unix"
)

// fdReserve is kept out of the probe budget for everything else the
// process opens: standard streams, output files, the banner pass, the
// resolver.
const fdReserve = 48

// fdBudget raises the open-file limit to its hard limit (the Go runtime
// already does at start; a library user may have lowered it since) and
// returns how many descriptors probes may hold.
func fdBudget() int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return 256
	}
	if rl.Cur < rl.Max {
		raised := rl
		raised.Cur = rl.Max
		if unix.Setrlimit(unix.RLIMIT_NOFILE, &raised) == nil {
			rl = raised
		}
	}
	open := 0
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		open = len(ents)
	}
	n := int(min(rl.Cur, 1<<20)) - open - fdReserve
	return max(n, 1)
}
