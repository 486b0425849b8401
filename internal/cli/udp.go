package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/netkit/netkit/internal/impair"
	"github.com/netkit/netkit/internal/rudp"
	"github.com/netkit/netkit/internal/rudp/wire"
	"github.com/netkit/netkit/internal/suite"
)

// udpGrace is how long `netkit udp recv` lets transfers in progress finish
// after Ctrl-C.
const udpGrace = 5 * time.Second

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

type udpSendFlags struct {
	trace        traceFlags
	fragSize     int
	window       int
	legacy       bool
	corruptEvery int
	timeout      time.Duration
	keepalive    time.Duration
	secret       string
	text         string
	textSet      bool
	json         bool
	fragSet      bool // --fragment-size was given
}

func udpSendCommand(stdio IO, def string) *command {
	var f udpSendFlags
	fs := flag.NewFlagSet("netkit udp send", flag.ContinueOnError)
	f.trace.register(fs)
	fs.IntVar(&f.fragSize, "fragment-size", 0, "data bytes per frame, `N` from 1 to 1445 (default: the largest that avoids IP fragmentation, 1445, or 1435 with --secret)")
	fs.IntVar(&f.window, "window", rudp.DefaultWindow, "most fragments in flight (extended mode); 1 is the original stop-and-wait, as --legacy")
	fs.BoolVar(&f.legacy, "legacy", false, "speak only the legacy stop-and-wait frames of the original design, without offering the extended mode")
	fs.IntVar(&f.corruptEvery, "corrupt-every", 0, "send every `N`th data frame damaged the first time, to watch the NACK and the resend (0: never)")
	fs.DurationVar(&f.timeout, "timeout", rudp.DefaultTimeout, "give up when the receiver has not answered for this long")
	fs.DurationVar(&f.keepalive, "keepalive", rudp.DefaultKeepAlive, "while idle after the first item (reading -), send a keep-alive this often")
	fs.StringVar(&f.secret, "secret", "", "encrypt and authenticate with this shared `PASSPHRASE` (default $NETKIT_SECRET; the receiver needs the same)")
	fs.Func("text", "send `TEXT` as a text message", func(s string) error {
		f.text, f.textSet = s, true
		return nil
	})
	fs.BoolVar(&f.json, "json", false, "print the summary as JSON")
	const cmd = "netkit udp send"
	return &command{
		name:    "send",
		usage:   "udp send [HOST:PORT] (FILE... | --text TEXT | -) [flags]",
		summary: "send files, a text, or standard input's lines to a udp receiver",
		help: `
The address defaults to ` + def + `; it is the first argument when it has a
port, or when more arguments follow and no file has its name. Files are
sent one after the other under their base names; --text sends one text
message; - sends each line of standard input as a text message as it is
read, with keep-alives while waiting, until end of input.

The sender first offers the extended protocol (a sliding window with
selective acknowledgements, congestion control, SHA-256 of every item,
resume of a file cut off); a receiver that does not answer the offer
within a second is taken for a legacy one, and the session goes on in
the original stop-and-wait protocol. --legacy (or --window 1) skips the
offer. --secret encrypts every frame (Noise handshake, AES-256-GCM where
both ends have AES instructions, else ChaCha20-Poly1305, key stretched
with Argon2id); it needs a netkit receiver with the same secret. Sending a file again after an interruption resumes it where it
stopped.

At the end one summary line: bytes, time, rate, frames, retransmissions,
NACKs, the smoothed round-trip time and the protocol spoken. On a
terminal a progress line shows how a file is doing.

Examples:
  netkit udp send report.pdf
  netkit udp send 192.168.1.20:7740 a.bin b.bin --fragment-size 1000
  netkit udp send --text "Toto je textova sprava." --fragment-size 4 -v
  netkit udp send --corrupt-every 5 -v --trace-hex smallFile.bin
  netkit udp send --legacy --fragment-size 4 smallFile.bin
  NETKIT_SECRET='long passphrase' netkit udp send 10.0.0.2 big.iso
  tail -f chat.log | netkit udp send 10.0.0.2 -`,
		flags:   fs,
		maxArgs: -1,
		run: func(ctx context.Context, args []string) error {
			fs.Visit(func(fl *flag.Flag) { f.fragSet = f.fragSet || fl.Name == "fragment-size" })
			addr, files, stdin, err := f.parse(args, def)
			if err != nil {
				return &UsageError{Cmd: cmd, Err: err}
			}
			return runUDPSend(ctx, stdio, &f, addr, files, stdin)
		},
	}
}

