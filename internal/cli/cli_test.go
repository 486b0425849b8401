package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestParseInterleaved(t *testing.T) {
	tests := []struct {
		args    []string
		wantPos []string
		wantN   int
		wantB   bool
	}{
		{[]string{"a", "b"}, []string{"a", "b"}, 0, false},
		{[]string{"--n", "3", "a"}, []string{"a"}, 3, false},
		{[]string{"a", "--n", "3", "b", "-b"}, []string{"a", "b"}, 3, true},
		{[]string{"a", "--", "--n", "4"}, []string{"a", "--n", "4"}, 0, false},
		{[]string{"-", "--b"}, []string{"-"}, 0, true},
		{nil, nil, 0, false},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		n := fs.Int("n", 0, "")
		b := fs.Bool("b", false, "")
		pos, err := parseInterleaved(fs, tt.args)
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if strings.Join(pos, " ") != strings.Join(tt.wantPos, " ") || *n != tt.wantN || *b != tt.wantB {
			t.Errorf("%q: pos %q n %d b %v, want %q %d %v", tt.args, pos, *n, *b, tt.wantPos, tt.wantN, tt.wantB)
		}
	}
}

func TestResolveAddr(t *testing.T) {
	const def = "127.0.0.1:7707"
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", def, true},
		{"example.lan", "example.lan:7707", true},
		{"10.0.0.1:9", "10.0.0.1:9", true},
		{":9000", "127.0.0.1:9000", true},
		{"[::1]:80", "[::1]:80", true},
		{"::1", "[::1]:7707", true},
		{"host:99999", "", false},
		{"host:port", "", false},
		{"host:-1", "", false},
		{"a b", "", false},
		{"host:1:2", "", false},
	}
	for _, tt := range tests {
		got, err := resolveAddr(tt.in, def)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("resolveAddr(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzResolveAddr(f *testing.F) {
	for _, s := range []string{"", "h", "h:1", "[::1]:2", "::1", ":0", "a:b:c", "[x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := resolveAddr(in, "127.0.0.1:7707")
		if err != nil {
			return
		}
		if _, port, err := net.SplitHostPort(got); err != nil || checkPort(port) != nil {
			t.Fatalf("resolveAddr(%q) = %q, not a valid HOST:PORT", in, got)
		}
	})
}

// run runs netkit in-process and returns its output and error.
func run(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	err := Run(ctx, args, IO{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb})
	return out.String(), errb.String(), err
}

func TestUsageErrors(t *testing.T) {
	tests := [][]string{
		{"--bogus"},
		{"nosuch"},
		{"echo", "--bogus"},
		{"echo", "a:b:c"},
		{"echo", "host:70000"},
		{"hello", "a", "b", "c"},
		{"time", "--proto", "nope"},
		{"time", "--udp"},
		{"serve", "--only", "nope"},
		{"serve", "--only", "echo", "--except", "web"},
		{"serve", "--host", "not an ip"},
		{"echo", "serve", "--listen", "nope"},
		{"time", "serve", "--sntp", "127.0.0.1:x"},
		{"version", "extra"},
		{"discover", "--sweep", "10.0.0.0/33"},
		{"discover", "--sweep", "10.0.0.0/16"},
		{"discover", "--sweep", "10.0.0.0/24", "--max-hosts", "100"},
		{"discover", "--sweep", "10.0.0.0/24", "--max-hosts", "0"},
		{"discover", "--sweep", "10.0.0.0/24", "--port", "x"},
		{"discover", "--sweep", ","},
		{"discover", "--port", "7700"},
	}
	for _, args := range tests {
		_, _, err := run(t, "", args...)
		if ExitCode(err) != 2 {
			t.Errorf("%q: exit %d (%v), want 2", args, ExitCode(err), err)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "--help") {
			t.Errorf("%q: error %q is not one line pointing at --help", args, msg)
		}
	}
}

func TestHelpEverywhere(t *testing.T) {
	var walk func(c *command, path []string)
	var paths [][]string
	walk = func(c *command, path []string) {
		paths = append(paths, path)
		for _, ch := range c.children {
			walk(ch, append(append([]string(nil), path...), ch.name))
		}
	}
	walk(rootCommand(IO{}), nil)
	if len(paths) < 10 {
		t.Fatalf("only %d commands found", len(paths))
	}
	for _, p := range paths {
		for _, h := range []string{"--help", "-h"} {
			out, _, err := run(t, "", append(append([]string(nil), p...), h)...)
			if err != nil {
				t.Errorf("%q %s: %v", p, h, err)
			}
			if !strings.HasPrefix(out, "Usage: netkit") {
				t.Errorf("%q %s: no usage line in %q", p, h, out)
			}
			if len(p) > 0 && p[0] != "version" && !strings.Contains(out, "Example") {
				t.Errorf("%q %s: help has no example", p, h)
			}
		}
	}
}

