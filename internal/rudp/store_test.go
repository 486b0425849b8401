package rudp

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/netkit/netkit/internal/rudp/wire"
)

func openStore(t *testing.T, opt StoreOptions) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := OpenStore(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

// listDir returns the names in dir, sorted.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func store(t *testing.T, s *Store, name, content string) string {
	t.Helper()
	k, err := s.Create(name)
	if err != nil {
		t.Fatalf("Create(%q): %v", name, err)
	}
	if _, err := io.WriteString(k, content); err != nil {
		t.Fatalf("Write: %v", err)
	}
	path, err := k.Commit()
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return path
}

func TestStoreRefusesNames(t *testing.T) {
	s, dir := openStore(t, StoreOptions{})
	outside := filepath.Join(filepath.Dir(dir), "x")
	for _, name := range []string{
		"../x", "/etc/passwd", "a/b", `a\b`, "a\x00b", "a\x01b", "a\x7fb", "\u0085", "", ".", "..",
		"bad\xffutf8", strings.Repeat("a", wire.MaxName+1), ".netkit-0000.part", ".netkit-",
	} {
		k, err := s.Create(name)
		if err == nil {
			k.Abort()
			t.Errorf("Create(%q) accepted", name)
			continue
		}
		if !errors.Is(err, wire.ErrBadName) && !errors.Is(err, ErrReservedName) {
			t.Errorf("Create(%q): %v, want ErrBadName or ErrReservedName", name, err)
		}
	}
	if names := listDir(t, dir); len(names) != 0 {
		t.Errorf("folder holds %q", names)
	}
	if _, err := os.Stat(outside); err == nil {
		t.Errorf("%s was created", outside)
	}
}

// TestStoreTempFile checks that a file being received never shows under
// its real name, and that the temporary file is hidden and goes away.
func TestStoreTempFile(t *testing.T) {
	s, dir := openStore(t, StoreOptions{})
	k, err := s.Create("report.pdf")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(k, strings.Repeat("x", 100_000)) // past the write buffer
	names := listDir(t, dir)
	if len(names) != 1 || !strings.HasPrefix(names[0], ".netkit-") || !strings.HasSuffix(names[0], ".part") {
		t.Fatalf("while writing, the folder holds %q; want one hidden .netkit-*.part", names)
	}
	if path, err := k.Commit(); err != nil || path != "report.pdf" {
		t.Fatalf("Commit = %q, %v", path, err)
	}
	if names := listDir(t, dir); !slices.Equal(names, []string{"report.pdf"}) {
		t.Errorf("after Commit the folder holds %q", names)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "report.pdf")); len(b) != 100_000 {
		t.Errorf("stored %d bytes, want 100000", len(b))
	}

	k, _ = s.Create("gone.bin")
	io.WriteString(k, "partial")
	if err := k.Abort(); err != nil {
		t.Errorf("Abort: %v", err)
	}
	if names := listDir(t, dir); !slices.Equal(names, []string{"report.pdf"}) {
		t.Errorf("after Abort the folder holds %q", names)
	}
	if _, err := k.Write([]byte("x")); err == nil {
		t.Error("Write after Abort succeeded")
	}
	if _, err := k.Commit(); err == nil {
		t.Error("Commit after Abort succeeded")
	}
}

