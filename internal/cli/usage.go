package cli

// How every netkit command reports mistakes and failures (issue 13). New
// commands follow these rules; the tests in usage_test.go hold every
// command in the tree to them.
//
//   - A mistake on the command line -- a flag value of the wrong form, a
//     combination that does not go together, a missing or extra argument --
//     is found before anything is dialled, bound or read, and returned as
//     usagef("--flag %q: want ...", v). exec adds the command's path and
//     "(see 'netkit CMD --help')"; the process prints that one line and exits
//     2. Prefer flag.Value types (choiceValue, fingerprintValue...) or the
//     command's check func, which runs before run, so that the mistake is
//     caught while parsing. Flags are spelled --long and -x (one letter),
//     in messages as in --help; flagRef spells a name.
//   - Every flag of every command gets a bad value in TestEveryFlagRefusesBadValues
//     (usage_test.go): typed flags automatically, string flags through the
//     badValues table there (or freeForm, for text any value of which is good).
//   - Ctrl-C (or SIGTERM) cancels the context. A server, for which that is
//     the normal way to stop, returns nil: exit 0. A client returns an error
//     (ErrInterrupted, or whatever the cancelled context gave it); exec
//     turns any error returned with the context done into ErrInterrupted:
//     exit status 130, nothing printed.
//   - Errors of internal packages keep their "pkg: " prefix (STYLE.md); Run
//     strips those prefixes from what it shows (packagePrefixes), and the
//     command words the error as a sentence: what was wrong, what to do.
//   - A listen that finds its port taken (suite.InUseError) is reworded by
//     inUseError to name the flag that moves it (exec does this for any
//     command with a --listen flag; serve names --port and --except).
//   - A client that finds the wrong protocol on the other end says so at once
//     with wrongServer (plain client on a TLS port and the reverse, in the
//     same words from every client).

import (
	"errors"
	"flag"
	"fmt"
	"regexp"
	"strings"

	"github.com/netkit/netkit/internal/suite"
)

// ErrInterrupted is what a client command returns when Ctrl-C stopped it:
// exit status 130, and nothing printed.
var ErrInterrupted = errors.New("interrupted")

// usagef returns a UsageError for the command that is running (exec fills
// in its path).
func usagef(format string, a ...any) error {
	return &UsageError{Err: fmt.Errorf(format, a...)}
}

// flagRef spells a flag as --help does: -q for one letter, --name
// otherwise, but for the scanner's flags that nmap spells with one dash
// (-Pn, -sn, -T4, -oG, -oX, -iL, -p-), as its users type them.
func flagRef(name string) string {
	if len(name) == 1 || nmapFlags[name] {
		return "-" + name
	}
	return "--" + name
}

// nmapFlags are the flags of netkit scan spelt as nmap spells them.
var nmapFlags = map[string]bool{
	"Pn": true, "sn": true, "oG": true, "oX": true, "iL": true, "p-": true,
	"T0": true, "T1": true, "T2": true, "T3": true, "T4": true, "T5": true,
}

// goFlagName finds the flag package's spelling of a flag (-timeout) in its
// messages.
var goFlagName = regexp.MustCompile(`(^|[ :])-([a-zA-Z0-9][a-zA-Z0-9-]*)`)

// cleanFlagError rewords the flag package's errors for a person, with the
// flag spelled as --help spells it.
func cleanFlagError(fs *flag.FlagSet, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return fmt.Errorf("unknown flag %s", flagRef(strings.TrimLeft(name, "-")))
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return fmt.Errorf("%s needs a value", flagRef(strings.TrimLeft(name, "-")))
	}
	// invalid value "x" for flag -timeout: parse error
	if rest, ok := strings.CutPrefix(msg, "invalid value "); ok {
		if val, after, ok := strings.Cut(rest, " for flag -"); ok {
			name, why, _ := strings.Cut(after, ": ")
			if why == "parse error" || why == "value out of range" {
				why = wantOfType(fs.Lookup(name))
			}
			return fmt.Errorf("%s %s: %s", flagRef(name), val, why)
		}
	}
	if rest, ok := strings.CutPrefix(msg, "invalid boolean value "); ok {
		if val, after, ok := strings.Cut(rest, " for -"); ok {
			name, _, _ := strings.Cut(after, ":")
			return fmt.Errorf("%s %s: want true or false", flagRef(name), val)
		}
	}
	if rest, ok := strings.CutPrefix(msg, "invalid boolean flag "); ok {
		name, _, _ := strings.Cut(rest, ":")
		return fmt.Errorf("%s takes no value (or =true, =false)", flagRef(name))
	}
	return errors.New(goFlagName.ReplaceAllStringFunc(msg, func(m string) string {
		i := strings.Index(m, "-")
		return m[:i] + flagRef(m[i+1:])
	}))
}

