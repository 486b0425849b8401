// Package discovery finds netkit servers on the local network with DNS-SD
// over multicast DNS (RFC 6762, RFC 6763), service type _netkit._tcp, and
// advertises them. The messages are github.com/miekg/dns's; the sockets
// are golang.org/x/net/ipv4 and ipv6, joined to the mDNS groups on every
// interface that is up and multicast-capable, each answer carrying only
// the addresses of the interface the query came in on.
//
// A server's TXT record says what it runs:
//
//	txtvers=1 name=NAME version=V services=web,msg web=7700 msg=7742
//	tls=SHA256-FINGERPRINT pub=X25519-PUBLIC-KEY hmac=MAC
//
// where hmac is HMAC-SHA256, in URL-safe base64, of the other entries
// sorted and joined by newlines, under a key derived from the message key
// (HMAC-SHA256 of "netkit discovery v1" under the Fernet key): a client
// with the same key tells a genuine server from one that only claims to
// be. This file is the codec: pure functions over DNS messages.
package discovery

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/netkit/netkit/internal/fernet"
)

// ServiceType is netkit's DNS-SD service type.
const (
	ServiceType = "_netkit._tcp.local."
	// servicesEnum is RFC 6763's service type enumeration name.
	servicesEnum = "_services._dns-sd._udp.local."
	// DefaultTTL is the TTL of the records advertised (RFC 6762 advises
	// 120 s for records naming a host, 75 minutes for others; one value
	// keeps caches simple).
	DefaultTTL = 120
)

// Verification is what a client knows of a server's TXT record.
type Verification int

// The verifications.
const (
	Unsigned   Verification = iota // no hmac entry
	Verified                       // the hmac matches one of our keys
	Unverified                     // an hmac that does not match, or no key to check it with
)

func (v Verification) String() string {
	switch v {
	case Verified:
		return "verified"
	case Unverified:
		return "unverified"
	}
	return "unsigned"
}

// Instance is one advertised server.
type Instance struct {
	// Name is the instance label ("lab-pc"), unique on the link.
	Name string
	// Host is the host name the SRV record targets ("lab-pc.local.").
	Host string
	// Port is the SRV port: the web service's.
	Port int
	// TXT holds the TXT entries, hmac included once signed.
	TXT map[string]string
}

// FQDN is the instance's full service name.
func (in *Instance) FQDN() string { return escapeLabel(in.Name) + "." + ServiceType }

// Service is a server heard by a client.
type Service struct {
	Instance
	// Addrs are the addresses the answer gave for Host.
	Addrs []netip.Addr
	// From is where the answer came from.
	From netip.AddrPort
	// Verification of the TXT record under the client's keys.
	Verification Verification
	// TTL of the SRV record: 0 is a goodbye.
	TTL uint32
}

// Addr is the address to reach the server's web port at: an IPv4 address
// of the answer if there is one, else the address it came from.
func (s *Service) Addr() netip.AddrPort {
	for _, a := range s.Addrs {
		if a.Is4() {
			return netip.AddrPortFrom(a, uint16(s.Port))
		}
	}
	for _, a := range s.Addrs {
		if !a.IsLinkLocalUnicast() {
			return netip.AddrPortFrom(a, uint16(s.Port))
		}
	}
	return netip.AddrPortFrom(s.From.Addr(), uint16(s.Port))
}

// MsgPort is the msg UDP service's port from the TXT record, or 0.
func (s *Service) MsgPort() int {
	p, _ := strconv.Atoi(s.TXT["msg"])
	return p
}

// macKey derives the TXT MAC key from a message key.
func macKey(k *fernet.Key) []byte {
	m := hmac.New(sha256.New, k[:])
	m.Write([]byte("netkit discovery v1"))
	return m.Sum(nil)
}

