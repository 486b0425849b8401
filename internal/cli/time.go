package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"time"

	"github.com/netkit/netkit/internal/suite"
	"github.com/netkit/netkit/internal/timeproto"
)

type timeFlags struct {
	clientFlags
	proto string
	udp   bool
	json  bool
}

func timeCommand(stdio IO) *command {
	var f timeFlags
	fs := flag.NewFlagSet("netkit time", flag.ContinueOnError)
	f.register(fs)
	choiceVar(fs, &f.proto, "proto", "line", "`PROTOCOL`: line (netkit's TIME), daytime (RFC 867), rfc868 or sntp", timeProtos...)
	fs.BoolVar(&f.udp, "udp", false, "with --proto rfc868: ask over UDP instead of TCP")
	fs.BoolVar(&f.json, "json", false, "print the result as JSON")
	f.find.register(fs, "time")
	return &command{
		name:    "time",
		usage:   "time [HOST:PORT] [flags]",
		summary: "ask a time server for the time and estimate the local clock's offset",
		help: `
The default address depends on the protocol: line 127.0.0.1:7702,
daytime 127.0.0.1:7713, rfc868 127.0.0.1:7737, sntp 127.0.0.1:7723. The
offset is how far the server's clock is ahead of this one, estimated from
the round trip. RFC 867 and RFC 868 carry whole seconds only, so their
offset is shown in seconds, within ±1 s; SNTP gives milliseconds.

Examples:
  netkit time
  netkit time --proto sntp
  netkit time --proto daytime
  netkit time 192.168.1.20 --proto rfc868 --udp --json
  netkit time --discover --proto sntp     # the suite's SNTP port on the LAN`,
		flags:    fs,
		maxArgs:  1,
		children: []*command{serviceServeCommand(stdio, "time", serveExtras{})},
		check: func(args []string) error {
			if f.udp && f.proto != "rfc868" {
				return usagef("--udp goes with --proto rfc868")
			}
			if f.tls && f.proto != "line" {
				return usagef("--tls goes with --proto line only (%s is plain text)", f.proto)
			}
			if _, err := resolveAddr(firstArg(args), timeDefault(f.proto)); err != nil {
				return usagef("%v", err)
			}
			return f.check(fs)
		},
		run: func(ctx context.Context, args []string) error {
			addr, _ := resolveAddr(firstArg(args), timeDefault(f.proto))
			// The suite advertises each protocol's port under its own
			// name: time (the line protocol), daytime, rfc868, sntp.
			f.find.service = timeServiceName(f.proto)
			addr, err := f.find.target(ctx, stdio, firstArg(args) != "", addr, f.timeout)
			if err != nil {
				return err
			}
			return runTime(ctx, stdio, &f, addr)
		},
	}
}

var timeProtos = []string{"line", "daytime", "rfc868", "sntp"}

// timeServiceName is the name the suite gives the port of a time
// protocol, in its address table and its discovery records.
func timeServiceName(proto string) string {
	if proto == "line" {
		return "time"
	}
	return proto
}

// timeDefault is the suite's address for a time protocol.
func timeDefault(proto string) string {
	port := proto
	if proto == "line" {
		port = "listen"
	}
	return suite.TimeService.DefaultAddr("127.0.0.1", port)
}

// timeResult is one measurement, as --json prints it.
type timeResult struct {
	Proto    string    `json:"proto"`
	Server   string    `json:"server"`
	Time     time.Time `json:"time"`
	OffsetMS float64   `json:"offset_ms"`
	DelayMS  float64   `json:"delay_ms"`
	// ResolutionMS is the protocol's resolution: 1000 for RFC 867 and
	// RFC 868, whose offsets are within a second.
	ResolutionMS float64 `json:"resolution_ms"`
	Stratum      *uint8  `json:"stratum,omitempty"`
}

