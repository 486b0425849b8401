package rudp

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/netkit/netkit/internal/rudp/wire"
)

// FileStore is where an Inbox puts the files it receives. Store keeps them
// in a folder; tests put in fakes. Its methods may be called from several
// goroutines when several Inboxes share it.
type FileStore interface {
	// Create starts a file to be stored under name, a name
	// wire.SanitizeName accepted. It fails with an error wrapping
	// wire.ErrBadName or ErrReservedName for a name it will not take, and
	// with the file system's error otherwise.
	Create(name string) (FileSink, error)
}

// FileSink is one file being received. Write takes the content in order;
// exactly one of Commit or Abort ends it. It is used from one goroutine.
type FileSink interface {
	io.Writer
	// Commit makes the file visible in full and returns the name it was
	// stored under.
	Commit() (string, error)
	// Abort discards what was written.
	Abort() error
}

// ResumableStore is a FileStore that can keep the partial file of a
// transfer cut off, and resume it: the extended protocol's resume.
type ResumableStore interface {
	FileStore
	// Resume starts the file name like Create, but on the partial file
	// kept under key if there is one, whose length it returns: the
	// content received so far.
	Resume(name, key string) (sink FileSink, have int64, err error)
}

// ResumableSink is a FileSink from a ResumableStore.
type ResumableSink interface {
	FileSink
	// ReadAt reads back what was written (before any Write).
	io.ReaderAt
	// Truncate cuts the file to size bytes (before any Write).
	Truncate(size int64) error
	// Suspend ends the sink keeping what was written, for a later
	// Resume with the same key.
	Suspend() error
}

// Temporary files are named tempPrefix + random hex + tempSuffix: hidden
// on Unix, and never a name a transfer may take (ErrReservedName).
const (
	tempPrefix = ".netkit-"
	tempSuffix = ".part"
	// maxSuffix bounds the " (n)" suffixes tried for a free name.
	maxSuffix = 9999
	// writeBuffer is the buffer of each file being received.
	writeBuffer = 32 << 10
	// writebackEvery is how much of a file is written before the kernel
	// is asked to start writing it to disk.
	writebackEvery = 32 << 20
)

var bufPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, writeBuffer) }}

// StoreOptions configures a Store. The zero value keeps existing files
// and sets no size limit of its own.
type StoreOptions struct {
	// Overwrite lets a received file replace one of the same name;
	// otherwise it is stored as "name (1).ext", "name (2).ext"...
	Overwrite bool
	// MaxSize, when positive, bounds each file: a Write past it fails with
	// ErrTooLarge.
	MaxSize int64
	// PartialTTL is how long the partial file of a transfer cut off is
	// kept for a resume: older ones are removed when the Store opens and
	// while it runs. Zero means DefaultPartialTTL, negative forever.
	PartialTTL time.Duration
	// MaxPartials and MaxPartialBytes bound the partial files kept, in
	// number and in bytes all together: past either, the oldest are
	// removed. Zero means DefaultMaxPartials and DefaultMaxPartialBytes,
	// negative no bound.
	MaxPartials     int
	MaxPartialBytes int64
}

// Defaults of StoreOptions.
const (
	// DefaultPartialTTL is how long partial files wait for a resume.
	DefaultPartialTTL = 7 * 24 * time.Hour
	// DefaultMaxPartials bounds the partial files kept.
	DefaultMaxPartials = 64
	// DefaultMaxPartialBytes bounds the bytes of the partial files kept.
	DefaultMaxPartialBytes = 8 << 30
	// pruneEvery is how often a running Store looks for expired partial
	// files when none is suspended.
	pruneEvery = time.Minute
)

// Store is a FileStore that keeps files in one folder, and never writes
// outside it: it opens the folder as an os.Root, so neither a name nor a
// symbolic link can lead out. A file is written to a hidden temporary file
// in the folder (".netkit-XXXXXXXX.part"), synced, and given its name only
// once complete, so a half-received file never appears under its real
// name; an aborted one is removed. Its methods are safe for concurrent
// use.
type Store struct {
	root   *os.Root
	opt    StoreOptions
	mu     sync.Mutex
	busy   map[string]bool // resume keys in use
	pruned time.Time       // the last look for partial files to remove
	// wrap, when set, wraps each file's writer: tests inject failures.
	wrap func(io.Writer) io.Writer
}

