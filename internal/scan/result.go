package scan

import (
	"net/netip"
	"time"
)

// Proto is a transport protocol a port is scanned over.
type Proto uint8

// The protocols a scan can probe.
const (
	TCP Proto = iota
	UDP
)

func (p Proto) String() string {
	if p == UDP {
		return "udp"
	}
	return "tcp"
}

// State is what a scan concluded about a port, with nmap's meanings.
type State uint8

// The states of a port. Open: a connect succeeded (TCP) or the service
// answered (UDP). Closed: the host refused (a TCP reset, or an ICMP
// port-unreachable for UDP). Filtered: nothing came back after every retry,
// or an ICMP unreachable other than port-unreachable. OpenFiltered (UDP
// only): silence, which a working UDP service that ignores the probe and a
// firewall that drops it both produce.
const (
	Open State = iota + 1
	Closed
	Filtered
	OpenFiltered
)

var stateNames = [...]string{Open: "open", Closed: "closed", Filtered: "filtered", OpenFiltered: "open|filtered"}

func (s State) String() string {
	if int(s) < len(stateNames) && stateNames[s] != "" {
		return stateNames[s]
	}
	return "unknown"
}

// Reason says what a State was concluded from, in nmap's --reason words
// where nmap has one.
type Reason uint8

// The reasons behind a result.
const (
	ReasonSynAck        Reason = iota + 1 // TCP connect succeeded
	ReasonConnRefused                     // TCP reset
	ReasonPortUnreach                     // ICMP port unreachable
	ReasonHostUnreach                     // ICMP host unreachable, or no ARP answer
	ReasonNetUnreach                      // ICMP network unreachable, or no route
	ReasonAdminProhib                     // ICMP administratively prohibited
	ReasonNoResponse                      // silence after every retry
	ReasonUDPResponse                     // a UDP answer came back
	ReasonLocalProhibit                   // this host's own firewall refused the probe
)

var reasonNames = [...]string{
	ReasonSynAck:        "syn-ack",
	ReasonConnRefused:   "conn-refused",
	ReasonPortUnreach:   "port-unreach",
	ReasonHostUnreach:   "host-unreach",
	ReasonNetUnreach:    "net-unreach",
	ReasonAdminProhib:   "admin-prohibited",
	ReasonNoResponse:    "no-response",
	ReasonUDPResponse:   "udp-response",
	ReasonLocalProhibit: "local-prohibited",
}

func (r Reason) String() string {
	if int(r) < len(reasonNames) && reasonNames[r] != "" {
		return reasonNames[r]
	}
	return "unknown"
}

// Result is the finding for one port of one address.
type Result struct {
	// Host is the name the address came from, or the address itself.
	Host string
	// Addr is the address scanned.
	Addr netip.Addr
	// Port and Proto say which port was scanned.
	Port  uint16
	Proto Proto
	// State and Reason are what was found and why.
	State  State
	Reason Reason
	// RTT is the time from the last probe sent to its answer; zero for
	// silence.
	RTT time.Duration
	// Tries is how many probes were sent.
	Tries int
	// Banner is what an open service said first, when Config.Banner asked
	// for it; escaped, at most Config.BannerMax bytes before escaping.
	Banner string
}
