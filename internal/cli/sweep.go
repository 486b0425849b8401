package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/netkit/netkit/internal/certs"
	"github.com/netkit/netkit/internal/fernet"
	"github.com/netkit/netkit/internal/msg"
	"github.com/netkit/netkit/internal/msg/envelope"
	"github.com/netkit/netkit/internal/scan"
	"github.com/netkit/netkit/internal/suite"
)

// The bounds of a sweep: how many handshakes run at once, and how long
// each may take (a port that accepts and then says nothing must not hold
// the sweep up).
const (
	sweepHandshakes       = 32
	sweepHandshakeTimeout = time.Second
	defaultSweepMaxHosts  = 1024
	defaultSweepTimeout   = 5 * time.Second
)

// sweepHit is a port that answered a handshake as a netkit server does.
type sweepHit struct {
	addr     netip.AddrPort
	info     msg.Info
	verified bool   // the answer opened under our key
	tls      string // the certificate's fingerprint, over HTTPS
}

// runSweep is `discover --sweep`: a TCP connect sweep of the web port
// over the blocks given, each open port confirmed with a msg handshake
// over HTTP (HTTPS when the port speaks TLS). Only ports that answer as
// netkit are printed: verified when the answer opens under our key,
// unverified when the port answers with netkit's refusal (a server
// holding another key).
func runSweep(ctx context.Context, stdio IO, f *discoverFlags) error {
	var specs []string
	for s := range strings.FieldsFuncSeq(f.sweep, func(r rune) bool { return r == ',' || r == ' ' }) {
		specs = append(specs, s)
	}
	if len(specs) == 0 {
		return usagef("--sweep: give a block to sweep, e.g. 192.168.1.0/24")
	}
	targets, err := scan.ParseTargets(ctx, specs, scan.TargetOptions{MaxHosts: f.maxHosts})
	if err != nil {
		var te *scan.TargetError
		if errors.As(err, &te) {
			return usagef("--sweep: %s", strings.ReplaceAll(err.Error(), "scan: ", ""))
		}
		return err
	}
	ports, err := scan.ParsePorts(f.port, false)
	if err != nil {
		return usagef("--port: %s", strings.ReplaceAll(err.Error(), "scan: ", ""))
	}
	var keys *fernet.Fernet
	var serverKey *[32]byte
	if f.serverKey != "" {
		k, err := msg.LoadPublicKey(f.serverKey)
		if err != nil {
			return usagef("--server-key: %v", err)
		}
		serverKey = &k
	} else if keys, err = msg.LoadKeys(f.keyFile, os.Getenv(msg.KeyEnv)); err != nil {
		return fmt.Errorf("--sweep confirms each server with a handshake sealed under the message key (or give --server-key): %w", err)
	}
	timing, _ := scan.Preset(4) // a LAN: short timeouts
	timing.Retries = 1
	sc := &scan.Scanner{Timing: timing, NoPing: true}

	timeout := f.timeout
	if !f.timeoutSet {
		timeout = defaultSweepTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	var (
		mu    sync.Mutex
		found int
		wg    sync.WaitGroup
		sem   = make(chan struct{}, sweepHandshakes)
	)
	_, err = sc.Run(ctx, targets, ports, func(r scan.Result) bool {
		if r.State != scan.Open {
			return ctx.Err() == nil
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return false
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			h, ok := sweepHandshake(ctx, netip.AddrPortFrom(r.Addr, r.Port), keys, serverKey)
			if !ok {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if ctx.Err() != nil {
				return // --first was satisfied by another
			}
			found++
			printSweepHit(stdio, h, f.json, time.Since(start))
			if f.first && h.verified {
				cancel()
			}
		}()
		return true
	})
	wg.Wait()
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("sweep: %w", err)
	}
	if found == 0 {
		return fmt.Errorf("no netkit server answered a handshake on port %s across %s (%d addresses) within %v (a server started with --random-ports needs --port)",
			f.port, f.sweep, len(targets), timeout)
	}
	return nil
}

// sweepHandshake sends a handshake to the web service that may be at
// addr, over HTTP and then, if the port speaks TLS, over HTTPS, and says
// whether the answer is a netkit server's. It is sealed under keys, or
// to serverKey when that is set: then only the holder of its private key
// can answer it.
func sweepHandshake(ctx context.Context, addr netip.AddrPort, keys *fernet.Fernet, serverKey *[32]byte) (sweepHit, bool) {
	ctx, cancel := context.WithTimeout(ctx, sweepHandshakeTimeout)
	defer cancel()
	c := &msg.Client{Keys: keys, ServerKey: serverKey}
	env, err := envelope.New(envelope.Handshake, senderName(""), nil)
	if err != nil {
		return sweepHit{}, false
	}
	plain, err := envelope.Append(nil, env)
	if err != nil {
		return sweepHit{}, false
	}
	tok, err := c.Seal(plain)
	if err != nil {
		return sweepHit{}, false
	}
	hit := sweepHit{addr: addr}
	resp, body, err := sweepPost(ctx, "http", addr, tok)
	if err == nil && resp.StatusCode == http.StatusBadRequest && bytes.Contains(body, []byte("HTTPS")) {
		// Go's answer to plain HTTP on a TLS port: ask again over TLS.
		// The certificate is not checked here, the key does that: only
		// a holder of it can seal the answer.
		resp, body, err = sweepPost(ctx, "https", addr, tok)
		if err == nil && resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
			hit.tls = certs.Fingerprint(resp.TLS.PeerCertificates[0].Raw)
		}
	}
	if err != nil {
		return sweepHit{}, false
	}
	if resp.StatusCode == http.StatusOK {
		ans, err := c.Open(body)
		if err != nil || ans.Type != envelope.Reply || ans.ReplyTo != env.ID || json.Unmarshal(ans.Body, &hit.info) != nil || hit.info.Name == "" {
			return sweepHit{}, false
		}
		hit.verified = true
		return hit, true
	}
	// A netkit server under another key refuses the token as netkit
	// does; anything else at this port is not netkit.
	if resp.StatusCode == http.StatusUnauthorized && resp.Header.Get("X-Netkit-Error") != "" {
		return hit, true
	}
	return sweepHit{}, false
}