// OpenStore opens the existing folder dir as a Store.
func OpenStore(dir string, opt StoreOptions) (*Store, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("rudp: open folder: %w", err)
	}
	opt.PartialTTL = or(opt.PartialTTL, DefaultPartialTTL)
	opt.MaxPartials = or(opt.MaxPartials, DefaultMaxPartials)
	opt.MaxPartialBytes = or(opt.MaxPartialBytes, DefaultMaxPartialBytes)
	s := &Store{root: root, opt: opt}
	s.prune(time.Now())
	return s, nil
}

// prune removes the partial files not in use that are older than
// PartialTTL at now, then the oldest of the rest while there are more
// than MaxPartials of them or more than MaxPartialBytes in all.
func (s *Store) prune(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruned = now
	d, err := s.root.Open(".")
	if err != nil {
		return
	}
	entries, _ := d.ReadDir(-1)
	d.Close()
	type partial struct {
		name  string
		size  int64
		mtime time.Time
	}
	var kept []partial
	var total int64
	for _, e := range entries {
		name := e.Name()
		key, ok := strings.CutPrefix(name, tempPrefix+"r-")
		if !ok || !strings.HasSuffix(key, tempSuffix) || !e.Type().IsRegular() || s.busy[strings.TrimSuffix(key, tempSuffix)] {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		if s.opt.PartialTTL > 0 && now.Sub(info.ModTime()) > s.opt.PartialTTL {
			s.root.Remove(name)
			continue
		}
		kept = append(kept, partial{name, info.Size(), info.ModTime()})
		total += info.Size()
	}
	slices.SortFunc(kept, func(a, b partial) int { return a.mtime.Compare(b.mtime) })
	for _, p := range kept {
		over := s.opt.MaxPartials >= 0 && len(kept) > s.opt.MaxPartials ||
			s.opt.MaxPartialBytes >= 0 && total > s.opt.MaxPartialBytes
		if !over {
			break
		}
		if s.root.Remove(p.name) == nil {
			kept, total = kept[1:], total-p.size
		}
	}
}

// pruneNow prunes if the last look was pruneEvery ago.
func (s *Store) pruneNow() {
	now := time.Now()
	s.mu.Lock()
	due := now.Sub(s.pruned) >= pruneEvery
	s.mu.Unlock()
	if due {
		s.prune(now)
	}
}

// Dir is the folder's path as given to OpenStore.
func (s *Store) Dir() string { return s.root.Name() }

// Close releases the folder. Files in progress must be ended first.
func (s *Store) Close() error { return s.root.Close() }

// Create starts the file name: a temporary file, until Commit.
func (s *Store) Create(name string) (FileSink, error) {
	s.pruneNow()
	if _, err := wire.SanitizeName(name); err != nil {
		return nil, err
	}
	if strings.HasPrefix(name, tempPrefix) {
		return nil, fmt.Errorf("%w: %q starts with %q", ErrReservedName, name, tempPrefix)
	}
	var rnd [4]byte
	for range 10 {
		rand.Read(rnd[:])
		tmp := tempPrefix + hex.EncodeToString(rnd[:]) + tempSuffix
		f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("rudp: create a temporary file: %w", err)
		}
		return s.start(name, tmp, f), nil
	}
	return nil, errors.New("rudp: no free temporary file name")
}

