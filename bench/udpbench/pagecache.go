package main

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// inPageCache returns the share, 0 to 1, of the pages of the file at path
// that are in the page cache, as mincore(2) sees them through a read-only
// mapping. It reads none of the file: mincore faults nothing in.
func inPageCache(path string) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if fi.Size() == 0 {
		return 0, fmt.Errorf("%s is empty", path)
	}
	if int64(int(fi.Size())) != fi.Size() {
		return 0, fmt.Errorf("%s is too large to map", path)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return 0, fmt.Errorf("mmap %s: %w", path, err)
	}
	defer unix.Munmap(m)
	page := os.Getpagesize()
	vec := make([]byte, (len(m)+page-1)/page)
	// golang.org/x/sys/unix has no Mincore for Linux.
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		return 0, fmt.Errorf("mincore %s: %w", path, e)
	}
	in := 0
	for _, v := range vec {
		in += int(v & 1)
	}
	return float64(in) / float64(len(vec)), nil
}

// cachedShare is inPageCache for a result: nil when it cannot tell.
func cachedShare(path string) *float64 {
	v, err := inPageCache(path)
	if err != nil {
		return nil
	}
	return &v
}

// noteCached adds a note of the least share of the source file that was
// in the page cache before any run of the part that measured it.
func (p *part) noteCached() {
	least, n := 1.0, 0
	for _, r := range p.Runs {
		if r.SourceCached != nil {
			least = min(least, *r.SourceCached)
			n++
		}
	}
	if n > 0 {
		p.note("source file in the page cache before each run: at least %.1f%% of its pages (mincore; runs measured: %d)", 100*least, n)
	}
}
