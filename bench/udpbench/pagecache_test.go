package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestInPageCache(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	// Just written: every page is in the page cache (dirty or not).
	if err := os.WriteFile(path, make([]byte, 5*os.Getpagesize()+1), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := inPageCache(path)
	if err != nil || got != 1 {
		t.Errorf("inPageCache of a file just written = %g, %v; want 1", got, err)
	}
	// A hole has no pages at all until it is read.
	hole := filepath.Join(dir, "hole")
	f, err := os.Create(hole)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if got, err := inPageCache(hole); err != nil || got != 0 {
		t.Errorf("inPageCache of a hole never read = %g, %v; want 0", got, err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := inPageCache(empty); err == nil {
		t.Error("inPageCache of an empty file: no error")
	}
	if cachedShare(filepath.Join(dir, "none")) != nil {
		t.Error("cachedShare of a missing file is not nil")
	}
}