func runTime(ctx context.Context, stdio IO, f *timeFlags, addr string) error {
	var (
		res timeResult
		err error
	)
	switch f.proto {
	case "line":
		res, err = timeLine(ctx, f, addr)
	case "daytime":
		res, err = timeDaytime(ctx, f, addr)
	case "rfc868":
		res, err = timeRFC868(ctx, f, addr)
	case "sntp":
		res, err = timeSNTP(ctx, f, addr)
	}
	if err != nil {
		return err
	}
	res.Proto, res.Server = f.proto, addr
	if f.json {
		return json.NewEncoder(stdio.Stdout).Encode(res)
	}
	if res.ResolutionMS >= 1000 {
		// Whole seconds: an offset in milliseconds would claim a precision
		// the protocol does not have.
		fmt.Fprintf(stdio.Stdout, "%s  offset %+.0f s (within ±1 s: %s has whole seconds; use --proto sntp for milliseconds)  round trip %.3f ms\n",
			res.Time.UTC().Format("2006-01-02T15:04:05Z07:00"), math.Round(res.OffsetMS/1000), protoName(f.proto), res.DelayMS)
		return nil
	}
	fmt.Fprintf(stdio.Stdout, "%s  offset %+.3f ms  round trip %.3f ms\n",
		res.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00"), res.OffsetMS, res.DelayMS)
	return nil
}

func protoName(p string) string {
	return map[string]string{"daytime": "RFC 867", "rfc868": "RFC 868"}[p]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// measure turns a server time read between t1 and t4 into a result: the
// server's reading is taken to be at the midpoint of the round trip.
func measure(server, t1, t4 time.Time) timeResult {
	rtt := t4.Sub(t1)
	mid := t1.Add(rtt / 2)
	return timeResult{Time: server, OffsetMS: ms(server.Sub(mid)), DelayMS: ms(rtt)}
}

func timeLine(ctx context.Context, f *timeFlags, addr string) (timeResult, error) {
	conn, err := f.dial(ctx, addr)
	if err != nil {
		return timeResult{}, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(f.timeout))
	r := bufio.NewReader(conn)
	t1 := time.Now()
	if _, err := io.WriteString(conn, "TIME\n"); err != nil {
		return timeResult{}, fmt.Errorf("sending to %s: %w", addr, err)
	}
	line, err := r.ReadSlice('\n')
	t4 := time.Now()
	if err != nil {
		return timeResult{}, fmt.Errorf("no answer from %s: %w", addr, err)
	}
	server, err := timeproto.ParseReply(line)
	if err != nil && isTLSNotice(line) {
		return timeResult{}, errPlainOnTLS(addr)
	}
	if err != nil {
		return timeResult{}, errNotServer(addr, "a netkit time server", line)
	}
	io.WriteString(conn, "QUIT\n")
	// The reply is truncated to milliseconds: on average the server's
	// clock read half a millisecond more than it says.
	res := measure(server.Add(500*time.Microsecond), t1, t4)
	res.Time, res.ResolutionMS = server, 1
	return res, nil
}

func timeRFC868(ctx context.Context, f *timeFlags, addr string) (timeResult, error) {
	network := "tcp"
	if f.udp {
		network = "udp"
	}
	d := net.Dialer{Timeout: f.timeout}
	t1 := time.Now()
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return timeResult{}, dialError(addr, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(f.timeout))
	if f.udp {
		t1 = time.Now()
		// RFC 868: an empty datagram asks for the time.
		if _, err := conn.Write(nil); err != nil {
			return timeResult{}, fmt.Errorf("sending to %s: %w", addr, err)
		}
	}
	var buf [8]byte
	n, err := io.ReadAtLeast(conn, buf[:], timeproto.RFC868Len)
	t4 := time.Now()
	if err != nil && n != timeproto.RFC868Len {
		return timeResult{}, fmt.Errorf("no answer from %s: %w", addr, err)
	}
	server, err := timeproto.ParseRFC868(buf[:n])
	if err != nil {
		return timeResult{}, fmt.Errorf("%s did not answer in RFC 868 format: %w", addr, err)
	}
	// The server truncates to whole seconds: its true time is on average
	// half a second later than it says.
	res := measure(server.Add(500*time.Millisecond), t1, t4)
	res.Time, res.ResolutionMS = server, 1000
	return res, nil
}

// timeDaytime asks an RFC 867 daytime server: it sends one line on
// connecting.
func timeDaytime(ctx context.Context, f *timeFlags, addr string) (timeResult, error) {
	d := net.Dialer{Timeout: f.timeout}
	t1 := time.Now()
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return timeResult{}, dialError(addr, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(f.timeout))
	line, err := bufio.NewReaderSize(io.LimitReader(conn, timeproto.MaxDaytimeLen), timeproto.MaxDaytimeLen).ReadSlice('\n')
	t4 := time.Now()
	if len(line) == 0 {
		return timeResult{}, fmt.Errorf("no answer from %s: %w", addr, err)
	}
	server, err := timeproto.ParseDaytime(line)
	if err != nil {
		return timeResult{}, fmt.Errorf("%s answered %q, not an RFC 867 daytime line", addr, printable(line))
	}
	res := measure(server.Add(500*time.Millisecond), t1, t4)
	res.Time, res.ResolutionMS = server, 1000
	return res, nil
}

func timeSNTP(ctx context.Context, f *timeFlags, addr string) (timeResult, error) {
	d := net.Dialer{Timeout: f.timeout}
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return timeResult{}, dialError(addr, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(f.timeout))
	t1 := time.Now()
	req := timeproto.NewRequest(t1)
	if _, err := conn.Write(req.Append(nil)); err != nil {
		return timeResult{}, fmt.Errorf("sending to %s: %w", addr, err)
	}
	buf := make([]byte, 512)
	for {
		n, err := conn.Read(buf)
		t4 := time.Now()
		if err != nil {
			return timeResult{}, fmt.Errorf("no SNTP answer from %s: %w", addr, err)
		}
		resp, err := timeproto.ParsePacket(buf[:n])
		if err != nil {
			continue // not for us; keep waiting until the deadline
		}
		if err := timeproto.CheckReply(req, resp); err != nil {
			return timeResult{}, fmt.Errorf("%s: %w", addr, err)
		}
		offset, delay := timeproto.Offset(t1, resp.RecvTime.Time(), resp.XmitTime.Time(), t4)
		stratum := resp.Stratum
		return timeResult{Time: t4.Add(offset), OffsetMS: ms(offset), DelayMS: ms(delay), ResolutionMS: 0.001, Stratum: &stratum}, nil
	}
}
