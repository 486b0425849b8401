package scan

import (
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

// DefaultTop is how many of the most common ports a scan probes when no
// ports are named.
const DefaultTop = 1000

//go:embed data/top-tcp.txt
var topTCPText []byte

//go:embed data/top-udp.txt
var topUDPText []byte

type ranked struct {
	ports []uint16
	names map[uint16]string
}

var (
	topOnce        sync.Once
	topTCP, topUDP ranked
)

func parseRanked(b []byte) ranked {
	r := ranked{names: map[uint16]string{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		num, name, _ := strings.Cut(line, " ")
		p, err := strconv.Atoi(num)
		if err != nil {
			continue
		}
		r.ports = append(r.ports, uint16(p))
		r.names[uint16(p)] = name
	}
	return r
}

func loadTop() {
	topOnce.Do(func() {
		topTCP = parseRanked(topTCPText)
		topUDP = parseRanked(topUDPText)
	})
}

// Top returns the n most common ports of proto, most common first (n is
// capped at the 1000 netkit keeps; see data/top-tcp.txt for the source).
func Top(n int, proto Proto) []Port {
	loadTop()
	r := topTCP
	if proto == UDP {
		r = topUDP
	}
	n = min(max(n, 0), len(r.ports))
	out := make([]Port, n)
	for i := range n {
		out[i] = Port{Number: r.ports[i], Proto: proto}
	}
	return out
}

// PortError is a port list that could not be parsed.
type PortError struct {
	Spec string // the whole list
	Part string // the item that is wrong
	Err  error
}

func (e *PortError) Error() string {
	if e.Part != "" && e.Part != e.Spec {
		return fmt.Sprintf("scan: ports %q: %q %v", e.Spec, e.Part, e.Err)
	}
	return fmt.Sprintf("scan: ports %q: %v", e.Spec, e.Err)
}

func (e *PortError) Unwrap() error { return e.Err }

// ErrUDPPrefix is a "U:" port without UDP scanning asked for.
var ErrUDPPrefix = errors.New("is a UDP port: add --udp to scan UDP")

// ParsePorts parses a port list in nmap's syntax: "22,80,1000-2000", "-"
// (every port), "-1024", "60000-", service names ("http"), and with udp
// set, "U:53,T:80" prefixes that hold until the next one. Without a prefix
// a port is UDP when udp is set, TCP otherwise. The result has no
// duplicates and keeps the order given.
func ParsePorts(spec string, udp bool) ([]Port, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, &PortError{Spec: spec, Err: errors.New("is empty")}
	}
	proto := TCP
	if udp {
		proto = UDP
	}
	var out []Port
	seen := map[Port]bool{}
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		switch {
		case strings.HasPrefix(item, "T:"), strings.HasPrefix(item, "t:"):
			proto, item = TCP, item[2:]
		case strings.HasPrefix(item, "U:"), strings.HasPrefix(item, "u:"):
			if !udp {
				return nil, &PortError{Spec: spec, Part: item, Err: ErrUDPPrefix}
			}
			proto, item = UDP, item[2:]
		}
		lo, hi, err := portRange(item)
		if err != nil {
			return nil, &PortError{Spec: spec, Part: item, Err: err}
		}
		for p := lo; p <= hi; p++ {
			k := Port{Number: uint16(p), Proto: proto}
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	return out, nil
}

func portRange(item string) (lo, hi int, err error) {
	if item == "" {
		return 0, 0, errors.New("is empty (two commas in a row?)")
	}
	if item == "-" {
		return 1, 65535, nil
	}
	if a, b, ok := strings.Cut(item, "-"); ok {
		lo, hi = 1, 65535
		if a != "" {
			if lo, err = portNumber(a); err != nil {
				return 0, 0, err
			}
		}
		if b != "" {
			if hi, err = portNumber(b); err != nil {
				return 0, 0, err
			}
		}
		if hi < lo {
			return 0, 0, errors.New("is a range that ends before it starts")
		}
		return lo, hi, nil
	}
	if item[0] < '0' || item[0] > '9' {
		if p, ok := ServicePort(item); ok {
			return int(p), int(p), nil
		}
		return 0, 0, errors.New("is neither a port number nor a service name known here")
	}
	lo, err = portNumber(item)
	return lo, lo, err
}

func portNumber(s string) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 || v > 65535 {
		return 0, errors.New("is not a port number (1-65535)")
	}
	if v == 0 {
		return 0, errors.New("is port 0, which no connect can reach (1-65535)")
	}
	return v, nil
}

// services is the system's services database, /etc/services.
var (
	servicesOnce sync.Once
	sysNames     map[Port]string
	sysPorts     map[string]uint16
)

func loadServices() {
	servicesOnce.Do(func() {
		sysNames, sysPorts = map[Port]string{}, map[string]uint16{}
		b, err := os.ReadFile("/etc/services")
		if err != nil {
			return
		}
		parseServices(b, sysNames, sysPorts)
	})
}

// parseServices reads services(5): "name port/proto aliases... # comment".
func parseServices(b []byte, names map[Port]string, ports map[string]uint16) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		num, proto, ok := strings.Cut(f[1], "/")
		p, err := strconv.Atoi(num)
		if !ok || err != nil || p <= 0 || p > 65535 {
			continue
		}
		k := Port{Number: uint16(p)}
		switch proto {
		case "tcp":
		case "udp":
			k.Proto = UDP
		default:
			continue
		}
		if _, dup := names[k]; !dup {
			names[k] = f[0]
		}
		for _, n := range f {
			if n == f[1] {
				continue
			}
			if _, dup := ports[n]; !dup {
				ports[n] = uint16(p)
			}
		}
	}
}

// ServiceName names the service usually on p: from /etc/services when it
// has one, else from netkit's own list, else "".
func ServiceName(p Port) string {
	loadServices()
	if n, ok := sysNames[p]; ok {
		return n
	}
	loadTop()
	r := topTCP
	if p.Proto == UDP {
		r = topUDP
	}
	return r.names[p.Number]
}

// ServicePort returns the port of a service name, from /etc/services or
// netkit's own list.
func ServicePort(name string) (uint16, bool) {
	loadServices()
	if p, ok := sysPorts[name]; ok {
		return p, true
	}
	loadTop()
	for _, p := range topTCP.ports {
		if topTCP.names[p] == name && name != "unknown" {
			return p, true
		}
	}
	return 0, false
}
