package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/netkit/netkit/internal/impair"
	"github.com/netkit/netkit/internal/rudp"
	"github.com/netkit/netkit/internal/suite"
)

// udpGrace is how long `netkit udp recv` lets transfers in progress finish
// after Ctrl-C.
const udpGrace = 5 * time.Second

type udpRecvFlags struct {
	trace     traceFlags
	listen    string
	dir       string
	overwrite bool
	maxSize   string
	timeout   time.Duration
	maxPeers  int
	perAddr   int
	partials  int
	partBytes string
	// partialBytes is partBytes parsed.
	partialBytes int64
	window       int
	secret       string
	json         bool
}

func udpRecvCommand(stdio IO, def string) *command {
	var f udpRecvFlags
	fs := flag.NewFlagSet("netkit udp recv", flag.ContinueOnError)
	f.trace.register(fs)
	fs.StringVar(&f.listen, "listen", def, "receive on `HOST:PORT` (0.0.0.0:7740 for every interface; port 0 picks a free one)")
	fs.StringVar(&f.dir, "dir", ".", "store files in `DIR`, created if missing")
	fs.BoolVar(&f.overwrite, "overwrite", false, "replace a file of the same name (default: store as \"name (1).ext\")")
	fs.StringVar(&f.maxSize, "max-size", impair.FormatSize(rudp.DefaultMaxSize), "refuse files larger than `SIZE` (like 100MB or 2GiB; 0: no limit)")
	fs.DurationVar(&f.timeout, "timeout", rudp.DefaultTimeout, "forget a sender silent this long, discarding its unfinished file")
	fs.IntVar(&f.maxPeers, "max-peers", rudp.DefaultMaxPeers, "most senders served at once (when full, one that has moved no data for "+rudp.DefaultIdleEvict.String()+" is evicted)")
	fs.IntVar(&f.perAddr, "max-per-addr", rudp.DefaultMaxPerAddr, "most senders served at once from one IP address")
	fs.IntVar(&f.partials, "max-partials", rudp.DefaultMaxPartials, "keep at most `N` partial files of transfers cut off, for a resume (the oldest go first; -1: no limit)")
	fs.StringVar(&f.partBytes, "max-partial-bytes", impair.FormatSize(rudp.DefaultMaxPartialBytes), "keep at most `SIZE` of partial files in all (the oldest go first; -1: no limit)")
	fs.IntVar(&f.window, "window", rudp.DefaultWindow, "most fragments one sender may have in flight (extended mode)")
	fs.StringVar(&f.secret, "secret", "", "accept only senders holding this `PASSPHRASE`, every frame encrypted (default $NETKIT_SECRET); legacy senders, which cannot encrypt, are then refused")
	fs.BoolVar(&f.json, "json", false, "print one JSON object per line for each event")
	const cmd = "netkit udp recv"
	return &command{
		name:    "recv",
		usage:   "udp recv [--listen HOST:PORT] [--dir DIR] [flags]",
		summary: "receive texts and files, printing each text and each stored file",
		help: `
Serves any number of senders at once. Each text message is printed with
its sender; each file is written to a hidden temporary file in DIR and
given its name only once complete, never replacing a file unless
--overwrite. Names that are not plain file names are refused. Ctrl-C lets
transfers in progress finish for ` + udpGrace.String() + `, then stops.

Examples:
  netkit udp recv
  netkit udp recv --listen 0.0.0.0:7740 --dir ~/inbox --max-size 1GiB
  netkit udp recv -v --json
  netkit udp recv --secret 'long passphrase' --dir inbox`,
		flags:   fs,
		maxArgs: 0,
		run: func(ctx context.Context, _ []string) error {
			if err := checkListenAddr(f.listen); err != nil {
				return &UsageError{Cmd: cmd, Err: fmt.Errorf("--listen: %w", err)}
			}
			maxSize, err := impair.ParseSize(f.maxSize)
			if err != nil {
				return &UsageError{Cmd: cmd, Err: fmt.Errorf("--max-size %q: want a size like 100MB or 2GiB, 0 for no limit", f.maxSize)}
			}
			if maxSize == 0 {
				maxSize = -1
			}
			if f.timeout <= 0 {
				return &UsageError{Cmd: cmd, Err: fmt.Errorf("--timeout %v: want a positive duration", f.timeout)}
			}
			if f.window < 1 {
				return &UsageError{Cmd: cmd, Err: fmt.Errorf("--window %d: want 1 or more", f.window)}
			}
			if f.maxPeers < 1 {
				return &UsageError{Cmd: cmd, Err: fmt.Errorf("--max-peers %d: want 1 or more", f.maxPeers)}
			}
			if f.perAddr < 1 {
				return &UsageError{Cmd: cmd, Err: fmt.Errorf("--max-per-addr %d: want 1 or more", f.perAddr)}
			}
			if f.partials == 0 || f.partials < -1 {
				return &UsageError{Cmd: cmd, Err: fmt.Errorf("--max-partials %d: want 1 or more, or -1 for no limit", f.partials)}
			}
			partBytes := int64(-1)
			if f.partBytes != "-1" {
				if partBytes, err = impair.ParseSize(f.partBytes); err != nil || partBytes == 0 {
					return &UsageError{Cmd: cmd, Err: fmt.Errorf("--max-partial-bytes %q: want a size like 500MB or 8GiB, -1 for no limit", f.partBytes)}
				}
			}
			f.partialBytes = partBytes
			return runUDPRecv(ctx, stdio, &f, maxSize)
		},
	}
}

