package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/netkit/netkit/internal/rudp"
	"github.com/netkit/netkit/internal/rudp/wire"
	"github.com/netkit/netkit/internal/suite"
)

func menuCommand(stdio IO) *command {
	return &command{
		name:    "menu",
		usage:   "menu",
		summary: "the UDP communicator's interactive menu: be a server, or a client sending texts and files",
		help: `
The original communicator's menu. (1) server asks an address, a port and
a folder, then receives until you press Enter. (2) client asks the
server's address and port, then offers: (1) send a text, (2) a text with
error simulation, (3) send a file, (4) a file with error simulation, each
asking the fragment size; (0) logs out. Every answer is checked and asked
again when wrong; Enter takes the default shown in brackets.

Examples:
  netkit menu
  netkit udp          # the same, on a terminal`,
		maxArgs: 0,
		run: func(ctx context.Context, _ []string) error {
			return runMenu(ctx, stdio)
		},
	}
}

// errQuit ends the menu.
var errQuit = errors.New("quit")

// prompter asks questions on a line-oriented terminal.
type prompter struct {
	lines chan string // lines typed; closed at the end of input
	out   io.Writer
}

func newPrompter(ctx context.Context, in io.Reader, out io.Writer) *prompter {
	p := &prompter{lines: make(chan string), out: out}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 4096), 64<<10)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	return p
}

// line waits for the next line typed; io.EOF at the end of input.
func (p *prompter) line(ctx context.Context) (string, error) {
	select {
	case l, ok := <-p.lines:
		if !ok {
			return "", io.EOF
		}
		return strings.TrimSpace(l), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// ask asks q until check accepts the answer; an empty answer is def.
func (p *prompter) ask(ctx context.Context, q, def string, check func(string) error) (string, error) {
	for {
		if def != "" {
			fmt.Fprintf(p.out, "%s [%s]: ", q, def)
		} else {
			fmt.Fprintf(p.out, "%s: ", q)
		}
		a, err := p.line(ctx)
		if err != nil {
			fmt.Fprintln(p.out)
			return "", err
		}
		if a == "" {
			a = def
		}
		if err := check(a); err != nil {
			fmt.Fprintf(p.out, "  %v; try again\n", err)
			continue
		}
		return a, nil
	}
}

// askInt asks for a whole number in [lo, hi].
func (p *prompter) askInt(ctx context.Context, q string, def, lo, hi int) (int, error) {
	a, err := p.ask(ctx, q, strconv.Itoa(def), func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("%q is not a whole number from %d to %d", s, lo, hi)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n, _ := strconv.Atoi(a)
	return n, nil
}

// choose shows a numbered menu and returns the choice.
func (p *prompter) choose(ctx context.Context, title string, options []string) (int, error) {
	fmt.Fprintf(p.out, "\n%s\n", title)
	for i, o := range options {
		fmt.Fprintf(p.out, "  (%d) %s\n", i, o)
	}
	return p.askInt(ctx, "choice", 0, 0, len(options)-1)
}

func checkHost(s string) error {
	if net.ParseIP(s) != nil {
		return nil
	}
	if s == "" || strings.ContainsAny(s, " /:[]@") {
		return fmt.Errorf("%q is not an IP address or host name", s)
	}
	return nil
}

func runMenu(ctx context.Context, stdio IO) error {
	p := newPrompter(ctx, stdio.Stdin, stdio.Stdout)
	for {
		c, err := p.choose(ctx, "netkit UDP communicator", []string{"quit", "server: receive texts and files", "client: send texts and files"})
		if err != nil {
			return menuEnd(err)
		}
		switch c {
		case 0:
			return nil
		case 1:
			err = menuServer(ctx, p, stdio)
		case 2:
			err = menuClient(ctx, p, stdio)
		}
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, errQuit) || ctx.Err() != nil {
				return menuEnd(err)
			}
			fmt.Fprintf(stdio.Stdout, "error: %v\n", err)
		}
	}
}

// menuEnd turns the end of input into a quiet exit, and Ctrl-C into
// ErrInterrupted (exit status 130).
func menuEnd(err error) error {
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, errQuit):
		return nil
	case errors.Is(err, context.Canceled):
		return ErrInterrupted
	}
	return err
}