// startServe runs `netkit ARGS --json` in-process and returns the address
// of each service/proto once all are bound.
func startServe(t *testing.T, args ...string) map[string]string {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, append(args, "--json", "--data", t.TempDir()), IO{Stdin: strings.NewReader(""), Stdout: pw, Stderr: io.Discard})
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v after cancel", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop within 15s of cancel")
		}
	})
	addrs := map[string]string{}
	sc := bufio.NewScanner(pr)
	var want int
	for sc.Scan() {
		var ep struct{ Service, Proto, Addr string }
		if err := json.Unmarshal(sc.Bytes(), &ep); err != nil {
			t.Fatalf("bad table line %q", sc.Text())
		}
		addrs[ep.Service+"/"+ep.Proto] = ep.Addr
		want++
		if len(addrs) == expectedEndpoints(args) {
			go io.Copy(io.Discard, pr)
			return addrs
		}
	}
	t.Fatalf("serve ended before printing its table: %v", <-done)
	return nil
}

func expectedEndpoints(args []string) int {
	switch args[0] {
	case "serve":
		return 11
	case "echo":
		return 2
	case "time":
		return 5
	}
	return 1
}

func TestServeAndClients(t *testing.T) {
	addrs := startServe(t, "serve", "--random-ports")
	for _, k := range []string{"web/http", "echo/tcp", "echo/udp", "hello/tcp", "time/tcp", "daytime/tcp", "rfc868/tcp", "rfc868/udp", "sntp/udp"} {
		if addrs[k] == "" {
			t.Errorf("no %s in the table: %v", k, addrs)
		}
	}
	if addrs["echo/tcp"] != addrs["echo/udp"] {
		t.Errorf("echo tcp %s and udp %s differ", addrs["echo/tcp"], addrs["echo/udp"])
	}
	rfc3339ms := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z  offset [-+]\d+\.\d{3} ms  round trip \d+\.\d{3} ms\n$`)
	tests := []struct {
		name string
		args []string
		in   string
		want func(string) bool
	}{
		{"echo", []string{"echo", addrs["echo/tcp"], "-q"}, "one\ntwo\n", func(s string) bool { return s == "one\ntwo\n" }},
		{"echo udp", []string{"echo", "--udp", addrs["echo/udp"]}, "one\ntwo\n", func(s string) bool { return s == "one\ntwo\n" }},
		{"hello", []string{"hello", addrs["hello/tcp"]}, "", func(s string) bool { return s == "Hello from server\n" }},
		{"hello time flag after", []string{"hello", addrs["hello/tcp"], "Time", "--timeout", "5s"}, "", func(s string) bool { return strings.HasPrefix(s, "20") }},
		{"time line", []string{"time", addrs["time/tcp"]}, "", rfc3339ms.MatchString},
		{"time rfc868", []string{"time", addrs["rfc868/tcp"], "--proto", "rfc868"}, "", wholeSeconds("RFC 868")},
		{"time rfc868 udp", []string{"time", "--proto", "rfc868", "--udp", addrs["rfc868/udp"]}, "", wholeSeconds("RFC 868")},
		{"time daytime", []string{"time", "--proto", "daytime", addrs["daytime/tcp"]}, "", wholeSeconds("RFC 867")},
		{"time daytime json", []string{"time", "--proto", "daytime", "--json", addrs["daytime/tcp"]}, "", func(s string) bool {
			var r timeResult
			return json.Unmarshal([]byte(s), &r) == nil && r.Proto == "daytime" && r.ResolutionMS == 1000 && time.Since(r.Time).Abs() < time.Minute
		}},
		{"time sntp", []string{"time", addrs["sntp/udp"], "--proto", "sntp"}, "", rfc3339ms.MatchString},
		{"time json", []string{"time", addrs["sntp/udp"], "--proto", "sntp", "--json"}, "", func(s string) bool {
			var r timeResult
			return json.Unmarshal([]byte(s), &r) == nil && r.Proto == "sntp" && *r.Stratum == 10 && r.OffsetMS < 1000 && r.OffsetMS > -1000
		}},
		{"web", []string{"web", addrs["web/http"]}, "", func(s string) bool { return strings.Contains(s, "sntp") && strings.Contains(s, addrs["hello/tcp"]) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, err := run(t, tt.in, tt.args...)
			if err != nil {
				t.Fatalf("%v (stderr %q)", err, stderr)
			}
			if !tt.want(out) {
				t.Errorf("output %q", out)
			}
		})
	}
}

// wholeSeconds matches the output of a time protocol with whole seconds:
// the offset in seconds, said to be within one, never in milliseconds.
func wholeSeconds(proto string) func(string) bool {
	re := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  offset [+-]\d+ s \(within ±1 s: ` + proto + ` has whole seconds; use --proto sntp for milliseconds\)  round trip [\d.]+ ms\n$`)
	return re.MatchString
}