// Resume starts name on the partial file of key: a hidden
// ".netkit-r-KEY.part" kept by an earlier transfer's Suspend, or a new
// one. A key already in use by another transfer gets a plain temporary
// file instead.
func (s *Store) Resume(name, key string) (FileSink, int64, error) {
	if _, err := wire.SanitizeName(name); err != nil {
		return nil, 0, err
	}
	if strings.HasPrefix(name, tempPrefix) {
		return nil, 0, fmt.Errorf("%w: %q starts with %q", ErrReservedName, name, tempPrefix)
	}
	if key == "" || strings.ContainsAny(key, "/\\.\x00") || len(key) > 64 {
		return nil, 0, fmt.Errorf("rudp: bad resume key %q", key)
	}
	s.pruneNow()
	s.mu.Lock()
	if s.busy == nil {
		s.busy = make(map[string]bool)
	}
	if s.busy[key] {
		s.mu.Unlock()
		sink, err := s.Create(name)
		return sink, 0, err
	}
	s.busy[key] = true
	s.mu.Unlock()
	tmp := tempPrefix + "r-" + key + tempSuffix
	f, err := s.root.OpenFile(tmp, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		s.unbusy(key)
		return nil, 0, fmt.Errorf("rudp: create a temporary file: %w", err)
	}
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file", tmp)
	}
	var end int64
	if err == nil {
		end, err = f.Seek(0, io.SeekEnd)
	}
	if err != nil {
		f.Close()
		s.unbusy(key)
		return nil, 0, fmt.Errorf("rudp: resume %q: %w", name, err)
	}
	in := s.start(name, tmp, f)
	in.key, in.n = key, end
	return in, end, nil
}

func (s *Store) unbusy(key string) {
	s.mu.Lock()
	delete(s.busy, key)
	s.mu.Unlock()
}

// start wraps the open temporary file f.
func (s *Store) start(name, tmp string, f *os.File) *incoming {
	bw := bufPool.Get().(*bufio.Writer)
	var w io.Writer = f
	if s.wrap != nil {
		w = s.wrap(f)
	}
	bw.Reset(w)
	return &incoming{s: s, name: name, tmp: tmp, f: f, w: bw}
}

// incoming is one file being written by a Store.
type incoming struct {
	s         *Store
	key       string // the resume key, if any
	name, tmp string
	f         *os.File
	w         *bufio.Writer
	n         int64
	flushed   int64 // written back up to here (startWriteback)
	err       error // the first write error: the file is lost
	ended     bool
}

func (in *incoming) Write(p []byte) (int, error) {
	switch {
	case in.ended:
		return 0, os.ErrClosed
	case in.err != nil:
		return 0, in.err
	case in.s.opt.MaxSize > 0 && in.n+int64(len(p)) > in.s.opt.MaxSize:
		in.err = fmt.Errorf("%w: %q is over %d bytes", ErrTooLarge, in.name, in.s.opt.MaxSize)
		return 0, in.err
	}
	n, err := in.w.Write(p)
	in.n += int64(n)
	if err != nil {
		in.err = fmt.Errorf("rudp: write %q: %w", in.name, err)
	}
	// Start writing back what the page cache holds every writebackEvery
	// bytes, so that the sync at Commit has little left to do however
	// large the file: a long sync would keep the receiver from everyone
	// else, and its sender waiting past its timeout.
	if written := in.n - int64(in.w.Buffered()); written-in.flushed >= writebackEvery {
		startWriteback(in.f, in.flushed, written-in.flushed)
		in.flushed = written
	}
	return n, in.err
}

// Commit flushes, syncs and closes the temporary file, then gives it its
// name: the name itself if free (or if Overwrite), else the first free
// name with a suffix.
func (in *incoming) Commit() (string, error) {
	if in.ended {
		return "", os.ErrClosed
	}
	err := in.err
	if err == nil {
		if err = in.w.Flush(); err != nil {
			err = fmt.Errorf("rudp: write %q: %w", in.name, err)
		}
	}
	if err == nil {
		if err = in.f.Sync(); err != nil {
			err = fmt.Errorf("rudp: sync %q: %w", in.name, err)
		}
	}
	in.release()
	if cerr := in.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("rudp: close %q: %w", in.name, cerr)
	}
	var final string
	if err == nil {
		final, err = in.s.place(in.tmp, in.name)
	}
	if err != nil {
		in.s.root.Remove(in.tmp)
		return "", err
	}
	in.s.syncDir()
	return final, nil
}

// Abort closes and removes the temporary file.
func (in *incoming) Abort() error {
	if in.ended {
		return nil
	}
	in.release()
	in.f.Close()
	return in.s.root.Remove(in.tmp)
}

