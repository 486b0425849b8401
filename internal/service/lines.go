package service

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxLineLength bounds a line when Limits.MaxLineLength is zero.
const DefaultMaxLineLength = 4096

// LineReader reads newline-terminated lines of at most Max bytes, not
// counting the "\n" and an optional "\r" before it, which it strips. A final
// line without a newline is returned as a line before io.EOF. A line over the
// limit returns an error wrapping ErrLineTooLong; the reader is not usable
// after that, since the rest of the line is still unread.
//
// A LineReader is not safe for concurrent use.
type LineReader struct {
	br  *bufio.Reader
	max int
	buf []byte
}

// NewLineReader returns a LineReader over r; max <= 0 means
// DefaultMaxLineLength.
func NewLineReader(r io.Reader, max int) *LineReader {
	if max <= 0 {
		max = DefaultMaxLineLength
	}
	// The buffer only needs to hold a typical line; longer ones are
	// assembled in buf, so idle connections stay small.
	size := min(max+2, 512)
	return &LineReader{br: bufio.NewReaderSize(r, size), max: max}
}

// Max reports the longest line the reader accepts.
func (lr *LineReader) Max() int { return lr.max }

// ReadLine returns the next line without its terminator. The slice is valid
// until the next call.
func (lr *LineReader) ReadLine() ([]byte, error) {
	lr.buf = lr.buf[:0]
	for {
		chunk, err := lr.br.ReadSlice('\n')
		switch {
		case err == nil:
			var line []byte
			if len(lr.buf) == 0 {
				line = chunk
			} else {
				lr.buf = append(lr.buf, chunk...)
				line = lr.buf
			}
			line = trimEOL(line)
			if len(line) > lr.max {
				return nil, lr.tooLong()
			}
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			lr.buf = append(lr.buf, chunk...)
			// One byte of slack for a "\r" whose "\n" is still to come.
			if len(lr.buf) > lr.max+1 {
				return nil, lr.tooLong()
			}
		case errors.Is(err, io.EOF):
			lr.buf = append(lr.buf, chunk...)
			if len(lr.buf) == 0 {
				return nil, io.EOF
			}
			line := bytes.TrimSuffix(lr.buf, []byte("\r"))
			if len(line) > lr.max {
				return nil, lr.tooLong()
			}
			return line, nil
		default:
			return nil, err
		}
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}

func (lr *LineReader) tooLong() error {
	return fmt.Errorf("%w (limit %d bytes)", ErrLineTooLong, lr.max)
}
