package service

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestLineReader(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		max   int
		want  []string
		final error
	}{
		{"empty", "", 10, nil, io.EOF},
		{"one", "hello\n", 10, []string{"hello"}, io.EOF},
		{"crlf", "hello\r\nworld\r\n", 10, []string{"hello", "world"}, io.EOF},
		{"blank lines", "\n\r\n\n", 10, []string{"", "", ""}, io.EOF},
		{"no final newline", "a\nb", 10, []string{"a", "b"}, io.EOF},
		{"final cr only", "a\r", 10, []string{"a"}, io.EOF},
		{"exactly max", "0123456789\n", 10, []string{"0123456789"}, io.EOF},
		{"exactly max crlf", "0123456789\r\n", 10, []string{"0123456789"}, io.EOF},
		{"one over max", "0123456789A\n", 10, nil, ErrLineTooLong},
		{"one over max no newline", "0123456789A", 10, nil, ErrLineTooLong},
		{"over max after good", "ok\n0123456789AB\n", 10, []string{"ok"}, ErrLineTooLong},
		{"inner cr kept", "a\rb\n", 10, []string{"a\rb"}, io.EOF},
		{"long lines past buffer", strings.Repeat("x", 2000) + "\n" + strings.Repeat("y", 3000) + "\n", 4096,
			[]string{strings.Repeat("x", 2000), strings.Repeat("y", 3000)}, io.EOF},
		{"long line over limit past buffer", strings.Repeat("x", 5000) + "\n", 4096, nil, ErrLineTooLong},
		{"binary", "\x00\xff\x16\x03\n", 10, []string{"\x00\xff\x16\x03"}, io.EOF},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			name := tt.name
			var r io.Reader = strings.NewReader(tt.in)
			if oneByte {
				// Partial reads must not change the result.
				name += "/onebyte"
				r = iotest.OneByteReader(r)
			}
			t.Run(name, func(t *testing.T) {
				lr := NewLineReader(r, tt.max)
				var got []string
				var err error
				for range 100 {
					var line []byte
					line, err = lr.ReadLine()
					if err != nil {
						break
					}
					got = append(got, string(line))
				}
				if !errors.Is(err, tt.final) {
					t.Fatalf("final error = %v, want %v", err, tt.final)
				}
				if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
					t.Errorf("lines = %q, want %q", got, tt.want)
				}
			})
		}
	}
}

func TestLineReaderDefaultMax(t *testing.T) {
	lr := NewLineReader(strings.NewReader(""), 0)
	if got := lr.Max(); got != DefaultMaxLineLength {
		t.Errorf("Max() = %d, want %d", got, DefaultMaxLineLength)
	}
}

func TestLineReaderAllocs(t *testing.T) {
	in := bytes.Repeat([]byte("a short line\n"), 1000)
	r := bytes.NewReader(in)
	lr := NewLineReader(r, 100)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := lr.ReadLine(); err != nil {
			r.Reset(in)
		}
	})
	if allocs > 0 {
		t.Errorf("ReadLine allocates %.1f times per line, want 0", allocs)
	}
}

// FuzzLineReader checks that whatever arrives, in whatever chunks, every
// line returned is within the limit, holds no newline, and the lines
// together with their terminators are a prefix of the input.
func FuzzLineReader(f *testing.F) {
	f.Add([]byte("hello\r\nworld\n"), uint8(8), uint8(3))
	f.Add([]byte("TIME\nISO\r\nQUIT"), uint8(4), uint8(1))
	f.Add([]byte(strings.Repeat("z", 600)+"\n"), uint8(255), uint8(7))
	f.Add([]byte("\x16\x03\x01\x00\xa5\x01"), uint8(10), uint8(2))
	f.Fuzz(func(t *testing.T, in []byte, max, chunk uint8) {
		limit := int(max) + 1
		r := &chunkReader{b: in, n: int(chunk) + 1}
		lr := NewLineReader(r, limit)
		consumed := 0
		for range len(in) + 1 {
			line, err := lr.ReadLine()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, ErrLineTooLong) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if len(line) > limit {
				t.Fatalf("line of %d bytes passed limit %d", len(line), limit)
			}
			if bytes.IndexByte(line, '\n') >= 0 {
				t.Fatalf("line %q holds a newline", line)
			}
			if !bytes.HasPrefix(in[consumed:], line) {
				t.Fatalf("line %q is not the next input %q", line, in[consumed:])
			}
			consumed += len(line)
			rest := in[consumed:]
			switch {
			case bytes.HasPrefix(rest, []byte("\r\n")):
				consumed += 2
			case bytes.HasPrefix(rest, []byte("\n")), bytes.HasPrefix(rest, []byte("\r")) && len(rest) == 1:
				consumed++
			case len(rest) != 0:
				t.Fatalf("line %q followed by %q, not a terminator", line, rest)
			}
		}
		t.Fatal("more lines than input bytes")
	})
}

type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.n, len(r.b))
	copy(p, r.b[:n])
	r.b = r.b[n:]
	return n, nil
}
