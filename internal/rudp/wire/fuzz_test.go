package wire

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func FuzzParse(f *testing.F) {
	for _, w := range exampleWires(f) {
		f.Add(w)
	}
	for _, fr := range []Frame{KeepAlive(), Fin(), AckFor(KeepAlive()), NackFor(Frame{Header: hdr(DAT, 2, 9, 4)}),
		{hdr(DAT, MaxSeq, MaxSeq, MaxData), bytes.Repeat([]byte{0xff}, MaxData)}} {
		f.Add(Append(nil, fr))
	}
	f.Add(AppendWithCRC(nil, KeepAlive(), kpaCRC))
	damaged := mustHex(f, textExample[2].wire)
	Corrupt(damaged, 5)
	f.Add(damaged)
	f.Add(mustHex(f, fileExample[1].wire)[:HeaderLen])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrCRC) {
				if !sameFrame(fr, Frame{}) {
					t.Fatalf("Parse(%x) = %+v with %v, want the zero Frame", b, fr.Header, err)
				}
				return
			}
			// A damaged frame is NACKed, and the NACK is always valid.
			if _, err := Parse(Append(nil, NackFor(fr))); err != nil {
				t.Fatalf("Parse(NackFor(%+v)): %v", fr.Header, err)
			}
			return
		}
		// Every byte of b is in the frame.
		if exact := AppendWithCRC(nil, fr, fr.CRC); !bytes.Equal(exact, b) {
			t.Fatalf("AppendWithCRC(Parse(%x)) = %x", b, exact)
		}
		out := Append(nil, fr)
		fr2, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Append(Parse(%x)) = %x): %v", b, out, err)
		}
		want := fr
		if !fr.Type.checked() {
			want.CRC = 0 // Append sends these with crc 0, as the original does
		}
		if !sameFrame(fr2, want) {
			t.Fatalf("Parse(Append(f)) = %+v, want %+v", fr2.Header, want.Header)
		}
		if again := Append(nil, fr2); !bytes.Equal(again, out) {
			t.Fatalf("Append not stable: %x then %x", out, again)
		}
		// Whatever is answered gets a valid answer that matches it.
		if fr.Type == INF || fr.Type == DAT || fr.Type == KPA {
			ack := AckFor(fr)
			if _, err := Parse(Append(nil, ack)); err != nil {
				t.Fatalf("Parse(AckFor(%+v)): %v", fr.Header, err)
			}
			if !Answers(fr, ack) {
				t.Fatalf("Answers(f, AckFor(f)) = false for %+v", fr.Header)
			}
		}
		if fr.Type == INF {
			if p, err := PlanOf(fr); err == nil {
				if !bytes.Equal(Append(nil, p.Info()), out) {
					t.Fatalf("PlanOf(%+v).Info() differs", fr.Header)
				}
				_, _ = p.Fragment(p.Count)
			} else if !errors.Is(err, ErrBadName) {
				t.Fatalf("PlanOf(a parsed INF) = %v", err)
			}
		}
	})
}

func FuzzSanitizeName(f *testing.F) {
	for _, s := range []string{
		"smallFile.bin", "", ".", "..", "...", "/etc/passwd", `C:\x`, "a\x00", "súbor", "\xff",
		strings.Repeat("n", MaxName), strings.Repeat("n", MaxName+1),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, err := SanitizeName(name)
		if err != nil {
			if !errors.Is(err, ErrBadName) || got != "" {
				t.Fatalf("SanitizeName(%q) = %q, %v", name, got, err)
			}
			return
		}
		switch {
		case got != name:
			t.Fatalf("SanitizeName(%q) = %q, want it unchanged", name, got)
		case got == "" || got == "." || got == "..":
			t.Fatalf("SanitizeName(%q) = %q", name, got)
		case strings.ContainsAny(got, `/\`):
			t.Fatalf("SanitizeName(%q) = %q contains a separator", name, got)
		case !utf8.ValidString(got) || len(got) > MaxName:
			t.Fatalf("SanitizeName(%q) = %q: invalid UTF-8 or too long", name, got)
		case strings.ContainsFunc(got, unicode.IsControl):
			t.Fatalf("SanitizeName(%q) = %q contains a control character", name, got)
		case filepath.Base(got) != got || !filepath.IsLocal(got):
			t.Fatalf("SanitizeName(%q) = %q is not a local base name", name, got)
		}
	})
}
