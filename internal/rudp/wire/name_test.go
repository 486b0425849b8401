package wire

import (
	"errors"
	"strings"
	"testing"
)

func TestSanitizeName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"smallFile.bin", true},
		{"a", true},
		{".hidden", true},
		{"...", true},
		{"a..b", true},
		{"with space.txt", true},
		{"súbor.txt", true},
		{"日本語", true},
		{strings.Repeat("n", MaxName), true},
		{strings.Repeat("é", MaxName/2), true}, // 254 bytes

		{"", false},
		{".", false},
		{"..", false},
		{strings.Repeat("n", MaxName+1), false},
		{strings.Repeat("é", MaxName/2+1), false}, // 256 bytes
		{"/etc/passwd", false},
		{"/", false},
		{"dir/a", false},
		{"a/", false},
		{"../a", false},
		{`a\b`, false},
		{`C:\Windows`, false},
		{`\\server\share`, false},
		{"a\x00b", false},
		{"a\nb", false},
		{"\t", false},
		{"a\x7f", false},
		{"a\u0085", false}, // C1 NEL
		{"a\xff", false},
		{"\xc3", false},              // truncated UTF-8
		{"bidi\u202etxt.exe", false}, // lists as bidiexe.txt
		{"a\u200bb", false},          // zero-width space
		{"\ufeffa", false},           // byte order mark
		{"a\u2066b", false},          // left-to-right isolate
		{"a\u00adb", false},          // soft hyphen
	}
	for _, tt := range tests {
		got, err := SanitizeName(tt.name)
		switch {
		case tt.ok && (err != nil || got != tt.name):
			t.Errorf("SanitizeName(%q) = %q, %v; want it unchanged", tt.name, got, err)
		case !tt.ok && (!errors.Is(err, ErrBadName) || got != ""):
			t.Errorf("SanitizeName(%q) = %q, %v; want ErrBadName", tt.name, got, err)
		case !tt.ok && !strings.HasPrefix(err.Error(), "wire: bad file name: "):
			t.Errorf("SanitizeName(%q) error %q gives no reason", tt.name, err)
		}
	}
}