func TestTLSClients(t *testing.T) {
	data := t.TempDir()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"hello", "serve", "--listen", "127.0.0.1:0", "--tls", "--data", data}, IO{Stdout: pw, Stderr: io.Discard})
		pw.Close()
	}()
	defer func() { cancel(); <-done }()
	sc := bufio.NewScanner(pr)
	var fp, addr string
	for addr == "" && sc.Scan() {
		line := sc.Text()
		if f, ok := strings.CutPrefix(line, "TLS: SHA-256 fingerprint "); ok {
			fp = f
		}
		if fs := strings.Fields(line); len(fs) == 3 && fs[0] == "hello" {
			if fs[1] != "tls" {
				t.Errorf("proto %q, want tls", fs[1])
			}
			addr = fs[2]
		}
	}
	go io.Copy(io.Discard, pr)
	if fp == "" || addr == "" {
		t.Fatalf("no fingerprint or address printed")
	}
	wrong := strings.Repeat("00:", 31) + "00"
	tests := []struct {
		name    string
		args    []string
		wantOut string
		wantErr []string
	}{
		{"pinned", []string{"--tls", "--fingerprint", fp}, "Hello from server\n", nil},
		{"ca", []string{"--tls", "--ca", filepath.Join(data, "tls", "cert.pem")}, "Hello from server\n", nil},
		{"insecure", []string{"--tls", "--insecure"}, "Hello from server\n", nil},
		{"wrong pin", []string{"--tls", "--fingerprint", wrong}, "", []string{fp, wrong}},
		{"no trust", []string{"--tls"}, "", []string{"--ca FILE, --fingerprint SHA256 or --insecure"}},
		{"plain to tls", nil, "", []string{"speaks TLS: connect with --tls"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := run(t, "", append([]string{"hello", addr}, tt.args...)...)
			if tt.wantErr == nil {
				if err != nil || out != tt.wantOut {
					t.Errorf("got %q, %v; want %q", out, err, tt.wantOut)
				}
				return
			}
			msg := out
			if err != nil {
				msg += err.Error()
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(msg, w) {
					t.Errorf("output/error %q lacks %q", msg, w)
				}
			}
		})
	}
	info, err := os.Stat(filepath.Join(data, "tls", "key.pem"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, mode %v", err, info.Mode())
	}
}

func TestExitCode(t *testing.T) {
	if ExitCode(nil) != 0 || ExitCode(errors.New("x")) != 1 || ExitCode(&UsageError{Cmd: "c", Err: errors.New("x")}) != 2 {
		t.Error("exit codes wrong")
	}
}

// TestDiscoverSweepUsage: a bad block or one over --max-hosts is a usage
// error that names what was wrong, before any key is needed or any
// packet sent.
func TestDiscoverSweepUsage(t *testing.T) {
	t.Setenv("NETKIT_KEY", "")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--sweep", "10.0.0.0/33"}, `"/33" is not a prefix length`},
		{[]string{"--sweep", "10.0.0.0/24", "--max-hosts", "100"}, "more than 100 addresses"},
		{[]string{"--sweep", "10.0.0.0/16"}, "more than 1024 addresses"},
		{[]string{"--sweep", "10.0.0.1", "--port", "0-x"}, "--port"},
		{[]string{"--port", "7700"}, "go with --sweep"},
	}
	for _, tt := range tests {
		_, _, err := run(t, "", append([]string{"discover"}, tt.args...)...)
		if ExitCode(err) != 2 || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: exit %d (%v), want 2 saying %q", tt.args, ExitCode(err), err, tt.want)
		}
	}
}
