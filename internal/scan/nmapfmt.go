package scan

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The two formats of nmap's that existing tools read, written so that
// those tools read netkit's results unchanged: the grepable format (-oG,
// nmap's "Grepable Output" chapter) and the XML format (-oX, the subset of
// nmap.dtd that parsers use: nmaprun, scaninfo, host, status, address,
// hostnames, ports, extraports, port, state, service, runstats).

// WriteGrepable writes r in nmap's grepable format.
func (r *Report) WriteGrepable(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("# netkit %s scan initiated %s as: %s\n", r.Version, r.Start.Format(time.ANSIC), r.Args)
	up := 0
	for _, hr := range r.hosts() {
		name := hr.Name
		status := "Down"
		if hr.Up {
			status = "Up"
			up++
		}
		ew.printf("Host: %s (%s)\tStatus: %s\n", hr.Addr, name, status)
		if !hr.Up {
			continue
		}
		var items []string
		for _, x := range hr.shown(r.OnlyOpen) {
			items = append(items, fmt.Sprintf("%d/%s/%s//%s///", x.Port, x.State, x.Proto, grepField(ServiceName(Port{x.Port, x.Proto}))))
		}
		line := fmt.Sprintf("Host: %s (%s)\tPorts: %s", hr.Addr, name, strings.Join(items, ", "))
		if hr.ignored != 0 {
			line += fmt.Sprintf("\tIgnored State: %s (%d)", hr.ignored, hr.ignN)
		}
		ew.printf("%s\n", line)
	}
	ew.printf("# netkit done at %s -- %d IP %s (%d %s up) scanned in %.2f seconds\n",
		r.Start.Add(r.Stats.Elapsed).Format(time.ANSIC), len(r.Stats.Hosts), plural(len(r.Stats.Hosts), "address", "addresses"),
		up, plural(up, "host", "hosts"), r.Stats.Elapsed.Seconds())
	return ew.err
}