// ReadAt reads back what the file holds.
func (in *incoming) ReadAt(p []byte, off int64) (int, error) { return in.f.ReadAt(p, off) }

// Truncate cuts the file to size bytes; it is for before the first
// Write.
func (in *incoming) Truncate(size int64) error {
	if in.w.Buffered() > 0 {
		return errors.New("rudp: truncate after write")
	}
	if err := in.f.Truncate(size); err != nil {
		return err
	}
	if _, err := in.f.Seek(size, io.SeekStart); err != nil {
		return err
	}
	in.n = size
	in.flushed = min(in.flushed, size)
	return nil
}

// Suspend keeps what was written for a later Resume, within the Store's
// bounds on partial files (the oldest go first); an empty one, or a sink
// that was not resumable, is aborted.
func (in *incoming) Suspend() error {
	if in.ended {
		return nil
	}
	if in.key == "" || in.err != nil || in.n == 0 {
		return in.Abort()
	}
	err := in.w.Flush()
	in.release()
	if cerr := in.f.Close(); err == nil {
		err = cerr
	}
	now := time.Now()
	if err == nil {
		// Dated now to the nanosecond (a write's time stamp is coarser),
		// so that the bounds remove the partial suspended the longest
		// ago first.
		err = in.s.root.Chtimes(in.tmp, now, now)
	}
	if err != nil {
		in.s.root.Remove(in.tmp)
	}
	in.s.prune(now)
	return err
}

func (in *incoming) release() {
	if in.key != "" {
		in.s.unbusy(in.key)
	}
	in.ended = true
	in.w.Reset(nil)
	bufPool.Put(in.w)
	in.w = nil
}

// place gives the complete temporary file tmp its final name and returns
// it. Without Overwrite it links the file under the first free candidate
// name, which fails rather than replace a file another writer created
// meanwhile; where the file system has no hard links it falls back to a
// rename after checking the name is free.
func (s *Store) place(tmp, name string) (string, error) {
	if s.opt.Overwrite {
		if err := s.root.Rename(tmp, name); err != nil {
			return "", fmt.Errorf("rudp: store %q: %w", name, err)
		}
		return name, nil
	}
	for i := 0; i <= maxSuffix; i++ {
		cand := suffixed(name, i)
		err := s.root.Link(tmp, cand)
		if err == nil {
			s.root.Remove(tmp)
			return cand, nil
		}
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if !linkUnsupported(err) {
			return "", fmt.Errorf("rudp: store %q: %w", cand, err)
		}
		if _, err := s.root.Lstat(cand); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := s.root.Rename(tmp, cand); err != nil {
			return "", fmt.Errorf("rudp: store %q: %w", cand, err)
		}
		return cand, nil
	}
	return "", fmt.Errorf("rudp: store %q: %w: no free name up to (%d)", name, fs.ErrExist, maxSuffix)
}

// linkUnsupported reports a Link error that means the file system has no
// hard links, rather than a problem with this name.
func linkUnsupported(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOTSUP) ||
		errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EXDEV)
}

// syncDir makes the new name durable; where a folder cannot be synced,
// there is nothing more to do.
func (s *Store) syncDir() {
	if d, err := s.root.Open("."); err == nil {
		d.Sync()
		d.Close()
	}
}

// suffixed returns name for n = 0, else name with " (n)" before its
// extension: "a.txt" -> "a (1).txt", ".bashrc" -> ".bashrc (1)". The
// result stays within wire.MaxName bytes, shortening the stem if need be.
func suffixed(name string, n int) string {
	if n == 0 {
		return name
	}
	stem, ext := name, filepath.Ext(name)
	if ext == name || len(ext) > 32 {
		ext = "" // a dot file, or no real extension
	}
	stem = name[:len(name)-len(ext)]
	suffix := fmt.Sprintf(" (%d)", n)
	if over := len(stem) + len(suffix) + len(ext) - wire.MaxName; over > 0 {
		cut := len(stem) - over
		for cut > 0 && !utf8.RuneStart(stem[cut]) {
			cut--
		}
		stem = stem[:cut]
	}
	return stem + suffix + ext
}
