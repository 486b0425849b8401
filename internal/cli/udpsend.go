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
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/netkit/netkit/internal/rudp"
	"github.com/netkit/netkit/internal/rudp/wire"
)

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
	addrGiven    bool // the first argument was the address
	find         findFlag
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
	f.find.register(fs, "udp")
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
			if addr, err = f.find.target(ctx, stdio, f.addrGiven, addr, f.timeout); err != nil {
				return err
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
	f.addrGiven = target != ""
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
