package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"
)

// helpCommand is `netkit help [COMMAND...]`: the same as
// `netkit COMMAND... --help`.
func helpCommand(stdio IO, root *command) *command {
	return &command{
		name:    "help",
		usage:   "help [COMMAND [SUBCOMMAND]]",
		summary: "show the help of a command (the same as COMMAND --help)",
		help:    "Examples:\n  netkit help\n  netkit help serve\n  netkit help udp send",
		maxArgs: -1,
		run: func(_ context.Context, args []string) error {
			c, path := root, "netkit"
			for _, a := range args {
				next := c.child(a)
				if next == nil {
					return usagef("%s has no command %q", path, a)
				}
				c, path = next, path+" "+a
			}
			c.printHelp(stdio.Stdout, path)
			return nil
		},
	}
}

func (c *command) child(name string) *command {
	for _, ch := range c.children {
		if ch.name == name {
			return ch
		}
	}
	return nil
}

// addVersionFlag gives the root command --version, and makes it refuse
// an unknown command by that name.
func addVersionFlag(root *command, stdio IO) {
	fs := flag.NewFlagSet("netkit", flag.ContinueOnError)
	show := fs.Bool("version", false, "print netkit's version and exit")
	root.flags = fs
	root.maxArgs = -1
	root.run = func(_ context.Context, args []string) error {
		switch {
		case len(args) > 0:
			return usagef("unknown command %q (commands: %s)", args[0], strings.Join(root.visibleChildren(), ", "))
		case *show:
			fmt.Fprintf(stdio.Stdout, "netkit %s\n", version())
		default:
			root.printHelp(stdio.Stdout, "netkit")
		}
		return nil
	}
}

func (c *command) visibleChildren() []string {
	var names []string
	for _, ch := range c.children {
		if !ch.hidden {
			names = append(names, ch.name)
		}
	}
	return names
}

// staleUDPText is what the udp command's help said before the extended
// protocol was built (issue 13, item 9); fixStaleHelp rewrites it where it
// is still found, and TestNoStaleHelp keeps it from coming back.
var staleUDPText = []struct{ old, new string }{
	{"(legacy stop-and-wait protocol)", "(windowed extended protocol, sealed with --secret; and the legacy stop-and-wait one)"},
	{"The legacy protocol (docs/protocol.md) keeps one frame in\nflight; the windowed, encrypted extended mode is not built yet.",
		"The extended protocol (docs/protocol.md) keeps a window of frames in\nflight, sealed with --secret; --legacy speaks the original stop-and-wait\nframes, one in flight."},
}

// fixStaleHelp rewrites stale sentences in c's summary and help.
func fixStaleHelp(c *command) {
	for _, st := range staleUDPText {
		c.summary = strings.ReplaceAll(c.summary, st.old, st.new)
		c.help = strings.ReplaceAll(c.help, st.old, st.new)
	}
}