// parse checks the flags and splits the arguments into the address, the
// files, and whether to read standard input.
func (f *udpSendFlags) parse(args []string, def string) (addr string, files []string, stdin bool, err error) {
	f.secret = secretOr(f.secret)
	switch {
	case f.secret != "" && (f.legacy || f.window == 1):
		return "", nil, false, errors.New("--secret (or $NETKIT_SECRET): the legacy protocol (--legacy, --window 1) cannot encrypt; drop one of them")
	case f.window < 1:
		return "", nil, false, fmt.Errorf("--window %d: want 1 (stop-and-wait) or more", f.window)
	case (f.fragSet || f.fragSize != 0) && (f.fragSize < 1 || f.fragSize > wire.MaxData):
		return "", nil, false, fmt.Errorf("--fragment-size %d: want 1 to %d data bytes per frame (leave it out for the largest that avoids IP fragmentation)", f.fragSize, wire.MaxData)
	case f.corruptEvery < 0:
		return "", nil, false, fmt.Errorf("--corrupt-every %d: want 0 (never) or more", f.corruptEvery)
	case f.timeout <= 0:
		return "", nil, false, fmt.Errorf("--timeout %v: want a positive duration", f.timeout)
	case f.keepalive <= 0:
		return "", nil, false, fmt.Errorf("--keepalive %v: want a positive duration", f.keepalive)
	}
	target := ""
	if len(args) > 0 && looksLikeAddr(args[0], len(args) > 1 || f.textSet) {
		target, args = args[0], args[1:]
	}
	if addr, err = resolveAddr(target, def); err != nil {
		return "", nil, false, err
	}
	stdin = len(args) == 1 && args[0] == "-"
	switch {
	case f.textSet && len(args) > 0:
		return "", nil, false, fmt.Errorf("--text goes without files or -; unexpected %q", args[0])
	case !stdin && slices.Contains(args, "-"):
		return "", nil, false, errors.New("- (standard input) goes alone, without files")
	case !f.textSet && len(args) == 0:
		return "", nil, false, errors.New("nothing to send: give FILE..., --text TEXT or - for standard input")
	}
	if !stdin {
		files = args
	}
	return addr, files, stdin, nil
}

// looksLikeAddr reports whether the first argument of udp send is the
// receiver's address: HOST:PORT with a numeric port, or a bare IP
// address, unless a file has that name; or any name that is not a file
// when more arguments follow it.
func looksLikeAddr(arg string, more bool) bool {
	if arg == "-" {
		return false
	}
	if _, err := os.Lstat(arg); err == nil {
		return false
	}
	if _, port, err := net.SplitHostPort(arg); err == nil {
		_, perr := strconv.Atoi(port)
		return perr == nil
	}
	if net.ParseIP(arg) != nil {
		return true
	}
	return more
}

// udpSummary is the result of udp send, as --json prints it.
type udpSummary struct {
	To              string  `json:"to"`
	Items           int     `json:"items"`
	Bytes           int64   `json:"bytes"`
	Seconds         float64 `json:"seconds"`
	MBPerSecond     float64 `json:"mb_per_s"`
	Frames          uint64  `json:"frames"`
	Retransmissions uint64  `json:"retransmissions"`
	NACKs           uint64  `json:"nacks"`
	Timeouts        uint64  `json:"timeouts"`
	Corrupted       uint64  `json:"corrupted,omitempty"`
	KeepAlives      uint64  `json:"keepalives,omitempty"`
	SRTTms          float64 `json:"srtt_ms"`
	Mode            string  `json:"mode"`
	Cipher          string  `json:"cipher,omitempty"`
	Lost            uint64  `json:"lost,omitempty"`
	LossEvents      uint64  `json:"loss_events,omitempty"`
	Resumed         int64   `json:"resumed_bytes,omitempty"`
	Error           string  `json:"error,omitempty"`
}

