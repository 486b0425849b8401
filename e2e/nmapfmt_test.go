package e2e

import (
	"encoding/xml"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Readers of nmap's two machine formats, written from nmap's own
// documentation (the "Grepable Output" chapter and nmap.dtd), to read
// what nmap and netkit write in the same terms.

// portStates is what a scan said of each port of one host, as
// "PORT/PROTO" -> state.
type portStates map[string]string

// grepScan is a scan read from nmap's grepable format.
type grepScan struct {
	up    map[string]bool       // host address -> up
	ports map[string]portStates // host address -> ports listed
	// ignored is the state and count of the ports a host's line left out
	// ("Ignored State: closed (3990)").
	ignored map[string]ignoredState
}

type ignoredState struct {
	state string
	n     int
}

// parseGrepable reads nmap's grepable format: comment lines start with
// '#'; every other line is "Host: ADDR (NAME)" followed by tab-separated
// fields, "Status: Up", "Ports: P/STATE/PROTO/OWNER/SERVICE/RPC/VERSION/,
// ..." and "Ignored State: STATE (N)".
func parseGrepable(s string) (*grepScan, error) {
	g := &grepScan{up: map[string]bool{}, ports: map[string]portStates{}, ignored: map[string]ignoredState{}}
	for n, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		host, ok := strings.CutPrefix(fields[0], "Host: ")
		if !ok {
			return nil, fmt.Errorf("line %d: does not start with Host: %q", n+1, line)
		}
		addr, _, _ := strings.Cut(host, " ")
		for _, f := range fields[1:] {
			key, val, ok := strings.Cut(f, ": ")
			if !ok {
				return nil, fmt.Errorf("line %d: field %q has no key", n+1, f)
			}
			switch key {
			case "Status":
				g.up[addr] = val == "Up"
			case "Ports":
				ps := g.ports[addr]
				if ps == nil {
					ps = portStates{}
					g.ports[addr] = ps
				}
				if val == "" {
					continue
				}
				for _, item := range strings.Split(val, ", ") {
					parts := strings.Split(item, "/")
					if len(parts) != 8 {
						return nil, fmt.Errorf("line %d: port item %q has %d fields, want 8", n+1, item, len(parts))
					}
					if _, err := strconv.ParseUint(parts[0], 10, 16); err != nil {
						return nil, fmt.Errorf("line %d: port item %q: %v", n+1, item, err)
					}
					ps[parts[0]+"/"+parts[2]] = parts[1]
				}
			case "Ignored State":
				var is ignoredState
				if _, err := fmt.Sscanf(val, "%s (%d)", &is.state, &is.n); err != nil {
					return nil, fmt.Errorf("line %d: ignored state %q: %v", n+1, val, err)
				}
				g.ignored[addr] = is
			}
		}
	}
	return g, nil
}

// all returns every port of host, the ignored ones filled in from the
// list of ports scanned, and fails t if their count is not the one the
// line gave.
func (g *grepScan) all(t *testing.T, host string, scanned []string) portStates {
	t.Helper()
	out := portStates{}
	for p, s := range g.ports[host] {
		out[p] = s
	}
	ig, ok := g.ignored[host]
	if !ok {
		return out
	}
	filled := 0
	for _, p := range scanned {
		if _, listed := out[p]; !listed {
			out[p] = ig.state
			filled++
		}
	}
	if filled != ig.n {
		t.Errorf("grepable: host %s: %d ports left out, but the line says %s (%d)", host, filled, ig.state, ig.n)
	}
	return out
}

// xmlRun is the part of nmap.dtd that the tests compare.
type xmlRun struct {
	XMLName xml.Name  `xml:"nmaprun"`
	Scanner string    `xml:"scanner,attr"`
	Hosts   []xmlHost `xml:"host"`
	Stats   struct {
		Hosts struct {
			Up    int `xml:"up,attr"`
			Down  int `xml:"down,attr"`
			Total int `xml:"total,attr"`
		} `xml:"hosts"`
	} `xml:"runstats"`
}

type xmlHost struct {
	Status struct {
		State string `xml:"state,attr"`
	} `xml:"status"`
	Addresses []struct {
		Addr string `xml:"addr,attr"`
		Type string `xml:"addrtype,attr"`
	} `xml:"address"`
	Extra []struct {
		State string `xml:"state,attr"`
		Count int    `xml:"count,attr"`
	} `xml:"ports>extraports"`
	Ports []struct {
		Proto string `xml:"protocol,attr"`
		ID    int    `xml:"portid,attr"`
		State struct {
			State  string `xml:"state,attr"`
			Reason string `xml:"reason,attr"`
		} `xml:"state"`
	} `xml:"ports>port"`
}

func readXML(t *testing.T, path string) *xmlRun {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r xmlRun
	if err := xml.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s is not nmap's XML: %v", path, err)
	}
	return &r
}

// xmlSummary is what a scan in XML said, in terms both writers share:
// per host up or down, the state of each listed port, and the count of
// ports per state in all.
type xmlSummary struct {
	up     map[string]bool
	listed map[string]portStates
	counts map[string]map[string]int // host -> state -> ports
	reason map[string]map[string]string
}

func (r *xmlRun) summary(t *testing.T) xmlSummary {
	t.Helper()
	s := xmlSummary{up: map[string]bool{}, listed: map[string]portStates{}, counts: map[string]map[string]int{}, reason: map[string]map[string]string{}}
	for _, h := range r.Hosts {
		addr := ""
		for _, a := range h.Addresses {
			if a.Type == "ipv4" || a.Type == "ipv6" {
				addr = a.Addr
			}
		}
		if addr == "" {
			t.Fatalf("%s XML: a host without an address", r.Scanner)
		}
		s.up[addr] = h.Status.State == "up"
		ps, counts, reasons := portStates{}, map[string]int{}, map[string]string{}
		for _, e := range h.Extra {
			counts[e.State] += e.Count
		}
		for _, p := range h.Ports {
			key := fmt.Sprintf("%d/%s", p.ID, p.Proto)
			ps[key] = p.State.State
			reasons[key] = p.State.Reason
			counts[p.State.State]++
		}
		s.listed[addr], s.counts[addr], s.reason[addr] = ps, counts, reasons
	}
	return s
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