func (p *prompter) askAddr(ctx context.Context, defHost string) (string, error) {
	host, err := p.ask(ctx, "address", defHost, checkHost)
	if err != nil {
		return "", err
	}
	port, err := p.askInt(ctx, "port", suite.UDPService.Ports[0].Default, 0, 65535)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

func menuServer(ctx context.Context, p *prompter, stdio IO) error {
	addr, err := p.askAddr(ctx, "127.0.0.1")
	if err != nil {
		return err
	}
	dir, err := p.ask(ctx, "folder", ".", func(s string) error {
		if fi, err := os.Stat(s); err == nil && !fi.IsDir() {
			return fmt.Errorf("%s is a file, not a folder", s)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Bind first, to come back to the menu at once, with what to do, when
	// the port is taken (by `netkit serve`, say).
	if pc, err := suite.ListenUDP(addr); err != nil {
		var ie *suite.InUseError
		if errors.As(err, &ie) {
			return fmt.Errorf("%s is in use (is 'netkit serve' running? answer another port, such as %d, or stop it)", portWords(ie), suite.UDPService.Ports[0].Default+100)
		}
		return err
	} else {
		pc.Close()
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fmt.Fprintln(stdio.Stdout, "receiving; press Enter to stop and return to the menu")
	served := make(chan error, 1)
	f := &udpRecvFlags{listen: addr, dir: dir, timeout: rudp.DefaultTimeout, maxPeers: rudp.DefaultMaxPeers}
	go func() { served <- runUDPRecv(sctx, stdio, f, rudp.DefaultMaxSize) }()
	// The wait for Enter ends with the server, so that it takes no line
	// meant for the menu.
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
		<-served
		return ctx.Err()
	case <-awaitLine(sctx, p):
		cancel()
		if err := <-served; err != nil {
			return err
		}
		fmt.Fprintln(stdio.Stdout, "server stopped")
		return nil
	}
}

// awaitLine is closed when a line is typed or the input ends.
func awaitLine(ctx context.Context, p *prompter) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		p.line(ctx)
		close(done)
	}()
	return done
}

func menuClient(ctx context.Context, p *prompter, stdio IO) error {
	addr, err := p.askAddr(ctx, "127.0.0.1")
	if err != nil {
		return err
	}
	conn, err := net.Dial("udp", addr)
	if err != nil {
		return fmt.Errorf("%s: %w", addr, err)
	}
	defer conn.Close()
	delivered := make(chan rudp.Event, 1)
	// The menu is the original program's: it speaks the original
	// stop-and-wait protocol, whose NACKs the error simulation shows.
	s, err := rudp.NewSession(conn, rudp.SendOptions{Legacy: true, OnEvent: func(e rudp.Event) {
		select {
		case delivered <- e:
		default:
		}
	}})
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ended := make(chan error, 1)
	go func() {
		_, err := s.Run(sctx)
		ended <- err
	}()
	fmt.Fprintf(stdio.Stdout, "client of %s\n", addr)
	for {
		c, err := p.choose(ctx, "client of "+addr, []string{
			"log out", "send a text", "send a text with error simulation",
			"send a file", "send a file with error simulation",
		})
		if err != nil {
			return err
		}
		if c == 0 {
			s.CloseSend()
			err := <-ended
			st := s.Stats()
			fmt.Fprintf(stdio.Stdout, "logged out: %s, %d frames, %d retransmissions, %d NACKs\n",
				humanBytes(st.Bytes), st.Frames, st.Retransmissions, st.NACKs)
			return err
		}
		item, file, err := menuItem(ctx, p, c)
		if err != nil {
			return err
		}
		if file != nil {
			// The session reads the file until it is delivered.
			defer file.Close()
		}
		before := s.Stats()
		start := time.Now()
		if err := s.Enqueue(item); err != nil {
			fmt.Fprintf(stdio.Stdout, "error: %v\n", err)
			continue
		}
		select {
		case e := <-delivered:
			st := s.Stats()
			fmt.Fprintf(stdio.Stdout, "delivered %s (%s) in %.2f s: %d frames, %d retransmissions, %d NACKs\n",
				e.Kind, humanBytes(e.Size), time.Since(start).Seconds(),
				st.Frames-before.Frames, st.Retransmissions-before.Retransmissions, st.NACKs-before.NACKs)
		case err := <-ended:
			if err == nil {
				err = errors.New("the session ended")
			}
			return fmt.Errorf("%s: %w", addr, err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// menuItem asks what a send choice (1-4) needs and builds the item, with
// the file it reads, if any, to close after the session.
func menuItem(ctx context.Context, p *prompter, choice int) (rudp.Item, *os.File, error) {
	frag, err := p.askInt(ctx, "fragment size (bytes of data per frame)", wire.MaxData, 1, wire.MaxData)
	if err != nil {
		return rudp.Item{}, nil, err
	}
	corrupt := 0
	if choice == 2 || choice == 4 {
		if corrupt, err = p.askInt(ctx, "error simulation: damage every N-th data frame, N", 3, 1, 1<<20); err != nil {
			return rudp.Item{}, nil, err
		}
	}
	var item rudp.Item
	if choice <= 2 {
		text, err := p.ask(ctx, "text", "", func(s string) error {
			if s == "" {
				return errors.New("type some text")
			}
			return nil
		})
		if err != nil {
			return rudp.Item{}, nil, err
		}
		item = rudp.Text(text)
	} else {
		path, err := p.ask(ctx, "file path", "", func(s string) error {
			fi, err := os.Stat(s)
			switch {
			case err != nil:
				return fmt.Errorf("cannot read %q: %v", s, errors.Unwrap(err))
			case !fi.Mode().IsRegular():
				return fmt.Errorf("%s is not a regular file", s)
			}
			return nil
		})
		if err != nil {
			return rudp.Item{}, nil, err
		}
		item, f, err := rudp.OpenFile(path)
		if err != nil {
			return rudp.Item{}, nil, err
		}
		return item.WithFragmentSize(frag).WithCorruptEvery(corrupt), f, nil
	}
	return item.WithFragmentSize(frag).WithCorruptEvery(corrupt), nil, nil
}