func runUDPSend(ctx context.Context, stdio IO, f *udpSendFlags, addr string, files []string, stdin bool) error {
	var items []rudp.Item
	if f.textSet {
		if f.text == "" {
			return &UsageError{Cmd: "netkit udp send", Err: errors.New("--text is empty")}
		}
		items = append(items, rudp.Text(f.text))
	}
	anyFile := false
	for _, path := range files {
		it, file, err := rudp.OpenFile(path)
		if errors.Is(err, os.ErrNotExist) && looksLikeAddr(path, false) {
			return &UsageError{Cmd: "netkit udp send", Err: fmt.Errorf("%q is not a file; the address goes first: netkit udp send %s FILE", path, path)}
		}
		if err != nil {
			return fmt.Errorf("cannot send %s: %w", path, err)
		}
		defer file.Close()
		if _, err := wire.SanitizeName(it.Name()); err != nil {
			return fmt.Errorf("cannot send %s: its name: %w", path, err)
		}
		items = append(items, it)
		anyFile = true
	}

	d := net.Dialer{Timeout: f.timeout}
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return fmt.Errorf("udp %s: %w", addr, err)
	}
	defer conn.Close()

	room := make(chan struct{}, 1) // an item was delivered: the queue has room
	opt := rudp.SendOptions{
		FragmentSize: f.fragSize,
		Legacy:       f.legacy,
		Window:       f.window,
		Secret:       f.secret,
		Timeout:      f.timeout,
		KeepAlive:    f.keepalive,
		CorruptEvery: f.corruptEvery,
		Trace:        f.trace.tracer(stdio.Stderr, false),
		OnEvent: func(rudp.Event) {
			select {
			case room <- struct{}{}:
			default:
			}
		},
	}
	s, err := rudp.NewSession(conn, opt)
	if err != nil {
		return err
	}
	for _, w := range s.Warnings() {
		fmt.Fprintln(stdio.Stderr, "warning:", w)
	}
	for _, it := range items {
		if err := s.Enqueue(it); err != nil {
			return err
		}
	}
	readErr := make(chan error, 1)
	if stdin {
		go func() { readErr <- feedLines(ctx, stdio.Stdin, s, room) }()
	} else {
		s.CloseSend()
		readErr <- nil
	}

	start := time.Now()
	stopProgress := func() {}
	if anyFile && opt.Trace == nil && isTerminal(stdio.Stderr) {
		stop, done := make(chan struct{}), make(chan struct{})
		go showProgress(stdio.Stderr, s, start, stop, done)
		stopProgress = func() {
			close(stop)
			<-done
			fmt.Fprint(stdio.Stderr, "\r\033[K")
		}
	}
	st, err := s.Run(ctx)
	elapsed := time.Since(start)
	stopProgress()
	if errors.Is(err, rudp.ErrRefused) && st.Legacy && st.Items == 0 && ctx.Err() == nil {
		// A legacy FIN says nothing of why: ask, in the extended
		// protocol, whether the receiver wants a secret.
		if why := rudp.WhyRefused(conn, time.Second); why != nil {
			err = why
		}
	}
	if err == nil {
		// The session ended normally, so the reader of standard input
		// (if any) has ended it; after a failure it may still be blocked
		// reading, and is left to the process's exit.
		err = <-readErr
	}
	sum := summarize(addr, st, elapsed)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("interrupted after %d items", st.Items)
		} else {
			err = sendError(addr, err, st)
		}
		sum.Error = err.Error()
	}
	if f.json {
		json.NewEncoder(stdio.Stdout).Encode(sum)
	} else if err == nil {
		fmt.Fprintln(stdio.Stdout, sum.line())
	}
	return err
}

// feedLines sends each line of r as a text message, waiting for room in
// the queue when the network is slower than the input, and ends the
// session at the end of input.
func feedLines(ctx context.Context, r io.Reader, s *rudp.Session, room <-chan struct{}) error {
	defer s.CloseSend()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), rudp.DefaultMaxText)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" {
			continue // an empty text cannot be told from a repeat of the last
		}
		for {
			err := s.Enqueue(rudp.Text(line))
			if !errors.Is(err, rudp.ErrQueueFull) {
				if err != nil && !errors.Is(err, rudp.ErrClosed) {
					return err
				}
				break
			}
			select {
			case <-room:
			case <-ctx.Done():
				return nil
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading standard input: %w", err)
	}
	return nil
}

