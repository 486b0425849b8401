package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/netkit/netkit/internal/discovery"
	"github.com/netkit/netkit/internal/fernet"
	"github.com/netkit/netkit/internal/msg"
)

type discoverFlags struct {
	timeout    time.Duration
	timeoutSet bool
	json       bool
	first      bool
	keyFile    string
	serverKey  string
	sweep      string
	port       string
	maxHosts   int
}

func discoverCommand(stdio IO) *command {
	var f discoverFlags
	fs := flag.NewFlagSet("netkit discover", flag.ContinueOnError)
	fs.DurationVar(&f.timeout, "timeout", 2*time.Second, "listen for answers this long (with --sweep: the whole sweep, default 5s)")
	fs.BoolVar(&f.json, "json", false, "print each server as a JSON line")
	fs.BoolVar(&f.first, "first", false, "stop at the first server (the first verified one when a key is set)")
	fs.StringVar(&f.keyFile, "key-file", "", "message keys from `FILE`, to verify the servers' records (default $NETKIT_KEY)")
	fs.StringVar(&f.serverKey, "server-key", "", "with --sweep: confirm each hit with a handshake sealed to this X25519 public key (`FILE`.pub from 'netkit keygen --pair', or the key itself) instead of the shared message key")
	fs.StringVar(&f.sweep, "sweep", "", "where multicast is blocked: TCP-sweep the web port across `CIDR` (10.0.0.0/24, ranges as netkit scan takes them; comma-separated) and confirm each hit with a msg handshake (needs the key)")
	fs.StringVar(&f.port, "port", strconv.Itoa(webPort()), "with --sweep: the web `PORTS` to sweep (as netkit scan -p)")
	fs.IntVar(&f.maxHosts, "max-hosts", defaultSweepMaxHosts, "with --sweep: refuse blocks of more than `N` addresses")
	return &command{
		name:    "discover",
		usage:   "discover [--timeout 2s] [--first] [--json] [--sweep CIDR] [flags]",
		summary: "find netkit servers on the local network (DNS-SD over multicast DNS, _netkit._tcp)",
		help: `
Each server is printed as soon as it answers. With a message key (--key-file
or $NETKIT_KEY) each record's HMAC is checked: "verified" servers hold the
same key; "unverified" ones only claim to be netkit and are never chosen by
--discover; "unsigned" ones advertise no key.

Where multicast does not pass (another subnet, a switch or a firewall that
drops it), --sweep CIDR connects to the web port (--port, default 7700) of
every address of the block, and sends a msg handshake to each port that
accepts: a server that answers under your key is "verified", one that
refuses the key as netkit does is "unverified", anything else is not
listed. It needs the message key, or with --server-key only the server's
public key (the handshake is sealed to it, and only the holder of the
private key can answer), and lasts at most --timeout (5s unless given).

Examples:
  netkit discover
  netkit discover --first --json
  netkit discover --sweep 192.168.1.0/24 --key-file msg.key
  netkit discover --sweep 192.168.1.0/24 --server-key server.pub
  netkit msg --discover ping`,
		flags:   fs,
		maxArgs: 0,
		check: func([]string) error {
			if f.timeout <= 0 {
				return usagef("--timeout %v: want a positive duration", f.timeout)
			}
			f.timeoutSet = isSet(fs, "timeout")
			if f.sweep == "" && (isSet(fs, "port") || isSet(fs, "max-hosts") || f.serverKey != "") {
				return usagef("--port, --max-hosts and --server-key go with --sweep")
			}
			if f.serverKey != "" {
				if _, err := msg.LoadPublicKey(f.serverKey); err != nil {
					return usagef("--server-key: %v", err)
				}
			}
			if f.maxHosts <= 0 {
				return usagef("--max-hosts %d: want a positive number", f.maxHosts)
			}
			if f.keyFile != "" {
				return checkReadable("key-file", f.keyFile)
			}
			return nil
		},
		run: func(ctx context.Context, _ []string) error {
			if f.sweep != "" {
				return runSweep(ctx, stdio, &f)
			}
			keys, err := optionalKeys(f.keyFile)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(ctx, f.timeout)
			defer cancel()
			n := 0
			b := &discovery.Browser{Keys: keys}
			start := time.Now()
			err = b.Browse(ctx, func(s discovery.Service) bool {
				n++
				printService(stdio, s, f.json, time.Since(start))
				return !(f.first && (keys == nil || s.Verification == discovery.Verified))
			})
			if err != nil {
				return fmt.Errorf("discovery: %w", err)
			}
			if n == 0 {
				return fmt.Errorf("no netkit server answered within %v (is one running with --host 0.0.0.0 on this network? where multicast is blocked, sweep for it: netkit discover --sweep %s --key-file FILE)", f.timeout, sweepHint())
			}
			return nil
		},
	}
}

