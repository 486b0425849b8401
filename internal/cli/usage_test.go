package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/netkit/netkit/internal/suite"
)

// badValues gives a wrong value for each string flag, by name, for
// TestEveryFlagRefusesBadValues. A new string flag needs an entry here, or
// in freeForm when every value is good.
var badValues = map[string][]string{
	"admin-token":       {"tok"},
	"ca":                {"/nonexistent/ca.pem"},
	"cert":              {"/nonexistent/cert.pem"},
	"key":               {"/nonexistent/key.pem"},
	"except":            {"nosuch", "web,nosuch"},
	"only":              {"nosuch", ","},
	"host":              {"not-an-ip"},
	"nats":              {"http://127.0.0.1:4222"},
	"nick":              {"two words", strings.Repeat("n", 100)},
	"listen":            {"nowhere", "127.0.0.1:70000"},
	"daytime":           {"nowhere"},
	"rfc868":            {"127.0.0.1:x"},
	"sntp":              {":-1"},
	"to":                {"nowhere", "127.0.0.1:0"},
	"port":              {"udp", "nosuch=1", "udp=99999", "udp=x"},
	"fingerprint":       {"AB:CD:EF", "zz"},
	"max-size":          {"lots"},
	"max-partial-bytes": {"lots"},
	"seed":              {"x"},
	"log-level":         {"loud"},
	"tls-min":           {"1.1"},
	"log-format":        {"xml"},
	"proto":             {"carrier-pigeon"},
	"key-file":          {"/nonexistent/msg.key"},
	"box-key":           {"/nonexistent/server"},
	"server-key":        {"/nonexistent/server.pub"},
	"name":              {strings.Repeat("n", 100)},
	"via":               {"smoke"},
	"p":                 {"0", "22,,80", "U:53"},
	"ping-ports":        {"0"},
	"exclude":           {"10.0.0.300"},
	"iL":                {"/nonexistent/targets"},
	"oG":                {"/nonexistent/dir/out.gnmap"},
	"oX":                {"/nonexistent/dir/out.xml"},
	"room":              {"a b"},
	"resume":            {"a b"},
	"auto":              {"lizard"},
	"sweep":             {"10.0.0.0/33", "10.0.0.0/8", ","},
}

// Impairment flags: every one takes a number with a unit.
func init() {
	for _, side := range []string{"", "up-", "down-"} {
		for name, bad := range map[string]string{
			"loss": "150%", "dup": "x", "reorder": "-5%", "corrupt": "y%", "delay": "soon",
			"jitter": "-1s", "reorder-delay": "later", "rate": "fast", "queue": "big",
		} {
			badValues[side+name] = []string{bad}
		}
	}
}

// freeForm flags take any text.
var freeForm = []string{"data", "dir", "text", "secret", "udp-secret",
	// netkit scan's -T0..-T5 and -p- take no value.
	"T0", "T1", "T2", "T3", "T4", "T5", "p-"}

// baseArgs are what a command needs besides the flag under test, so that
// the flag is what it refuses.
var baseArgs = map[string][]string{
	"netkit impair":   {"--to", "127.0.0.1:9"},
	"netkit scan":     {"127.0.0.1", "--no-progress", "-p", "1"},
	"netkit udp send": {"127.0.0.1:9", "--text", "x"},
}

// pendingConvention lists commands and flags, landed by others during
// issue 13, that do not yet check every value before working: their
// failures are logged, not failed. Remove an entry once it follows the
// convention in usage.go.
var pendingConvention = []string{}

func pending(path, flagName string) bool {
	return slices.ContainsFunc(pendingConvention, func(p string) bool {
		return path == p || strings.HasPrefix(path, p+" ") || p == flagRef(flagName)
	})
}

// ownedElsewhere lists flags whose checks belong to the udp commands'
// own work (issue 13 items 6 and 7, udp parts): reported, not failed.
var ownedElsewhere = []string{"netkit udp send --fragment-size"}

// walk calls f for every command of the tree with its path.
func walk(c *command, path string, f func(c *command, path string)) {
	f(c, path)
	for _, ch := range c.children {
		walk(ch, path+" "+ch.name, f)
	}
}

// badFor returns wrong values for a flag, from its type or badValues.
func badFor(f *flag.Flag) ([]string, bool) {
	if v, ok := badValues[f.Name]; ok {
		return v, true
	}
	switch fmt.Sprintf("%T", f.Value) {
	case "*flag.boolValue":
		return []string{"maybe"}, true
	case "*flag.durationValue":
		return []string{"soon", "-1s"}, true
	case "*flag.intValue", "*flag.int64Value", "*flag.uintValue":
		return []string{"many", "-5"}, true
	case "*flag.float64Value":
		return []string{"lots", "-1"}, true
	}
	return nil, false
}