// grepField keeps a field of the grepable format from breaking it: '/'
// and ',' separate fields there.
func grepField(s string) string {
	return strings.NewReplacer("/", "|", ",", " ").Replace(s)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// XMLRun is nmap's <nmaprun>, the subset netkit writes and its tests read.
type XMLRun struct {
	XMLName  xml.Name    `xml:"nmaprun"`
	Scanner  string      `xml:"scanner,attr"`
	Args     string      `xml:"args,attr"`
	Start    int64       `xml:"start,attr"`
	StartStr string      `xml:"startstr,attr"`
	Version  string      `xml:"version,attr"`
	XMLVer   string      `xml:"xmloutputversion,attr"`
	ScanInfo []XMLInfo   `xml:"scaninfo"`
	Hosts    []XMLHost   `xml:"host"`
	RunStats XMLRunStats `xml:"runstats"`
}

// XMLInfo is <scaninfo>.
type XMLInfo struct {
	Type        string `xml:"type,attr"`
	Protocol    string `xml:"protocol,attr"`
	NumServices int    `xml:"numservices,attr"`
	Services    string `xml:"services,attr"`
}

// XMLHost is <host>.
type XMLHost struct {
	StartTime int64     `xml:"starttime,attr,omitempty"`
	EndTime   int64     `xml:"endtime,attr,omitempty"`
	Status    XMLStatus `xml:"status"`
	Addresses []XMLAddr `xml:"address"`
	Hostnames []XMLName `xml:"hostnames>hostname"`
	Ports     XMLPorts  `xml:"ports"`
	Times     *XMLTimes `xml:"times,omitempty"`
	Comment   string    `xml:",comment"`
}

// XMLStatus is <status>.
type XMLStatus struct {
	State     string `xml:"state,attr"`
	Reason    string `xml:"reason,attr"`
	ReasonTTL string `xml:"reason_ttl,attr"`
}

// XMLAddr is <address>.
type XMLAddr struct {
	Addr     string `xml:"addr,attr"`
	AddrType string `xml:"addrtype,attr"`
}

// XMLName is <hostname>.
type XMLName struct {
	Name string `xml:"name,attr"`
	Type string `xml:"type,attr"`
}

// XMLPorts is <ports>.
type XMLPorts struct {
	Extra []XMLExtra `xml:"extraports"`
	Ports []XMLPort  `xml:"port"`
}

// XMLExtra is <extraports>: ports of one state counted, not listed.
type XMLExtra struct {
	State   string        `xml:"state,attr"`
	Count   int           `xml:"count,attr"`
	Reasons []XMLExtraWhy `xml:"extrareasons"`
}

// XMLExtraWhy is <extrareasons>.
type XMLExtraWhy struct {
	Reason string `xml:"reason,attr"`
	Count  int    `xml:"count,attr"`
}

// XMLPort is <port>.
type XMLPort struct {
	Protocol string      `xml:"protocol,attr"`
	PortID   int         `xml:"portid,attr"`
	State    XMLState    `xml:"state"`
	Service  XMLService  `xml:"service"`
	Script   []XMLScript `xml:"script"`
}

// XMLState is <state>.
type XMLState struct {
	State     string `xml:"state,attr"`
	Reason    string `xml:"reason,attr"`
	ReasonTTL string `xml:"reason_ttl,attr"`
}

// XMLService is <service>.
type XMLService struct {
	Name   string `xml:"name,attr"`
	Method string `xml:"method,attr"`
	Conf   string `xml:"conf,attr"`
}

// XMLScript is <script>, used for banners as nmap's banner script does.
type XMLScript struct {
	ID     string `xml:"id,attr"`
	Output string `xml:"output,attr"`
}

// XMLTimes is <times>, in microseconds.
type XMLTimes struct {
	SRTT   int64 `xml:"srtt,attr"`
	RTTVar int64 `xml:"rttvar,attr"`
	To     int64 `xml:"to,attr"`
}

// XMLRunStats is <runstats>.
type XMLRunStats struct {
	Finished XMLFinished `xml:"finished"`
	Hosts    XMLHostsSum `xml:"hosts"`
}

// XMLFinished is <finished>.
type XMLFinished struct {
	Time    int64   `xml:"time,attr"`
	TimeStr string  `xml:"timestr,attr"`
	Elapsed float64 `xml:"elapsed,attr"`
	Summary string  `xml:"summary,attr"`
	Exit    string  `xml:"exit,attr"`
}

// XMLHostsSum is <hosts> in <runstats>.
type XMLHostsSum struct {
	Up    int `xml:"up,attr"`
	Down  int `xml:"down,attr"`
	Total int `xml:"total,attr"`
}

// WriteXML writes r in nmap's XML format.
func (r *Report) WriteXML(w io.Writer) error {
	run := XMLRun{
		Scanner: "netkit", Args: r.Args, Start: r.Start.Unix(), StartStr: r.Start.Format(time.ANSIC),
		Version: r.Version, XMLVer: "1.05",
	}
	for _, proto := range []Proto{TCP, UDP} {
		var nums []uint16
		for _, p := range r.Ports {
			if p.Proto == proto {
				nums = append(nums, p.Number)
			}
		}
		if len(nums) > 0 {
			typ := "connect"
			if proto == UDP {
				typ = "udp"
			}
			run.ScanInfo = append(run.ScanInfo, XMLInfo{Type: typ, Protocol: proto.String(), NumServices: len(nums), Services: compactPorts(nums)})
		}
	}
	end := r.Start.Add(r.Stats.Elapsed)
	up := 0
	for _, hr := range r.hosts() {
		if !hr.Up {
			continue
		}
		up++
		h := XMLHost{
			StartTime: r.Start.Unix(), EndTime: end.Unix(),
			Status:    XMLStatus{State: "up", Reason: reasonOrUser(hr), ReasonTTL: "0"},
			Addresses: []XMLAddr{{Addr: hr.Addr.String(), AddrType: addrType(hr)}},
		}
		if hr.Name != "" {
			h.Hostnames = []XMLName{{Name: hr.Name, Type: "user"}}
		}
		if hr.ignored != 0 {
			ex := XMLExtra{State: hr.ignored.String(), Count: hr.ignN}
			for _, why := range slices.Sorted(maps.Keys(hr.ignWhy)) {
				ex.Reasons = append(ex.Reasons, XMLExtraWhy{Reason: why.String(), Count: hr.ignWhy[why]})
			}
			h.Ports.Extra = []XMLExtra{ex}
		}
		for _, x := range hr.shown(r.OnlyOpen) {
			p := XMLPort{
				Protocol: x.Proto.String(), PortID: int(x.Port),
				State:   XMLState{State: x.State.String(), Reason: x.Reason.String(), ReasonTTL: "0"},
				Service: XMLService{Name: cmp.Or(ServiceName(Port{x.Port, x.Proto}), "unknown"), Method: "table", Conf: "3"},
			}
			if x.Banner != "" {
				p.Script = []XMLScript{{ID: "banner", Output: x.Banner}}
			}
			h.Ports.Ports = append(h.Ports.Ports, p)
		}
		run.Hosts = append(run.Hosts, h)
	}
	run.RunStats = XMLRunStats{
		Finished: XMLFinished{Time: end.Unix(), TimeStr: end.Format(time.ANSIC), Elapsed: roundSecs(r.Stats.Elapsed),
			Summary: fmt.Sprintf("netkit done at %s; %d IP %s (%d %s up) scanned in %.2f seconds", end.Format(time.ANSIC),
				len(r.Stats.Hosts), plural(len(r.Stats.Hosts), "address", "addresses"), up, plural(up, "host", "hosts"), r.Stats.Elapsed.Seconds()),
			Exit: exitWord(r.Interrupted)},
		Hosts: XMLHostsSum{Up: up, Down: len(r.Stats.Hosts) - up, Total: len(r.Stats.Hosts)},
	}
	if _, err := io.WriteString(w, xml.Header+"<!DOCTYPE nmaprun>\n"); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", " ")
	if err := enc.Encode(run); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// reasonOrUser is why a host was taken for up: nmap's "user-set" when
// no discovery ran (one target, or -Pn).
func reasonOrUser(hr hostReport) string {
	if hr.Reason == 0 {
		return "user-set"
	}
	return hr.Reason.String()
}

func addrType(hr hostReport) string {
	if hr.Addr.Is4() {
		return "ipv4"
	}
	return "ipv6"
}

func exitWord(interrupted bool) string {
	if interrupted {
		return "error"
	}
	return "success"
}

func roundSecs(d time.Duration) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(d.Seconds(), 'f', 2, 64), 64)
	return v
}

// compactPorts writes sorted ranges, "1,3-4,6", as nmap's scaninfo does.
func compactPorts(nums []uint16) string {
	seen := make([]bool, 65536)
	for _, n := range nums {
		seen[n] = true
	}
	var parts []string
	for p := 0; p < 65536; p++ {
		if !seen[p] {
			continue
		}
		q := p
		for q+1 < 65536 && seen[q+1] {
			q++
		}
		if q == p {
			parts = append(parts, strconv.Itoa(p))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", p, q))
		}
		p = q
	}
	return strings.Join(parts, ",")
}
