package e2e

import (
	"slices"
	"strings"
	"testing"
)

// subcommands returns the commands a --help text lists under "Commands:".
func subcommands(help string) []string {
	_, list, ok := strings.Cut(help, "\nCommands:\n")
	if !ok {
		return nil
	}
	var names []string
	for _, line := range strings.Split(list, "\n") {
		if !strings.HasPrefix(line, "  ") {
			break
		}
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}

// TestHelp runs --help on every command and subcommand, found by following
// the "Commands:" lists from the root, so that new commands are covered as
// they come: each must exit 0 and show an example.
func TestHelp(t *testing.T) {
	t.Parallel()
	var visited [][]string
	var visit func(t *testing.T, path []string)
	visit = func(t *testing.T, path []string) {
		visited = append(visited, path)
		name := strings.Join(append([]string{"netkit"}, path...), " ")
		var children []string
		t.Run(name, func(t *testing.T) {
			r := netkit(t, "", append(slices.Clone(path), "--help")...)
			r.wantCode(t, 0)
			if !strings.Contains(r.stdout, "Example") {
				t.Errorf("%s --help shows no example:\n%s", name, r.stdout)
			}
			if r.stderr != "" {
				t.Errorf("%s --help wrote to stderr: %q", name, r.stderr)
			}
			children = subcommands(r.stdout)
		})
		if len(path) < 3 {
			for _, c := range children {
				visit(t, append(slices.Clone(path), c))
			}
		}
	}
	visit(t, nil)

	for _, want := range []string{"", "serve", "echo", "echo serve", "hello", "hello serve", "time", "time serve", "web", "web serve", "version"} {
		if !slices.ContainsFunc(visited, func(p []string) bool { return strings.Join(p, " ") == want }) {
			t.Errorf("netkit %s is not listed by any --help", want)
		}
	}
}

// TestUsageErrors checks mistakes on the command line: exit status 2,
// nothing on stdout and one line on stderr that names the mistake.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		mention string // the one-line error must contain this
	}{
		{[]string{"--bogus"}, "bogus"},
		{[]string{"bogus"}, "bogus"},
		{[]string{"version", "--bogus"}, "bogus"},
		{[]string{"serve", "--bogus"}, "bogus"},
		{[]string{"serve", "--host", "not-an-ip"}, "not-an-ip"},
		{[]string{"serve", "--only", "nosuch"}, "nosuch"},
		{[]string{"serve", "--only", "echo", "--except", "web"}, "--except"},
		{[]string{"echo", "--bogus"}, "bogus"},
		{[]string{"echo", "127.0.0.1:99999"}, "127.0.0.1:99999"},
		{[]string{"echo", "127.0.0.1:port"}, "127.0.0.1:port"},
		{[]string{"echo", "a b"}, "a b"},
		{[]string{"echo", "127.0.0.1:1", "extra"}, "extra"},
		{[]string{"echo", "serve", "--bogus"}, "bogus"},
		{[]string{"echo", "serve", "--listen", "nowhere"}, "nowhere"},
		{[]string{"echo", "serve", "--listen", "127.0.0.1:70000"}, "70000"},
		{[]string{"hello", "--bogus"}, "bogus"},
		{[]string{"hello", "127.0.0.1:-1", "Hello"}, "127.0.0.1:-1"},
		{[]string{"hello", "127.0.0.1:1", "garbage"}, "garbage"},
		{[]string{"hello", "Time", "extra"}, "Time"},
		{[]string{"hello", "--tls"}, "--fingerprint"},
		{[]string{"hello", "--tls", "--fingerprint", "AB:CD:EF"}, "--fingerprint"},
		{[]string{"serve", "--tls-min", "1.1"}, "--tls-min"},
		{[]string{"serve", "--tls-min", "1.2"}, "--tls-min needs --tls"},
		{[]string{"serve", "--log-level", "loud"}, "--log-level"},
		{[]string{"serve", "--tls", "--cert", "x.pem"}, "--key"},
		{[]string{"chat", "serve", "--admin-token", "tok"}, "--admin-token"},
		{[]string{"hello", "serve", "--listen", "127.0.0.1"}, "127.0.0.1"},
		{[]string{"time", "--bogus"}, "bogus"},
		{[]string{"time", "127.0.0.1:x"}, "127.0.0.1:x"},
		{[]string{"time", "--proto", "carrier-pigeon"}, "carrier-pigeon"},
		{[]string{"time", "--proto", "sntp", "--udp"}, "--udp"},
		{[]string{"time", "serve", "--sntp", "nowhere"}, "nowhere"},
		{[]string{"time", "serve", "--rfc868", "127.0.0.1:65536"}, "65536"},
		{[]string{"web", "--bogus"}, "bogus"},
		{[]string{"web", "http://127.0.0.1:7700"}, "http://127.0.0.1:7700"},
		{[]string{"web", "exa mple:7700"}, "exa mple:7700"},
		{[]string{"web", "serve", "--listen", ":x"}, ":x"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := netkit(t, "", tt.args...)
			r.wantCode(t, 2)
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
			line := oneLine(t, "stderr", r.stderr)
			if !strings.Contains(line, tt.mention) {
				t.Errorf("error %q does not mention %q", line, tt.mention)
			}
			if !strings.Contains(line, "(see 'netkit") || !strings.HasSuffix(line, " --help')") {
				t.Errorf("error %q does not end with (see 'netkit CMD --help')", line)
			}
		})
	}
}
