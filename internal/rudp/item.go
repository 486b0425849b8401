package rudp

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/netkit/netkit/internal/rudp/wire"
)

// Item is one thing a Sender sends: a text message or a file. Build one
// with Text, File or OpenFile; the zero Item is refused by Enqueue.
type Item struct {
	kind  byte // wire.KindText or wire.KindFile
	text  string
	name  string
	data  io.ReaderAt
	size  int64
	mtime int64 // Unix nanoseconds, part of the key a resumed file is found by

	// Per-item overrides of SendOptions; zero means the session's.
	fragSize     int
	corruptEvery int
}

// WithFragmentSize returns it sent with fragments of n data bytes
// (1..1445) instead of the session's FragmentSize.
func (it Item) WithFragmentSize(n int) Item {
	it.fragSize = n
	return it
}

// WithCorruptEvery returns it sent with the error simulation of
// SendOptions.CorruptEvery set to n for this item alone.
func (it Item) WithCorruptEvery(n int) Item {
	it.corruptEvery = n
	return it
}

// Text is the item that sends s as a text message. The legacy protocol
// carries UTF-8; s is sent as it is.
func Text(s string) Item {
	return Item{kind: wire.KindText, text: s, data: strings.NewReader(s), size: int64(len(s))}
}

// File is the item that sends size bytes read from r as the file name,
// which must be a base name (wire.SanitizeName). The Sender reads r while
// the transfer lasts, one fragment at a time, never all at once.
func File(name string, r io.ReaderAt, size int64) Item {
	return Item{kind: wire.KindFile, name: name, data: r, size: size}
}

// OpenFile opens the regular file at path and returns the item that sends
// it under its base name, with the file to close once the item is sent.
func OpenFile(path string) (Item, *os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return Item{}, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return Item{}, nil, err
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return Item{}, nil, fmt.Errorf("%s is not a regular file", path)
	}
	it := File(filepath.Base(path), f, info.Size())
	it.mtime = info.ModTime().UnixNano()
	return it, f, nil
}

// WithModTime returns it with the modification time t, which a receiver
// uses, with the name and size, to find a transfer to resume. OpenFile
// sets it from the file.
func (it Item) WithModTime(t time.Time) Item {
	it.mtime = t.UnixNano()
	return it
}

// IsFile reports whether the item is a file rather than a text.
func (it Item) IsFile() bool { return it.kind == wire.KindFile }

// Name is the file's name, or "" for a text.
func (it Item) Name() string { return it.name }

// Size is the length of the text or file in bytes.
func (it Item) Size() int64 { return it.size }

// plan checks the item and plans its transfer at fragment size f.
func (it Item) plan(f int) (wire.Plan, error) {
	if it.data == nil || (it.kind != wire.KindText && it.kind != wire.KindFile) {
		return wire.Plan{}, fmt.Errorf("rudp: empty item: build one with Text, File or OpenFile")
	}
	return wire.NewPlan(it.kind, it.name, it.size, f)
}

// describe names the item for an error message.
func (it Item) describe() string {
	if it.kind == wire.KindFile {
		return fmt.Sprintf("file %q", it.name)
	}
	return "text message"
}