// sweepPost posts tok to the messages route at addr and returns the
// answer with its body (at most one token long).
func sweepPost(ctx context.Context, scheme string, addr netip.AddrPort, tok []byte) (*http.Response, []byte, error) {
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, scheme+"://"+addr.String()+msg.PathMessages, bytes.NewReader(tok))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("User-Agent", "netkit-discover")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, msg.MaxToken))
	if err != nil {
		return nil, nil, err
	}
	return resp, bytes.TrimSpace(body), nil
}

func printSweepHit(stdio IO, h sweepHit, asJSON bool, elapsed time.Duration) {
	verif := "unverified"
	if h.verified {
		verif = "verified"
	}
	services := slices.Sorted(maps.Keys(h.info.Ports))
	name := h.info.Name
	if name == "" {
		name = h.addr.Addr().String()
	}
	if asJSON {
		j := serviceJSON{Name: name, Addr: h.addr.String(), Host: h.addr.Addr().String(), Addrs: []string{h.addr.Addr().String()},
			Version: h.info.Version, Services: services, Transports: h.info.Transports, TLS: h.tls, PublicKey: h.info.PublicKey,
			Verification: verif, ElapsedMS: float64(elapsed.Microseconds()) / 1000, FoundBy: "sweep"}
		if p := h.info.Ports["msg"]; p != 0 {
			j.MsgAddr = net.JoinHostPort(h.addr.Addr().String(), strconv.Itoa(p))
		}
		b, _ := json.Marshal(j)
		fmt.Fprintln(stdio.Stdout, string(b))
		return
	}
	fmt.Fprintf(stdio.Stdout, "%s\t%s\tversion %s\tservices %s\t%s\n", name, h.addr, h.info.Version, strings.Join(services, ","), verif)
}

// sweepHint is a block to suggest sweeping: the first IPv4 network of an
// interface that is up and not loopback, or a placeholder.
func sweepHint() string {
	ifs, err := net.Interfaces()
	if err == nil {
		for _, ifc := range ifs {
			if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
				continue
			}
			addrs, _ := ifc.Addrs()
			for _, a := range addrs {
				n, ok := a.(*net.IPNet)
				if !ok {
					continue
				}
				p, err := netip.ParsePrefix(n.String())
				if err != nil || !p.Addr().Is4() {
					continue
				}
				if p.Bits() < 24 {
					p = netip.PrefixFrom(p.Addr(), 24)
				}
				return p.Masked().String()
			}
		}
	}
	return "192.168.1.0/24"
}

// webPort is the web service's default port, the one a sweep tries.
func webPort() int {
	_, p, _ := net.SplitHostPort(suite.ServicesDefault("web"))
	n, _ := strconv.Atoi(p)
	return n
}
