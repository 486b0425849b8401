package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/netkit/netkit/internal/rudp"
	"github.com/netkit/netkit/internal/rudp/wire"
	"github.com/netkit/netkit/internal/suite"
)

func udpCommand(stdio IO) *command {
	def := suite.UDPService.DefaultAddr("127.0.0.1", "listen")
	var udp *command
	udp = &command{
		name:    "udp",
		usage:   "udp COMMAND [flags] [args]",
		summary: "send and receive texts and files over UDP, reliably (legacy stop-and-wait protocol)",
		help: `
The reliable UDP communicator: each frame is acknowledged, a damaged one
(bad CRC) is answered NACK and sent again, a lost one is sent again after
a timeout. The legacy protocol (docs/protocol.md) keeps one frame in
flight; the windowed, encrypted extended mode is not built yet.
The receiver listens on ` + def + ` unless told otherwise.

Examples:
  netkit udp recv --dir inbox
  netkit udp send --text "Toto je textova sprava."
  netkit udp send 192.168.1.20:7740 report.pdf photo.jpg
  netkit udp send --fragment-size 4 --corrupt-every 3 -v smallFile.bin
  netkit menu         # the interactive menu (also: netkit udp on a terminal)`,
		maxArgs: -1,
		run: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return &UsageError{Cmd: "netkit udp", Err: fmt.Errorf("unknown command %q", args[0])}
			}
			// With no command on a terminal: the interactive menu;
			// otherwise the help.
			if isTerminal(stdio.Stdin) && isTerminal(stdio.Stdout) {
				return runMenu(ctx, stdio)
			}
			udp.printHelp(stdio.Stdout, "netkit udp")
			return nil
		},
		children: []*command{
			udpSendCommand(stdio, def),
			udpRecvCommand(stdio, def),
			serviceServeCommand(stdio, "udp", udpServeExtras("secret")),
		},
	}
	return udp
}

// traceFlags are the frame trace switches both ends share.
type traceFlags struct {
	verbose, keepalive, hex bool
}

func (f *traceFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.verbose, "v", false, "trace every frame on standard error: direction, type, seq/count, size, crc, data (extended frames: type, session, packet number and fields, opened when sealed)")
	fs.BoolVar(&f.keepalive, "trace-keepalive", false, "with -v: show keep-alives (KPA and their ACKs) too")
	fs.BoolVar(&f.hex, "trace-hex", false, "with -v: show each frame's bytes in hex")
}

// tracer returns the Trace hook the flags ask for, or nil. peer adds the
// peer's address to each line (a receiver has many).
func (f *traceFlags) tracer(w io.Writer, peer bool) func(rudp.FrameTrace) {
	if !f.verbose && !f.keepalive && !f.hex {
		return nil
	}
	var mu sync.Mutex
	return func(tr rudp.FrameTrace) {
		fr := tr.Frame
		if !f.keepalive && (tr.Ext && (tr.XHeader.Type == wire.PING || tr.XHeader.Type == wire.PONG) ||
			!tr.Ext && tr.Err == nil && (fr.Type == wire.KPA || fr.Type == wire.ACK && fr.Header == (wire.Header{Type: wire.ACK}))) {
			return
		}
		line := tr.Format(f.hex)
		if peer {
			line = tr.Peer.String() + " " + line
		}
		mu.Lock()
		fmt.Fprintf(w, "%s %s\n", time.Now().Format("15:04:05.000000"), line)
		mu.Unlock()
	}
}

// secretOr returns the --secret given, or $NETKIT_SECRET. The variable is
// read here rather than made the flag's default, which --help would
// print.
func secretOr(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	return os.Getenv("NETKIT_SECRET")
}