func TestStoreNoOverwrite(t *testing.T) {
	s, dir := openStore(t, StoreOptions{})
	tests := []struct{ name, want string }{
		{"a.txt", "a.txt"},
		{"a.txt", "a (1).txt"},
		{"a.txt", "a (2).txt"},
		{"README", "README"},
		{"README", "README (1)"},
		{".bashrc", ".bashrc"},
		{".bashrc", ".bashrc (1)"},
		{"x.tar.gz", "x.tar.gz"},
		{"x.tar.gz", "x.tar (1).gz"},
	}
	for i, tt := range tests {
		if got := store(t, s, tt.name, fmt.Sprint(i)); got != tt.want {
			t.Errorf("%d: %q stored as %q, want %q", i, tt.name, got, tt.want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(b) != "0" {
		t.Errorf("a.txt holds %q, want the first one's \"0\"", b)
	}
	// A name taken by a directory or a symbolic link is not replaced
	// either, and a link leading out of the folder is not followed.
	outside := filepath.Join(t.TempDir(), "target")
	os.WriteFile(outside, []byte("keep"), 0o644)
	os.Symlink(outside, filepath.Join(dir, "link"))
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	if got := store(t, s, "link", "new"); got != "link (1)" {
		t.Errorf("link stored as %q", got)
	}
	if got := store(t, s, "sub", "new"); got != "sub (1)" {
		t.Errorf("sub stored as %q", got)
	}
	if b, _ := os.ReadFile(outside); string(b) != "keep" {
		t.Errorf("the file outside holds %q", b)
	}
}

func TestStoreOverwrite(t *testing.T) {
	s, dir := openStore(t, StoreOptions{Overwrite: true})
	store(t, s, "a.txt", "one")
	if got := store(t, s, "a.txt", "two"); got != "a.txt" {
		t.Errorf("stored as %q", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(b) != "two" {
		t.Errorf("a.txt holds %q", b)
	}
	// Overwriting a symbolic link replaces the link, not its target.
	outside := filepath.Join(t.TempDir(), "target")
	os.WriteFile(outside, []byte("keep"), 0o644)
	os.Symlink(outside, filepath.Join(dir, "link"))
	store(t, s, "link", "new")
	if b, _ := os.ReadFile(outside); string(b) != "keep" {
		t.Errorf("the file outside holds %q", b)
	}
	if fi, _ := os.Lstat(filepath.Join(dir, "link")); fi.Mode()&os.ModeSymlink != 0 {
		t.Error("link is still a link")
	}
}

func TestStoreMaxSize(t *testing.T) {
	s, dir := openStore(t, StoreOptions{MaxSize: 10})
	store(t, s, "ten", "0123456789")
	k, _ := s.Create("eleven")
	io.WriteString(k, "01234")
	if _, err := io.WriteString(k, "567890"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("writing the 11th byte: %v, want ErrTooLarge", err)
	}
	if _, err := k.Commit(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Commit after: %v, want ErrTooLarge", err)
	}
	if names := listDir(t, dir); !slices.Equal(names, []string{"ten"}) {
		t.Errorf("folder holds %q", names)
	}
}

// failAfter is a writer that fails with ENOSPC once n bytes are in.
type failAfter struct {
	w io.Writer
	n int
}

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		return 0, &os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}
	}
	f.n -= len(p)
	return f.w.Write(p)
}

func TestStoreWriteFailure(t *testing.T) {
	s, dir := openStore(t, StoreOptions{})
	s.wrap = func(w io.Writer) io.Writer { return &failAfter{w: w, n: 40 << 10} }
	bad, _ := s.Create("bad.bin")
	good, _ := s.Create("good.bin")
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		_, err = bad.Write(make([]byte, 1000))
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write error %v, want ENOSPC", err)
	}
	if _, err := bad.Commit(); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Commit: %v, want ENOSPC", err)
	}
	io.WriteString(good, "fine")
	if path, err := good.Commit(); err != nil || path != "good.bin" {
		t.Errorf("the other file: %q, %v", path, err)
	}
	if names := listDir(t, dir); !slices.Equal(names, []string{"good.bin"}) {
		t.Errorf("folder holds %q", names)
	}
}

func TestSuffixed(t *testing.T) {
	long := strings.Repeat("é", 127) + ".txt" // 258 bytes: over MaxName
	tests := []struct {
		name string
		n    int
		want string
	}{
		{"a.txt", 0, "a.txt"},
		{"a.txt", 1, "a (1).txt"},
		{"a", 12, "a (12)"},
		{".x", 1, ".x (1)"},
		{"a.b.c", 2, "a.b (2).c"},
		{"a." + strings.Repeat("e", 40), 1, "a." + strings.Repeat("e", 40) + " (1)"},
	}
	for _, tt := range tests {
		if got := suffixed(tt.name, tt.n); got != tt.want {
			t.Errorf("suffixed(%q, %d) = %q, want %q", tt.name, tt.n, got, tt.want)
		}
	}
	got := suffixed(long[:wire.MaxName-3]+".txt", 9999)
	if len(got) > wire.MaxName || !utf8.ValidString(got) || !strings.HasSuffix(got, " (9999).txt") {
		t.Errorf("suffixed long name = %q (%d bytes)", got, len(got))
	}
}

// TestStorePrunesOldPartials checks that OpenStore removes the partial
// files older than PartialTTL, and keeps newer ones and everything else.
func TestStorePrunesOldPartials(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-8 * 24 * time.Hour)
	for _, name := range []string{".netkit-r-old.part", ".netkit-r-new.part", "old-but-mine.txt"} {
		os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644)
	}
	os.Chtimes(filepath.Join(dir, ".netkit-r-old.part"), old, old)
	os.Chtimes(filepath.Join(dir, "old-but-mine.txt"), old, old)
	s, err := OpenStore(dir, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if got := listDir(t, dir); !slices.Equal(got, []string{".netkit-r-new.part", "old-but-mine.txt"}) {
		t.Errorf("after OpenStore the folder holds %q", got)
	}
}

