// Package cli is netkit's command line: one file per subcommand, each with
// its flags and its run function, and the root command that lists them.
//
// Every service follows one grammar:
//
//	netkit serve                      every service on its default port
//	netkit SERVICE serve [--listen]   one service
//	netkit SERVICE [HOST:PORT] ...    that service's client
//
// Flags may stand before or after positional arguments. How commands
// report mistakes and failures, and with which exit status, is set out at
// the top of usage.go: new commands follow it.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// UsageError is a mistake in the command line: the process exits with
// status 2 after printing it.
type UsageError struct {
	Cmd string
	Err error
}

func (e *UsageError) Error() string {
	return fmt.Sprintf("%s: %v (see '%s --help')", e.Cmd, e.Err, e.Cmd)
}

func (e *UsageError) Unwrap() error { return e.Err }

// ExitCode maps the error Run returned to a process exit status.
func ExitCode(err error) int {
	var ue *UsageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return 2
	case errors.Is(err, ErrInterrupted):
		return 130
	}
	return 1
}

// IO is where a command reads and writes.
type IO struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// command is one node of the command tree.
type command struct {
	name     string
	usage    string // after "netkit "
	summary  string
	help     string // longer text, with examples
	flags    *flag.FlagSet
	maxArgs  int // positional arguments allowed; -1 for any
	run      func(ctx context.Context, args []string) error
	children []*command
	hidden   bool
	// check, when set, validates flags and arguments before run: every
	// mistake it finds is a usagef error (see usage.go).
	check func(args []string) error
}

// commandLineKey holds, in the context of a command, the whole command
// line, for outputs that record it (scan's -oG and -oX).
type commandLineKey struct{}

// commandLine returns the command line netkit was run with.
func commandLine(ctx context.Context) string {
	args, _ := ctx.Value(commandLineKey{}).([]string)
	return strings.Join(args, " ")
}

// Run runs netkit with args (without the program name).
func Run(ctx context.Context, args []string, stdio IO) error {
	ctx = context.WithValue(ctx, commandLineKey{}, append([]string{"netkit"}, args...))
	root := rootCommand(stdio)
	err := root.exec(ctx, "netkit", args, stdio)
	var ue *UsageError
	if err == nil || errors.Is(err, ErrInterrupted) || errors.As(err, &ue) {
		return err
	}
	return &shownError{err}
}

func (c *command) exec(ctx context.Context, path string, args []string, stdio IO) error {
	if len(args) > 0 {
		for _, child := range c.children {
			if args[0] == child.name {
				return child.exec(ctx, path+" "+child.name, args[1:], stdio)
			}
		}
	}
	if c.flags == nil {
		c.flags = flag.NewFlagSet(path, flag.ContinueOnError)
	}
	c.flags.SetOutput(io.Discard)
	c.flags.Usage = func() {}
	pos, err := parseInterleaved(c.flags, args)
	if errors.Is(err, flag.ErrHelp) {
		c.printHelp(stdio.Stdout, path)
		return nil
	}
	if err != nil {
		return &UsageError{Cmd: path, Err: cleanFlagError(c.flags, err)}
	}
	if c.run == nil {
		if len(pos) > 0 {
			return &UsageError{Cmd: path, Err: fmt.Errorf("unknown command %q", pos[0])}
		}
		c.printHelp(stdio.Stdout, path)
		return nil
	}
	if c.maxArgs >= 0 && len(pos) > c.maxArgs {
		return &UsageError{Cmd: path, Err: fmt.Errorf("unexpected argument %q", pos[c.maxArgs])}
	}
	if c.check != nil {
		if err := c.check(pos); err != nil {
			return usageFor(path, err)
		}
	}
	err = c.run(ctx, pos)
	if err != nil && ctx.Err() != nil && !errors.As(err, new(*UsageError)) {
		return ErrInterrupted
	}
	return listenInUse(usageFor(path, err), c.flags)
}

// usageFor fills in the command path of a UsageError that has none.
func usageFor(path string, err error) error {
	var ue *UsageError
	if errors.As(err, &ue) && ue.Cmd == "" {
		ue.Cmd = path
	}
	return err
}

// parseInterleaved parses flags wherever they stand among the positional
// arguments, which it returns in order. "--" ends the flags.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func (c *command) printHelp(w io.Writer, path string) {
	fmt.Fprintf(w, "Usage: netkit %s\n", c.usage)
	if c.summary != "" {
		fmt.Fprintf(w, "\n%s\n", c.summary)
	}
	if c.help != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.help))
	}
	if len(c.children) > 0 {
		fmt.Fprintf(w, "\nCommands:\n")
		for _, child := range c.children {
			if !child.hidden {
				fmt.Fprintf(w, "  %-10s %s\n", child.name, child.summary)
			}
		}
	}
	var names []string
	if c.flags != nil {
		c.flags.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	}
	if len(names) > 0 {
		sort.Strings(names)
		fmt.Fprintf(w, "\nFlags:\n")
		for _, n := range names {
			f := c.flags.Lookup(n)
			kind, usage := flag.UnquoteUsage(f)
			left := flagRef(n)
			if kind != "" {
				left += " " + kind
			}
			def := ""
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
				def = fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(w, "  %-26s %s%s\n", left, usage, def)
		}
	}
	if len(c.children) > 0 {
		fmt.Fprintf(w, "\nRun '%s COMMAND --help' for more.\n", path)
	}
}
