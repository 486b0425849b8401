package main

import (
	"testing"
)

func TestParseMsg(t *testing.T) {
	tests := []struct {
		name string
		line string
		s, n int
		t    int64
		ok   bool
	}{
		{"netkit", "<u17> MSG s=3 n=17 t=1763764000123456789\n", 3, 17, 1763764000123456789, true},
		{"ncat", "<user#5> MSG s=0 n=0 t=42\n", 0, 0, 42, true},
		{"crlf", "<u1> MSG s=1 n=2 t=3\r\n", 1, 2, 3, true},
		{"no newline", "MSG s=9 n=8 t=7", 9, 8, 7, true},
		{"join", "*** u5 joined\n", 0, 0, 0, false},
		{"announce", "<announce> 127.0.0.1 is connected as <user5>.\n", 0, 0, 0, false},
		{"missing field", "<u1> MSG s=1 t=3\n", 0, 0, 0, false},
		{"negative", "<u1> MSG s=-1 n=2 t=3\n", 0, 0, 0, false},
		{"leading zero", "<u1> MSG s=01 n=2 t=3\n", 0, 0, 0, false},
		{"empty value", "<u1> MSG s= n=2 t=3\n", 0, 0, 0, false},
		{"trailing junk", "<u1> MSG s=1 n=2 t=3x\n", 0, 0, 0, false},
		{"huge sender", "<u1> MSG s=99999999999 n=2 t=3\n", 0, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, n, ts, ok := parseMsg([]byte(tt.line))
			if ok != tt.ok || ok && (s != tt.s || n != tt.n || ts != tt.t) {
				t.Errorf("parseMsg(%q) = %d, %d, %d, %v; want %d, %d, %d, %v", tt.line, s, n, ts, ok, tt.s, tt.n, tt.t, tt.ok)
			}
		})
	}
}

// TestParseMsgTruncated checks that every prefix of a payload short of its
// timestamp is rejected, and that the round trip through appendMsg holds.
func TestParseMsgTruncated(t *testing.T) {
	line := appendMsg([]byte("<u12> "), 7, 19, 1763764000123456789)
	if s, n, ts, ok := parseMsg(line); !ok || s != 7 || n != 19 || ts != 1763764000123456789 {
		t.Fatalf("parseMsg(%q) = %d, %d, %d, %v; want 7, 19, 1763764000123456789, true", line, s, n, ts, ok)
	}
	end := len("<u12> MSG s=7 n=19 t=")
	for i := range end {
		if _, _, _, ok := parseMsg(line[:i]); ok {
			t.Errorf("parseMsg(%q) accepted a truncated payload", line[:i])
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		line string
		want kind
		n    int
	}{
		{"*** u5 joined\n", kindJoin, 1},
		{"<announce> 127.0.0.1 is connected as <user5>.\n", kindJoin, 1},
		{"*** u5 left (quit)\n", kindLeave, 1},
		{"*** u5 left (too slow: did not read its messages)\n", kindLeave, 1},
		{"<announce> <user5> is disconnected.\n", kindLeave, 1},
		{"*** joined: u5, u6, u7\n", kindJoin, 3},
		{"*** joined: u5\n", kindJoin, 1},
		{"*** left (quit): u5, u6\n", kindLeave, 2},
		{"*** left (quit: a, b): c): u5, u6\n", kindLeave, 2},
		{"*** welcome, u5; here (1): u5\n", kindOther, 1},
		{"<announce> already connected: nobody.\n", kindOther, 1},
		{"<u1> I joined\n", kindOther, 1},
		{"<u1> *** joined: a, b\n", kindOther, 1},
	}
	for _, tt := range tests {
		if got, n := classify([]byte(tt.line)); got != tt.want || n != tt.n {
			t.Errorf("classify(%q) = %d, %d; want %d, %d", tt.line, got, n, tt.want, tt.n)
		}
	}
}

func FuzzParseMsg(f *testing.F) {
	f.Add([]byte("<u17> MSG s=3 n=17 t=1763764000123456789\n"))
	f.Add([]byte("<user#5> MSG s=0 n=0 t=42\r\n"))
	f.Add([]byte("*** u5 joined\n"))
	f.Fuzz(func(t *testing.T, line []byte) {
		s, n, ts, ok := parseMsg(line)
		if !ok {
			return
		}
		if s < 0 || n < 0 || ts < 0 {
			t.Fatalf("parseMsg(%q) = %d, %d, %d: negative", line, s, n, ts)
		}
		// What parses re-encodes to a payload that parses the same.
		s2, n2, ts2, ok2 := parseMsg(appendMsg(nil, s, n, ts))
		if !ok2 || s2 != s || n2 != n || ts2 != ts {
			t.Fatalf("round trip of %q: %d, %d, %d, %v", line, s2, n2, ts2, ok2)
		}
	})
}