// runUsage runs args, with a context already cancelled so that a command
// that fails to refuse them cannot serve or wait.
func runUsage(args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	err = Run(ctx, args, IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut})
	return out.String(), errOut.String(), err
}

// checkUsage fails t unless args give a usage error naming mention, on
// one line, with the hint to the command's help.
func checkUsage(t *testing.T, args []string, mention string) {
	t.Helper()
	if msg := usageProblem(args, mention); msg != "" {
		t.Error(msg)
	}
}

// usageProblem says what is wrong with what args give, "" if they give a
// usage error as the convention wants.
func usageProblem(args []string, mention string) string {
	stdout, _, err := runUsage(args...)
	path := "netkit"
	c := rootCommand(IO{})
	for _, a := range args {
		if ch := c.child(a); ch != nil {
			c, path = ch, path+" "+a
		} else {
			break
		}
	}
	cmd := strings.Join(args, " ")
	switch {
	case ExitCode(err) != 2:
		return fmt.Sprintf("netkit %s: exit status %d (%v), want 2", cmd, ExitCode(err), err)
	case strings.Contains(err.Error(), "\n"):
		return fmt.Sprintf("netkit %s: error on more than one line: %q", cmd, err)
	case !strings.Contains(err.Error(), mention):
		return fmt.Sprintf("netkit %s: error %q does not name %s", cmd, err, mention)
	case !strings.HasSuffix(err.Error(), "(see '"+path+" --help')"):
		return fmt.Sprintf("netkit %s: error %q does not end with (see '%s --help')", cmd, err, path)
	case stdout != "":
		return fmt.Sprintf("netkit %s: printed %q to stdout", cmd, stdout)
	}
	return ""
}

// TestEveryFlagRefusesBadValues walks every flag of every command with
// wrong values: each must exit 2 with one line that names the flag and
// points to the command's help, before anything is dialled or bound.
func TestEveryFlagRefusesBadValues(t *testing.T) {
	walk(rootCommand(IO{}), "netkit", func(c *command, path string) {
		if c.flags == nil {
			return
		}
		args := strings.Fields(strings.TrimPrefix(path, "netkit"))
		c.flags.VisitAll(func(f *flag.Flag) {
			report := t.Errorf
			if pending(path, f.Name) {
				report = t.Logf
			}
			name := path + " " + flagRef(f.Name)
			bad, ok := badFor(f)
			if !ok {
				if !slices.Contains(freeForm, f.Name) {
					report("%s (%T): no bad value to try: add one to badValues, or the flag to freeForm", name, f.Value)
				}
				return
			}
			for _, v := range bad {
				a := append(slices.Clone(args), baseArgs[path]...)
				a = append(a, flagRef(f.Name)+"="+v)
				if slices.Contains(ownedElsewhere, name) {
					if _, _, err := runUsage(a...); ExitCode(err) != 2 {
						t.Logf("%s %s: exit %d (%v): left to the udp commands' owner", name, v, ExitCode(err), err)
					}
					continue
				}
				if msg := usageProblem(a, flagRef(f.Name)); msg != "" {
					report("%s", msg)
				}
			}
		})
	})
}

// TestBadCombinations checks flags that are each fine but do not go
// together, and arguments in the wrong place.
func TestBadCombinations(t *testing.T) {
	tests := []struct {
		args    []string
		mention string
	}{
		{[]string{"hello", "--tls"}, "--fingerprint"},
		{[]string{"hello", "--insecure"}, "--tls"},
		{[]string{"hello", "--tls", "--insecure", "--fingerprint", strings.Repeat("00", 32)}, "give one"},
		{[]string{"hello", "--tls-min", "1.2"}, "--tls-min needs --tls"},
		{[]string{"hello", "Time", "extra"}, `"Time" is a command`},
		{[]string{"hello", "127.0.0.1:1", "dance"}, `"dance"`},
		{[]string{"echo", "--timeout", "0s"}, "--timeout"},
		{[]string{"time", "--proto", "sntp", "--tls", "--insecure"}, "--tls"},
		{[]string{"time", "--proto", "line", "--udp"}, "--udp"},
		{[]string{"serve", "--tls-min", "1.2"}, "--tls-min needs --tls"},
		{[]string{"serve", "--tls", "--cert", "x.pem"}, "--key"},
		{[]string{"serve", "--key", "x.pem"}, "--tls"},
		{[]string{"serve", "--only", "echo", "--except", "web"}, "--except"},
		{[]string{"serve", "--random-ports", "--port", "udp=7840"}, "--port"},
		{[]string{"serve", "--except", strings.Join(suite.Keys(), ",")}, "no service"},
		{[]string{"serve", "extra"}, "extra"},
		{[]string{"chat", "serve", "--admin-token", "tok"}, "--admin-token"},
		{[]string{"echo", "serve", "--tls-min", "1.2"}, "--tls-min"},
		{[]string{"help", "nosuch"}, "nosuch"},
		{[]string{"nosuch"}, "nosuch"},
		{[]string{"--bogus"}, "--bogus"},
		{[]string{"echo", "-bogus"}, "--bogus"},
		{[]string{"echo", "--timeout"}, "--timeout needs a value"},
		{[]string{"echo", "--q=maybe"}, "-q"},
	}
	for _, tt := range tests {
		checkUsage(t, tt.args, tt.mention)
	}
	t.Setenv("NETKIT_ADMIN_TOKEN", "short")
	checkUsage(t, []string{"chat", "serve"}, "NETKIT_ADMIN_TOKEN")
}

