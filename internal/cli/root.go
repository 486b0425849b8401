package cli

import (
	"context"
	"fmt"
)

func rootCommand(stdio IO) *command {
	root := &command{
		name:    "netkit",
		usage:   "COMMAND [flags] [args]",
		summary: "netkit: the clients and servers of a client-server networking suite, in one binary.",
		help: `
Examples: start everything on 127.0.0.1, then talk to it:

  netkit serve
  echo hi | netkit echo
  netkit hello localhost Time
  netkit time --proto sntp`,
		maxArgs: 0,
		children: []*command{
			serveCommand(stdio),
			echoCommand(stdio),
			helloCommand(stdio),
			timeCommand(stdio),
			webCommand(stdio),
			impairCommand(stdio),
			chatCommand(stdio),
			menuCommand(stdio),
			udpCommand(stdio),
			msgCommand(stdio),
			keygenCommand(stdio),
			discoverCommand(stdio),
			scanCommand(stdio),
			rpsCommand(stdio),
			versionCommand(stdio),
		},
	}
	root.children = append(root.children, helpCommand(stdio, root))
	for _, c := range root.children {
		fixStaleHelp(c)
	}
	addVersionFlag(root, stdio)
	return root
}

func versionCommand(stdio IO) *command {
	return &command{
		name:    "version",
		usage:   "version",
		summary: "print netkit's version",
		help:    "Example:\n  netkit version",
		maxArgs: 0,
		run: func(context.Context, []string) error {
			fmt.Fprintf(stdio.Stdout, "netkit %s\n", version())
			return nil
		},
	}
}