// TestStoreWritesBack checks that a file being received is handed to the
// kernel for writing back every writebackEvery bytes, so that the sync at
// Commit is short whatever the size, and that the file is whole.
func TestStoreWritesBack(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sink, err := s.Create("big.bin")
	if err != nil {
		t.Fatal(err)
	}
	chunk := randomBytes(1445, 7)
	const total = 2*writebackEvery + 5000*1445
	for n := 0; n < total; n += len(chunk) {
		if _, err := sink.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	in := sink.(*incoming)
	if in.flushed < 2*writebackEvery || in.flushed > in.n {
		t.Errorf("written back up to %d of %d bytes, want at least %d", in.flushed, in.n, 2*writebackEvery)
	}
	if _, err := sink.Commit(); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(filepath.Join(dir, "big.bin")); err != nil || info.Size() != in.n {
		t.Errorf("stored %v, %v; want %d bytes", info, err, in.n)
	}
}

// partials lists the partial files in dir.
func partials(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	for _, n := range xlistDir(t, dir) {
		if strings.HasPrefix(n, tempPrefix+"r-") {
			names = append(names, n)
		}
	}
	return names
}

// suspendOne resumes key, writes content and suspends it.
func suspendOne(t *testing.T, s *Store, key, content string) {
	t.Helper()
	k, _, err := s.Resume("f.bin", key)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(k, content)
	if err := k.(ResumableSink).Suspend(); err != nil {
		t.Fatal(err)
	}
}

// TestStorePartialBounds checks that a running Store removes an empty
// partial at once, keeps at most MaxPartials, and at most
// MaxPartialBytes, removing the oldest first, and expires old ones.
func TestStorePartialBounds(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		s, dir := openStore(t, StoreOptions{})
		suspendOne(t, s, "empty", "")
		if p := partials(t, dir); len(p) != 0 {
			t.Errorf("an empty partial kept: %q", p)
		}
	})
	t.Run("count", func(t *testing.T) {
		s, dir := openStore(t, StoreOptions{MaxPartials: 8})
		for i := range 40 {
			suspendOne(t, s, fmt.Sprintf("k%02d", i), "x")
		}
		p := partials(t, dir)
		if len(p) != 8 {
			t.Errorf("%d partials kept, want 8", len(p))
		}
		if !slices.Contains(p, ".netkit-r-k39.part") {
			t.Errorf("the newest partial went: %q", p)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		s, dir := openStore(t, StoreOptions{MaxPartialBytes: 25})
		for i := range 5 {
			suspendOne(t, s, fmt.Sprintf("k%d", i), "0123456789")
		}
		if p := partials(t, dir); len(p) != 2 || !slices.Contains(p, ".netkit-r-k4.part") {
			t.Errorf("partials %q, want the newest two (20 of 25 bytes)", p)
		}
	})
	t.Run("ttl", func(t *testing.T) {
		s, dir := openStore(t, StoreOptions{PartialTTL: time.Hour})
		suspendOne(t, s, "old", "x")
		old := time.Now().Add(-2 * time.Hour)
		os.Chtimes(filepath.Join(dir, ".netkit-r-old.part"), old, old)
		suspendOne(t, s, "new", "x")
		if p := partials(t, dir); !slices.Equal(p, []string{".netkit-r-new.part"}) {
			t.Errorf("partials %q, want the old one expired while running", p)
		}
	})
	t.Run("in use", func(t *testing.T) {
		s, dir := openStore(t, StoreOptions{MaxPartials: 1})
		k, _, err := s.Resume("f.bin", "busy")
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(k, "x")
		suspendOne(t, s, "other", "y")
		if p := partials(t, dir); !slices.Equal(p, []string{".netkit-r-busy.part", ".netkit-r-other.part"}) {
			t.Errorf("partials %q: the one in use does not count, nor is removed", p)
		}
		if err := k.(ResumableSink).Suspend(); err != nil {
			t.Fatal(err)
		}
		if p := partials(t, dir); !slices.Equal(p, []string{".netkit-r-busy.part"}) {
			t.Errorf("partials %q", p)
		}
	})
}

// TestXInboxOpenCloseLeavesNoPartial replays the attack of 40 sessions
// of 8 OPENs each, ended by CLOSE: no partial file may stay.
func TestXInboxOpenCloseLeavesNoPartial(t *testing.T) {
	s, dir := openStore(t, StoreOptions{})
	in := mustXInbox(t, XInboxConfig{Store: s})
	now := t0
	for i := range 40 {
		from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}), 4000)
		hello := xframe(0, 0, wire.HELLO, wire.AppendHello(nil, wire.Hello{Version: wire.Version, Token: uint64(i + 1)}))
		h, _ := xanswer(t, in.Handle(hello, from, now))
		for tid := range uint32(8) {
			open := wire.AppendOpen(nil, wire.Open{TID: tid, Kind: wire.KindFile, Name: fmt.Sprintf("f%d-%d", i, tid), FragSize: 4, Size: 1 << 20})
			if a, _ := xanswer(t, in.Handle(xframe(h.Session, 1+tid, wire.OPEN, open), from, now)); a.Type != wire.ACCEPT {
				t.Fatalf("OPEN answered %v", a.Type)
			}
		}
		in.Handle(xframe(h.Session, 9, wire.CLOSE, nil), from, now)
	}
	if p := partials(t, dir); len(p) != 0 {
		t.Errorf("%d partial files left, want none", len(p))
	}
}