// optionalKeys loads the message keys if some are set.
func optionalKeys(file string) ([]*fernet.Key, error) {
	f, err := msg.LoadKeys(file, os.Getenv(msg.KeyEnv))
	if errors.Is(err, msg.ErrNoKey) && file == "" {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return f.Keys(), nil
}

// serviceJSON is a discovered server as `discover --json` prints it.
type serviceJSON struct {
	Name         string            `json:"name"`
	Addr         string            `json:"addr"`
	MsgAddr      string            `json:"msg_addr,omitempty"`
	Host         string            `json:"host"`
	Addrs        []string          `json:"addrs"`
	Version      string            `json:"version,omitempty"`
	Services     []string          `json:"services,omitempty"`
	TLS          string            `json:"tls_fingerprint,omitempty"`
	PublicKey    string            `json:"public_key,omitempty"`
	Verification string            `json:"verification"`
	ElapsedMS    float64           `json:"elapsed_ms"`
	TXT          map[string]string `json:"txt,omitempty"`
	// From a sweep: the transports the handshake named, and "sweep".
	Transports []string `json:"transports,omitempty"`
	FoundBy    string   `json:"found_by,omitempty"`
}

func msgAddr(s discovery.Service) string {
	if p := s.MsgPort(); p != 0 {
		return net.JoinHostPort(s.Addr().Addr().String(), strconv.Itoa(p))
	}
	return ""
}

func printService(stdio IO, s discovery.Service, asJSON bool, elapsed time.Duration) {
	if asJSON {
		j := serviceJSON{Name: s.Name, Addr: s.Addr().String(), MsgAddr: msgAddr(s), Host: s.Host, Version: s.TXT["version"],
			TLS: s.TXT["tls"], PublicKey: s.TXT["pub"], Verification: s.Verification.String(), TXT: s.TXT,
			ElapsedMS: float64(elapsed.Microseconds()) / 1000}
		for _, a := range s.Addrs {
			j.Addrs = append(j.Addrs, a.String())
		}
		if sv := s.TXT["services"]; sv != "" {
			j.Services = strings.Split(sv, ",")
		}
		b, _ := json.Marshal(j)
		fmt.Fprintln(stdio.Stdout, string(b))
		return
	}
	fmt.Fprintf(stdio.Stdout, "%s\t%s\tversion %s\tservices %s\t%s\n", s.Name, s.Addr(), s.TXT["version"], s.TXT["services"], s.Verification)
}

// discoverServer finds the server a client with --discover talks to: the
// one verified (or, sealing to a public key, advertising it; with no key
// at all, unsigned) server running service ("" for any), or the one the
// user picks when there are several. It listens until timeout, or 300 ms
// after the first candidate.
func discoverServer(ctx context.Context, stdio IO, keys []*fernet.Key, serverKey string, timeout time.Duration, service string) (discovery.Service, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var (
		mu            sync.Mutex
		cands, others []discovery.Service
		first         = make(chan struct{})
		once          sync.Once
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		(&discovery.Browser{Keys: keys}).Browse(ctx, func(s discovery.Service) bool {
			ok := s.Verification == discovery.Verified
			switch {
			case serverKey != "":
				ok = s.TXT["pub"] == serverKey
			case keys == nil:
				ok = s.Verification == discovery.Unsigned
			}
			if service != "" && s.TXT[service] == "" {
				return true // not running it: neither chosen nor listed
			}
			mu.Lock()
			defer mu.Unlock()
			if ok {
				cands = append(cands, s)
				once.Do(func() { close(first) })
			} else {
				others = append(others, s)
			}
			return true
		})
	}()
	select {
	case <-done:
	case <-first:
		select {
		case <-done:
		case <-time.After(300 * time.Millisecond):
		}
	}
	cancel()
	<-done
	switch len(cands) {
	case 0:
		var b strings.Builder
		for _, s := range others {
			fmt.Fprintf(&b, "\n  %s %s (%s)", s.Name, s.Addr(), s.Verification)
		}
		if len(others) > 0 && keys == nil && serverKey == "" {
			return discovery.Service{}, fmt.Errorf("no server found advertising itself without a message key within %v; heard, but not chosen (set $NETKIT_KEY to the servers' key to check them):%s", timeout, b.String())
		}
		if len(others) > 0 {
			return discovery.Service{}, fmt.Errorf("no server found holding this key within %v; heard, but not chosen:%s", timeout, b.String())
		}
		return discovery.Service{}, fmt.Errorf("no netkit server answered within %v: give --to HOST:PORT", timeout)
	case 1:
		return cands[0], nil
	}
	var list strings.Builder
	for i, s := range cands {
		fmt.Fprintf(&list, "  %d) %s %s version %s\n", i+1, s.Name, s.Addr(), s.TXT["version"])
	}
	if !isTerminal(stdio.Stdin) {
		return discovery.Service{}, fmt.Errorf("%d servers answered; pick one with --to HOST:PORT:\n%s", len(cands), strings.TrimRight(list.String(), "\n"))
	}
	fmt.Fprintf(stdio.Stderr, "%d servers answered:\n%swhich one? ", len(cands), list.String())
	line, _ := bufio.NewReader(stdio.Stdin).ReadString('\n')
	i, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || i < 1 || i > len(cands) {
		return discovery.Service{}, fmt.Errorf("no server picked")
	}
	return cands[i-1], nil
}

// findFlag is --discover on a client other than msg: the server of its
// service found on the LAN instead of an address.
type findFlag struct {
	on      bool
	service string
}

func (d *findFlag) register(fs *flag.FlagSet, service string) {
	d.service = service
	fs.BoolVar(&d.on, "discover", false, "find the "+service+" server on the local network (mDNS, _netkit._tcp) instead of giving its address: with $NETKIT_KEY set, one holding that key; else one advertising no key. Asks which when several answer")
}

// target returns the address to dial: def (the address given, or the
// default), or with --discover the server found, at its port for the
// service. given says whether an address was given on the command line.
func (d *findFlag) target(ctx context.Context, stdio IO, given bool, def string, timeout time.Duration) (string, error) {
	if !d.on {
		return def, nil
	}
	if given {
		return "", usagef("give the server's address or --discover, not both")
	}
	keys, err := optionalKeys("")
	if err != nil {
		return "", err
	}
	s, err := discoverServer(ctx, stdio, keys, "", min(timeout, 2*time.Second), d.service)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(s.Addr().Addr().String(), s.TXT[d.service]), nil
}