// udpEvent is one event of udp recv, as --json prints it.
type udpEvent struct {
	Event string `json:"event"`
	Peer  string `json:"peer,omitempty"`
	Addr  string `json:"addr,omitempty"`
	Dir   string `json:"dir,omitempty"`
	Text  string `json:"text,omitempty"`
	Name  string `json:"name,omitempty"`
	Path  string `json:"path,omitempty"`
	Size  *int64 `json:"size,omitempty"`
	Error string `json:"error,omitempty"`
	// Service is set on the address table line of netkit udp serve,
	// which tests read with the same type.
	Service string `json:"service,omitempty"`
}

func runUDPRecv(ctx context.Context, stdio IO, f *udpRecvFlags, maxSize int64) error {
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		return fmt.Errorf("--dir: %w", err)
	}
	dir, err := filepath.Abs(f.dir)
	if err != nil {
		return err
	}
	pc, err := suite.ListenUDP(f.listen)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	enc := json.NewEncoder(stdio.Stdout)
	emit := func(ev udpEvent) {
		mu.Lock()
		defer mu.Unlock()
		if f.json {
			enc.Encode(ev)
			return
		}
		switch ev.Event {
		case "listening":
			fmt.Fprintf(stdio.Stdout, "listening on %s, storing files in %s\n", ev.Addr, ev.Dir)
		case "text":
			fmt.Fprintf(stdio.Stdout, "%s: %s\n", ev.Peer, terminalSafe(ev.Text))
		case "file":
			fmt.Fprintf(stdio.Stdout, "%s: file %s, %d bytes, stored as %s\n", ev.Peer, terminalSafe(ev.Name), *ev.Size, terminalSafe(ev.Path))
		case "end":
			if f.trace.verbose {
				fmt.Fprintf(stdio.Stderr, "%s: session ended\n", ev.Peer)
			}
		default:
			what := ""
			if ev.Name != "" {
				what = " " + strconv.Quote(ev.Name)
			}
			fmt.Fprintf(stdio.Stderr, "%s: %s%s: %s\n", ev.Peer, ev.Event, what, ev.Error)
		}
	}
	r := &rudp.Receiver{
		Dir: dir, Overwrite: f.overwrite, MaxSize: maxSize, Timeout: f.timeout, MaxPeers: f.maxPeers, MaxPerAddr: f.perAddr, MaxPartials: f.partials, MaxPartialBytes: f.partialBytes,
		Window: f.window, Secret: secretOr(f.secret),
		Trace: f.trace.tracer(stdio.Stderr, true),
		Warn:  func(w string) { fmt.Fprintln(stdio.Stderr, "warning:", w) },
		OnEvent: func(e rudp.Event) {
			ev := udpEvent{Event: e.Kind.String(), Peer: e.Peer.String(), Text: e.Text, Name: e.Name}
			if e.Kind == rudp.EventFile {
				ev.Path = filepath.Join(dir, e.Path)
			}
			if e.Kind == rudp.EventText || e.Kind == rudp.EventFile || e.Size > 0 {
				ev.Size = &e.Size
			}
			if e.Err != nil {
				ev.Error = e.Err.Error()
			}
			emit(ev)
		},
	}
	served := make(chan error, 1)
	go func() { served <- r.Serve(pc) }()
	emit(udpEvent{Event: "listening", Addr: pc.LocalAddr().String(), Dir: dir})
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), udpGrace)
	defer cancel()
	if err := r.Shutdown(sctx); err != nil {
		fmt.Fprintf(stdio.Stderr, "transfers still in progress after %v were stopped and their senders told; files cut off are kept for a resume (extended mode)\n", udpGrace)
	}
	if err := <-served; !errors.Is(err, rudp.ErrServerClosed) {
		return err
	}
	return nil
}