// sendError words a failed send for a person.
func sendError(addr string, err error, st rudp.Stats) error {
	done := ""
	if st.Items > 0 {
		done = fmt.Sprintf(" (%d items delivered before)", st.Items)
	}
	switch {
	case errors.Is(err, rudp.ErrBadSecret):
		return fmt.Errorf("%s: wrong secret: the handshake failed; both sides must use the same --secret (or $NETKIT_SECRET)", addr)
	case errors.Is(err, rudp.ErrNeedSecret):
		return fmt.Errorf("%s requires a secret, and the legacy protocol (--legacy, --window 1) cannot carry one: send with --secret and without --legacy", addr)
	case errors.Is(err, rudp.ErrEcho):
		return fmt.Errorf("%s echoes what it is sent: it is not a netkit udp receiver", addr)
	case errors.Is(err, rudp.ErrShuttingDown):
		return fmt.Errorf("%s is shutting down%s: send again once it is back (a file cut off resumes where it stopped)", addr, done)
	case errors.Is(err, rudp.ErrPeerGone):
		return fmt.Errorf("%s stopped answering%s; is 'netkit udp recv' running there? (%w)", addr, done, err)
	case errors.Is(err, rudp.ErrRefused):
		return fmt.Errorf("%s refused%s; its log says why (name, size or disk; or it is shutting down): %w", addr, done, err)
	case errors.Is(err, rudp.ErrPeerClosed):
		return fmt.Errorf("%s ended the session%s (is it shutting down?): %w", addr, done, err)
	}
	return fmt.Errorf("sending to %s%s: %w", addr, done, err)
}

func summarize(addr string, st rudp.Stats, elapsed time.Duration) udpSummary {
	sec := elapsed.Seconds()
	sum := udpSummary{
		To: addr, Items: st.Items, Bytes: st.Bytes, Seconds: sec,
		Frames: st.Frames, Retransmissions: st.Retransmissions, NACKs: st.NACKs, Timeouts: st.Timeouts,
		Corrupted: st.Corrupted, KeepAlives: st.KeepAlives,
		SRTTms: float64(st.SRTT) / float64(time.Millisecond),
		Mode:   "extended", Cipher: st.Cipher, Lost: st.Lost, LossEvents: st.LossEvents, Resumed: st.Resumed,
	}
	switch {
	case st.Legacy:
		sum.Mode = "legacy"
	case st.Sealed:
		sum.Mode = "extended, sealed"
	}
	if sec > 0 {
		sum.MBPerSecond = float64(st.Bytes) / 1e6 / sec
	}
	return sum
}

func (s udpSummary) line() string {
	l := fmt.Sprintf("sent %d %s, %d bytes, to %s in %.2f s: %.2f MB/s, %d frames, %d retransmissions, %d NACKs, srtt %.3f ms (%s",
		s.Items, plural(s.Items, "item"), s.Bytes, s.To, s.Seconds, s.MBPerSecond, s.Frames, s.Retransmissions, s.NACKs, s.SRTTms, s.Mode)
	if s.Resumed > 0 {
		l += fmt.Sprintf(", resumed: %d bytes were there already", s.Resumed)
	}
	return l + ")"
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// showProgress redraws one line on w (a terminal) until stop: the file in
// flight, bytes, rate, time left and retransmissions.
func showProgress(w io.Writer, s *rudp.Session, start time.Time, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		p, st := s.Progress(), s.Stats()
		if !p.Active || !p.File {
			continue
		}
		rate := float64(st.Bytes) / time.Since(start).Seconds()
		eta := "?"
		if rate > 0 {
			eta = (time.Duration(float64(p.Size-p.Done)/rate) * time.Second).Round(time.Second).String()
		}
		fmt.Fprintf(w, "\r\033[K%s  %s / %s  %.2f MB/s  ETA %s  %d retransmissions",
			terminalSafe(p.Name), humanBytes(p.Done), humanBytes(p.Size), rate/1e6, eta, st.Retransmissions)
	}
}

// humanBytes writes n bytes for a person: 512 B, 1.5 KiB, 30.0 MiB.
func humanBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, unit := float64(n)/1024, "KiB"
	for _, u := range []string{"MiB", "GiB", "TiB"} {
		if v < 1024 {
			break
		}
		v, unit = v/1024, u
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

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

// terminalSafe shows s with its control characters (but newlines and
// tabs) and invalid UTF-8 escaped, so a text from the network cannot
// drive the terminal it is printed on.
func terminalSafe(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// udpServeExtras adds the udp service's secret to a serve command, under
// the flag name (secret for netkit udp serve, udp-secret for netkit
// serve).
func udpServeExtras(name string) serveExtras {
	var secret string
	return serveExtras{
		register: func(fs *flag.FlagSet) {
			fs.StringVar(&secret, name, "", "udp service: accept only senders holding this `PASSPHRASE`, every frame encrypted (default $NETKIT_SECRET)")
		},
		setup: func(env *suite.Env) error {
			env.UDPSecret = secretOr(secret)
			return nil
		},
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