func txtMAC(txt map[string]string, key []byte) string {
	keys := make([]string, 0, len(txt))
	for k := range txt {
		if k != "hmac" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	m := hmac.New(sha256.New, key)
	for _, k := range keys {
		fmt.Fprintf(m, "%s=%s\n", k, txt[k])
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Sign sets txt's hmac entry under k.
func Sign(txt map[string]string, k *fernet.Key) {
	delete(txt, "hmac")
	txt["hmac"] = txtMAC(txt, macKey(k))
}

// Verify checks txt's hmac against every key.
func Verify(txt map[string]string, keys []*fernet.Key) Verification {
	got, ok := txt["hmac"]
	if !ok {
		return Unsigned
	}
	for _, k := range keys {
		if hmac.Equal([]byte(got), []byte(txtMAC(txt, macKey(k)))) {
			return Verified
		}
	}
	return Unverified
}

// Query returns an mDNS query for netkit's PTR records. unicast sets the
// QU bit (answer me directly).
func Query(unicast bool) ([]byte, error) {
	m := new(dns.Msg)
	m.Id = 0
	m.RecursionDesired = false
	q := dns.Question{Name: ServiceType, Qtype: dns.TypePTR, Qclass: dns.ClassINET}
	if unicast {
		q.Qclass |= 1 << 15
	}
	m.Question = []dns.Question{q}
	return m.Pack()
}

// Matches reports whether query asks for something in, and whether it
// asks for a unicast answer (QU). It returns false for responses.
func Matches(query *dns.Msg, in *Instance) (match, unicast bool) {
	if query.Response || query.Opcode != dns.OpcodeQuery {
		return false, false
	}
	fqdn, host := strings.ToLower(in.FQDN()), strings.ToLower(in.Host)
	for _, q := range query.Question {
		name := strings.ToLower(q.Name)
		qt := q.Qtype
		hit := false
		switch name {
		case ServiceType:
			hit = qt == dns.TypePTR || qt == dns.TypeANY
		case servicesEnum:
			hit = qt == dns.TypePTR || qt == dns.TypeANY
		case fqdn:
			hit = qt == dns.TypeSRV || qt == dns.TypeTXT || qt == dns.TypeANY
		case host:
			hit = qt == dns.TypeA || qt == dns.TypeAAAA || qt == dns.TypeANY
		}
		if hit {
			match = true
			if q.Qclass&(1<<15) != 0 {
				unicast = true
			}
		}
	}
	return match, unicast
}

// Response returns the answer advertising in with addrs (the addresses
// of one interface), TTL ttl (0: goodbye). id and questions are echoed
// for a legacy unicast query (RFC 6762 section 6.7), nil otherwise.
func Response(in *Instance, addrs []netip.Addr, ttl uint32, id uint16, questions []dns.Question) ([]byte, error) {
	m := new(dns.Msg)
	m.Id = id
	m.Response, m.Authoritative = true, true
	m.Question = questions
	hdr := func(name string, t uint16, flush bool) dns.RR_Header {
		class := uint16(dns.ClassINET)
		if flush && questions == nil {
			class |= 1 << 15 // cache-flush: these records are ours alone
		}
		return dns.RR_Header{Name: name, Rrtype: t, Class: class, Ttl: ttl}
	}
	fqdn := in.FQDN()
	m.Answer = []dns.RR{&dns.PTR{Hdr: hdr(ServiceType, dns.TypePTR, false), Ptr: fqdn}}
	txt := make([]string, 0, len(in.TXT))
	keys := make([]string, 0, len(in.TXT))
	for k := range in.TXT {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		txt = append(txt, k+"="+in.TXT[k])
	}
	m.Extra = []dns.RR{
		&dns.SRV{Hdr: hdr(fqdn, dns.TypeSRV, true), Port: uint16(in.Port), Target: in.Host},
		&dns.TXT{Hdr: hdr(fqdn, dns.TypeTXT, true), Txt: txt},
	}
	for _, a := range addrs {
		if a.Is4() {
			m.Extra = append(m.Extra, &dns.A{Hdr: hdr(in.Host, dns.TypeA, true), A: a.AsSlice()})
		} else {
			m.Extra = append(m.Extra, &dns.AAAA{Hdr: hdr(in.Host, dns.TypeAAAA, true), AAAA: a.AsSlice()})
		}
	}
	return m.Pack()
}

// ErrNotResponse is returned by ParseResponse for a query.
var ErrNotResponse = errors.New("discovery: not a response")

// ParseResponse returns the _netkit._tcp instances a response describes
// completely (PTR, SRV and at least one address, in any section). TXT
// entries without "=" are kept with an empty value.
func ParseResponse(b []byte) ([]Service, error) {
	response, rrs, err := unpackLenient(b)
	if err != nil {
		return nil, err
	}
	if !response {
		return nil, ErrNotResponse
	}
	var names []string
	for _, rr := range rrs {
		if p, ok := rr.(*dns.PTR); ok && strings.EqualFold(p.Hdr.Name, ServiceType) && !slices.Contains(names, p.Ptr) {
			names = append(names, p.Ptr)
		}
	}
	var out []Service
	for _, name := range names {
		s := Service{Instance: Instance{Name: instanceLabel(name), TXT: map[string]string{}}}
		hasSRV := false
		for _, rr := range rrs {
			if !strings.EqualFold(rr.Header().Name, name) {
				continue
			}
			switch r := rr.(type) {
			case *dns.SRV:
				s.Host, s.Port, s.TTL, hasSRV = r.Target, int(r.Port), r.Hdr.Ttl, true
			case *dns.TXT:
				for _, e := range r.Txt {
					k, v, _ := strings.Cut(e, "=")
					if k != "" {
						if _, dup := s.TXT[strings.ToLower(k)]; !dup {
							s.TXT[strings.ToLower(k)] = v
						}
					}
				}
			}
		}
		if !hasSRV {
			continue
		}
		for _, rr := range rrs {
			if !strings.EqualFold(rr.Header().Name, s.Host) {
				continue
			}
			switch r := rr.(type) {
			case *dns.A:
				if a, ok := netip.AddrFromSlice(r.A.To4()); ok {
					s.Addrs = append(s.Addrs, a)
				}
			case *dns.AAAA:
				if a, ok := netip.AddrFromSlice(r.AAAA); ok {
					s.Addrs = append(s.Addrs, a)
				}
			}
		}
		if len(s.Addrs) == 0 && s.TTL != 0 {
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

// instanceLabel is the first label of a service instance name, unescaped.
func instanceLabel(fqdn string) string {
	labels := dns.SplitDomainName(fqdn)
	if len(labels) == 0 {
		return fqdn
	}
	l := labels[0]
	var b strings.Builder
	for i := 0; i < len(l); i++ {
		if l[i] == '\\' && i+1 < len(l) {
			if i+3 < len(l) && isDigit(l[i+1]) && isDigit(l[i+2]) && isDigit(l[i+3]) {
				n, _ := strconv.Atoi(l[i+1 : i+4])
				b.WriteByte(byte(n))
				i += 3
				continue
			}
			i++
		}
		b.WriteByte(l[i])
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// escapeLabel escapes the dots and backslashes of an instance label.
func escapeLabel(s string) string {
	r := strings.NewReplacer(`\`, `\\`, ".", `\.`, " ", `\ `)
	return r.Replace(s)
}

// unpackLenient reads a DNS message's records one by one, skipping those
// miekg/dns cannot decode rather than the whole message: python-zeroconf
// sends NSEC records with an empty type bitmap block, which it refuses.
// It returns whether the message is a response and its records of every
// section.
func unpackLenient(b []byte) (bool, []dns.RR, error) {
	if len(b) < 12 {
		return false, nil, fmt.Errorf("discovery: message of %d bytes", len(b))
	}
	response := b[2]&0x80 != 0
	qd := int(binary.BigEndian.Uint16(b[4:]))
	rr := int(binary.BigEndian.Uint16(b[6:])) + int(binary.BigEndian.Uint16(b[8:])) + int(binary.BigEndian.Uint16(b[10:]))
	off := 12
	for range qd {
		_, next, err := dns.UnpackDomainName(b, off)
		if err != nil || next+4 > len(b) {
			return response, nil, fmt.Errorf("discovery: bad question")
		}
		off = next + 4
	}
	var out []dns.RR
	for range rr {
		_, next, err := dns.UnpackDomainName(b, off)
		if err != nil || next+10 > len(b) {
			break
		}
		end := next + 10 + int(binary.BigEndian.Uint16(b[next+8:]))
		if end > len(b) {
			break
		}
		if r, _, err := dns.UnpackRR(b, off); err == nil {
			out = append(out, r)
		}
		off = end
	}
	return response, out, nil
}
