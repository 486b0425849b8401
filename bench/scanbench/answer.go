package main

import (
	"encoding/xml"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// answer is what a scan found: the hosts up, the open ports of each, and
// how many ports of each were filtered.
type answer struct {
	up       []string            // sorted
	open     map[string][]string // host -> ports, sorted by number
	filtered map[string]int      // host -> filtered ports; nil: not compared
}

func (a answer) equal(b answer) bool {
	if !slices.Equal(a.up, b.up) {
		return false
	}
	for _, h := range a.up {
		if !slices.Equal(a.open[h], b.open[h]) {
			return false
		}
	}
	if a.filtered != nil && b.filtered != nil && !maps.Equal(a.filtered, b.filtered) {
		return false
	}
	return true
}

func (a answer) String() string {
	open, filtered := 0, 0
	for _, ps := range a.open {
		open += len(ps)
	}
	for _, n := range a.filtered {
		filtered += n
	}
	return fmt.Sprintf("%d up, %d open, %d filtered", len(a.up), open, filtered)
}

// diff says how a, ref and want differ, briefly.
func (a answer) diff(ref, want answer) string {
	var b strings.Builder
	for _, x := range []struct {
		name string
		v    answer
	}{{"netkit", a}, {"reference", ref}, {"truth", want}} {
		fmt.Fprintf(&b, "%s: up %v open %v filtered %v; ", x.name, x.v.up, x.v.open, x.v.filtered)
	}
	s := b.String()
	if len(s) > 4000 {
		s = s[:4000] + "…"
	}
	return s
}

// nmapXML is the part of nmap's XML format (-oX, nmap.dtd) the figures
// compare: hosts, their addresses and status, listed ports and the counts
// of the ports left out (extraports).
type nmapXML struct {
	Hosts []struct {
		Status struct {
			State string `xml:"state,attr"`
		} `xml:"status"`
		Addresses []struct {
			Addr string `xml:"addr,attr"`
		} `xml:"address"`
		Extra []struct {
			State string `xml:"state,attr"`
			Count int    `xml:"count,attr"`
		} `xml:"ports>extraports"`
		Ports []struct {
			ID    string `xml:"portid,attr"`
			State struct {
				State string `xml:"state,attr"`
			} `xml:"state"`
		} `xml:"ports>port"`
	} `xml:"host"`
}

// readXML reads what a scan found from nmap's XML format, as both
// scanners write it.
func readXML(b []byte) (answer, error) {
	var x nmapXML
	if err := xml.Unmarshal(b, &x); err != nil {
		return answer{}, err
	}
	a := answer{open: map[string][]string{}, filtered: map[string]int{}}
	for _, h := range x.Hosts {
		if len(h.Addresses) == 0 {
			return a, errors.New("a host without an address")
		}
		host := h.Addresses[0].Addr
		if h.Status.State != "up" {
			continue
		}
		a.up = append(a.up, host)
		for _, e := range h.Extra {
			if e.State == "filtered" {
				a.filtered[host] += e.Count
			}
		}
		for _, p := range h.Ports {
			switch p.State.State {
			case "open":
				a.open[host] = append(a.open[host], p.ID)
			case "filtered":
				a.filtered[host]++
			}
		}
	}
	slices.Sort(a.up)
	for h, ps := range a.open {
		a.open[h] = sortPorts(ps)
	}
	return a, nil
}

func sortPorts(ps []string) []string {
	slices.SortFunc(ps, func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x - y
	})
	return ps
}