// TestOneSpellingOfFlags checks that --help, and the flag package's errors,
// spell one-letter flags -q and the others --name.
func TestOneSpellingOfFlags(t *testing.T) {
	walk(rootCommand(IO{}), "netkit", func(c *command, path string) {
		if c.flags == nil {
			return
		}
		var help bytes.Buffer
		c.printHelp(&help, path)
		c.flags.VisitAll(func(f *flag.Flag) {
			want := "\n  " + flagRef(f.Name) + " "
			if !strings.Contains(help.String(), want) {
				t.Errorf("%s --help does not list %s as %q", path, f.Name, strings.TrimSpace(want))
			}
			if (len(f.Name) == 1 || nmapFlags[f.Name]) && strings.Contains(help.String(), "--"+f.Name+" ") {
				t.Errorf("%s --help spells -%s as --%s", path, f.Name, f.Name)
			}
		})
	})
	for _, tt := range []struct{ in, want string }{
		{"invalid value \"x\" for flag -timeout: parse error", "--timeout"},
		{"flag needs an argument: -timeout", "--timeout needs a value"},
		{"flag needs an argument: -v", "-v needs a value"},
		{"flag provided but not defined: -bogus", "unknown flag --bogus"},
		{"invalid boolean value \"x\" for -q: parse error", "-q \"x\""},
		{"something about -max-line and -q", "something about --max-line and -q"},
	} {
		got := cleanFlagError(flag.NewFlagSet("x", flag.ContinueOnError), errors.New(tt.in)).Error()
		if !strings.Contains(got, tt.want) || strings.Contains(got, " -timeout") {
			t.Errorf("cleanFlagError(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestVersionAndHelp checks netkit --version, netkit version, netkit help
// and netkit help CMD.
func TestVersionAndHelp(t *testing.T) {
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := Run(context.Background(), args, IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &out})
		return out.String(), err
	}
	v1, err1 := run("--version")
	v2, err2 := run("version")
	if err1 != nil || err2 != nil || v1 != v2 || !strings.HasPrefix(v1, "netkit "+suite.Version) {
		t.Errorf("--version %q, %v; version %q, %v", v1, err1, v2, err2)
	}
	for _, path := range [][]string{nil, {"serve"}, {"udp", "send"}, {"chat", "serve"}} {
		got, err := run(append([]string{"help"}, path...)...)
		want, _ := run(append(slices.Clone(path), "--help")...)
		if err != nil || got != want || !strings.HasPrefix(got, "Usage: netkit") {
			t.Errorf("help %v = %.60q, %v; want what --help prints, %.60q", path, got, err, want)
		}
	}
}

// TestPackagePrefixes checks that every package under internal/ is in
// packagePrefixes, and that Run shows errors without them.
func TestPackagePrefixes(t *testing.T) {
	filepath.WalkDir("..", func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() || p == ".." {
			return nil
		}
		if d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if !slices.Contains(packagePrefixes, d.Name()) {
			t.Errorf("package %s is not in packagePrefixes", p)
		}
		return nil
	})
	for _, tt := range []struct{ in, want string }{
		{"timeproto: short packet", "short packet"},
		{"no answer from x: rudp: secure: bad secret", "no answer from x: bad secret"},
		{"certs: read CA file: open x: no such file", "read CA file: open x: no such file"},
		{"talked to chat: fine", "talked to chat: fine"},
	} {
		if got := (&shownError{errors.New(tt.in)}).Error(); got != tt.want {
			t.Errorf("shown %q as %q, want %q", tt.in, got, tt.want)
		}
	}
}
