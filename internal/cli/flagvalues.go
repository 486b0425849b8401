package cli

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/netkit/netkit/internal/certs"
)

// choiceValue is a string flag that takes one of a few words: a bad one is
// refused while parsing, naming the good ones.
type choiceValue struct {
	p       *string
	choices []string
}

// choiceVar defines a flag taking one of choices, def being the default.
func choiceVar(fs *flag.FlagSet, p *string, name, def, usage string, choices ...string) {
	*p = def
	fs.Var(&choiceValue{p: p, choices: choices}, name, usage)
}

func (c *choiceValue) String() string {
	if c == nil || c.p == nil {
		return ""
	}
	return *c.p
}

func (c *choiceValue) Set(s string) error {
	for _, ch := range c.choices {
		if s == ch {
			*c.p = s
			return nil
		}
	}
	return fmt.Errorf("want %s", orList(c.choices))
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// fingerprintValue is a SHA-256 fingerprint, checked while parsing.
type fingerprintValue struct{ p *string }

func (v fingerprintValue) String() string {
	if v.p == nil {
		return ""
	}
	return *v.p
}

func (v fingerprintValue) Set(s string) error {
	if _, err := certs.ParseFingerprint(s); err != nil {
		return fmt.Errorf("want the 64 hex digits (32 bytes, colons allowed) 'netkit serve --tls' prints")
	}
	*v.p = s
	return nil
}

// isSet reports whether the flag name was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// checkReadable refuses a file flag whose file cannot be read.
func checkReadable(flagName, path string) error {
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return usagef("%s %s: no such file", flagRef(flagName), path)
		}
		return usagef("%s %s: cannot read it", flagRef(flagName), path)
	}
	f.Close()
	return nil
}
