package scan

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// sampleReport is a scan of two hosts: a up with ports 1-100/tcp (22 and
// 80 open, 22 with a banner, 5 answered twice, the rest closed) and
// 53/udp open|filtered; b down.
func sampleReport() *Report {
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	r := &Report{Args: "netkit scan -p 1-100,U:53 10.0.0.1-2", Version: "test", Start: time.Unix(1796400000, 0)}
	for p := 1; p <= 100; p++ {
		r.Ports = append(r.Ports, Port{Number: uint16(p)})
	}
	r.Ports = append(r.Ports, Port{Number: 53, Proto: UDP})
	r.Stats = Stats{Elapsed: 1500 * time.Millisecond, Hosts: []HostStats{
		{Target: Target{Addr: a}, Up: true, Reason: ReasonSynAck},
		{Target: Target{Addr: b}, Reason: ReasonNoResponse},
	}}
	r.Add(Result{Addr: a, Port: 5, State: Filtered, Reason: ReasonNoResponse})
	for p := 100; p >= 1; p-- {
		x := Result{Addr: a, Port: uint16(p), State: Closed, Reason: ReasonConnRefused}
		switch p {
		case 22:
			x.State, x.Reason, x.Banner = Open, ReasonSynAck, "SSH-2.0-test"
		case 80:
			x.State, x.Reason = Open, ReasonSynAck
		}
		r.Add(x)
	}
	r.Add(Result{Addr: a, Port: 53, Proto: UDP, State: OpenFiltered, Reason: ReasonNoResponse})
	return r
}

func TestReportRecord(t *testing.T) {
	r := sampleReport()
	if got := r.Len(); got != 101 {
		t.Errorf("Len %d, want 101 (port 5 twice counts once)", got)
	}
	c := r.Counts()
	if c[Open] != 2 || c[Closed] != 98 || c[Filtered] != 0 || c[OpenFiltered] != 1 {
		t.Errorf("counts %v: want 2 open, 98 closed (5's second answer stands), 1 open|filtered", c)
	}
	hr := r.hosts()
	if len(hr) != 2 || hr[0].total != 101 || hr[0].ignored != Closed || hr[0].ignN != 98 || hr[1].total != 0 {
		t.Fatalf("hosts: %+v", hr)
	}
	var order []string
	for _, x := range hr[0].shown(false) {
		order = append(order, fmt.Sprintf("%d/%s=%s", x.Port, x.Proto, x.State))
	}
	if got, want := strings.Join(order, " "), "22/tcp=open 80/tcp=open 53/udp=open|filtered"; got != want {
		t.Errorf("shown %q, want %q (tcp then udp, by number)", got, want)
	}
	// A port that was not asked for is kept too.
	r.Add(Result{Addr: netip.MustParseAddr("10.0.0.1"), Port: 8080, State: Open, Reason: ReasonSynAck})
	if r.Len() != 102 || r.Counts()[Open] != 3 {
		t.Errorf("after a port not asked for: Len %d, counts %v", r.Len(), r.Counts())
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"netkit scan report for 10.0.0.1\n",
		"Not shown: 98 closed tcp ports (98 conn-refused)\n",
		"22/tcp", "SSH-2.0-test", "80/tcp", "53/udp", "open|filtered",
		"Done: 1 of 2 hosts up; 101 ports: 2 open, 98 closed, 0 filtered, 1 open|filtered",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "10.0.0.2") {
		t.Errorf("table shows the host that is down without -v:\n%s", out)
	}
}

func TestWriteGrepable(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteGrepable(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	want := []string{
		"# netkit test scan initiated " + time.Unix(1796400000, 0).Format(time.ANSIC) + " as: netkit scan -p 1-100,U:53 10.0.0.1-2",
		"Host: 10.0.0.1 ()\tStatus: Up",
		"Host: 10.0.0.1 ()\tPorts: 22/open/tcp//ssh///, 80/open/tcp//http///, 53/open|filtered/udp//domain///\tIgnored State: closed (98)",
		"Host: 10.0.0.2 ()\tStatus: Down",
	}
	if len(lines) != len(want)+1 {
		t.Fatalf("grepable has %d lines, want %d:\n%s", len(lines), len(want)+1, b.String())
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d:\n got %q\nwant %q", i+1, lines[i], w)
		}
	}
	if !strings.HasPrefix(lines[len(want)], "# netkit done at ") || !strings.HasSuffix(lines[len(want)], "2 IP addresses (1 host up) scanned in 1.50 seconds") {
		t.Errorf("last line %q", lines[len(want)])
	}
}

func TestWriteXML(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteXML(&b); err != nil {
		t.Fatal(err)
	}
	var run XMLRun
	if err := xml.Unmarshal(b.Bytes(), &run); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b.String())
	}
	if run.Scanner != "netkit" || run.Args != "netkit scan -p 1-100,U:53 10.0.0.1-2" || len(run.ScanInfo) != 2 ||
		run.ScanInfo[0].Services != "1-100" || run.ScanInfo[1].Services != "53" {
		t.Errorf("nmaprun/scaninfo: %+v %+v", run, run.ScanInfo)
	}
	if len(run.Hosts) != 1 {
		t.Fatalf("%d hosts, want the one up", len(run.Hosts))
	}
	h := run.Hosts[0]
	if h.Addresses[0].Addr != "10.0.0.1" || h.Status.State != "up" {
		t.Errorf("host %+v", h)
	}
	if len(h.Ports.Extra) != 1 || h.Ports.Extra[0].State != "closed" || h.Ports.Extra[0].Count != 98 {
		t.Errorf("extraports %+v", h.Ports.Extra)
	}
	var got []string
	for _, p := range h.Ports.Ports {
		got = append(got, p.Protocol+"/"+p.State.State+"/"+p.State.Reason+"/"+p.Service.Name)
	}
	if w := "tcp/open/syn-ack/ssh tcp/open/syn-ack/http udp/open|filtered/no-response/domain"; strings.Join(got, " ") != w {
		t.Errorf("ports %q, want %q", strings.Join(got, " "), w)
	}
	if s := run.RunStats.Hosts; s.Up != 1 || s.Down != 1 || s.Total != 2 {
		t.Errorf("runstats hosts %+v", s)
	}
}