// wantOfType says what a flag of one of the flag package's own types takes.
func wantOfType(f *flag.Flag) string {
	if f == nil {
		return "not a valid value"
	}
	switch fmt.Sprintf("%T", f.Value) {
	case "*flag.durationValue":
		return "want a duration like 10s, 500ms or 1m30s"
	case "*flag.intValue", "*flag.int64Value":
		return "want a whole number"
	case "*flag.uintValue", "*flag.uint64Value":
		return "want a whole number, 0 or more"
	case "*flag.float64Value":
		return "want a number"
	}
	return "not a valid value"
}

// packagePrefixes are netkit's package names, which library errors start
// with ("rudp: peer closed") and users are not shown. TestPackagePrefixes
// checks that every package under internal/ is listed.
var packagePrefixes = []string{
	"certs", "chat", "cli", "clock", "echo", "hello", "impair", "rudp", "wire", "secure",
	"service", "suite", "timeproto", "udpio", "web", "tui", "envelope", "testwait",
	// Named in the plan for packages to come.
	"scan", "target", "netns", "data", "rps", "game", "rating", "msg", "keygen", "discovery", "discover", "fernet",
}

var prefixRE = regexp.MustCompile(`(^|: )(?:(?:` + strings.Join(packagePrefixes, "|") + `): )+`)

// stripPrefixes removes package-name prefixes from an error message.
func stripPrefixes(msg string) string {
	return prefixRE.ReplaceAllString(msg, "$1")
}

// shownError is an error as the user is shown it: package prefixes gone.
type shownError struct{ err error }

func (e *shownError) Error() string { return stripPrefixes(e.err.Error()) }
func (e *shownError) Unwrap() error { return e.err }

// inUseError rewords a listen that found its port taken, naming the flag
// that moves it (move: "use --listen 127.0.0.1:0").
func inUseError(ie *suite.InUseError, move string) error {
	hint := "is 'netkit serve' running? " + move
	if svc := defaultOwner(ie.Port()); svc != "" {
		hint += fmt.Sprintf(", or 'netkit serve --except %s'", svc)
	}
	return fmt.Errorf("%s is in use (%s)", portWords(ie), hint)
}

// serveInUseError is inUseError for `netkit serve` itself.
func serveInUseError(ie *suite.InUseError, key string) error {
	return fmt.Errorf("%s (%s) is in use (is another 'netkit serve' running? move %s with --port %s=PORT, or leave it out with --except %s)",
		portWords(ie), key, key, key, key)
}

func portWords(ie *suite.InUseError) string {
	if ie.Proto == "udp" {
		return "UDP port " + ie.Port()
	}
	return "port " + ie.Port()
}

// defaultOwner is the key of the suite's port whose default is port.
func defaultOwner(port string) string {
	for _, s := range suite.Services {
		for _, p := range s.Ports {
			if fmt.Sprint(p.Default) == port {
				return s.Key(p)
			}
		}
	}
	return ""
}

// listenInUse rewords err for a command with a --listen flag (or another
// flag that takes the address: flagName) when it is a port in use.
func listenInUse(err error, fs *flag.FlagSet) error {
	var ie *suite.InUseError
	if !errors.As(err, &ie) || fs == nil {
		return err
	}
	var uses []string
	fs.VisitAll(func(f *flag.Flag) {
		if f.Value.String() == ie.Addr {
			uses = append(uses, f.Name)
		}
	})
	if len(uses) != 1 {
		return err
	}
	host := strings.TrimSuffix(ie.Addr, ":"+ie.Port())
	return inUseError(ie, fmt.Sprintf("use %s %s:0", flagRef(uses[0]), host))
}
