package scan

// udpPayload is what a UDP probe to port carries: a real request for the
// protocols netkit knows, so that a working service answers and is
// reported open rather than open|filtered; an empty datagram otherwise.
func udpPayload(port uint16) []byte {
	switch port {
	case 53:
		return dnsQuery
	case 123, 7723: // NTP; netkit's SNTP
		return ntpRequest
	case 7, 7707: // RFC 862 echo; netkit's UDP echo
		return []byte("netkit scan\n")
	case 37, 7737: // RFC 868 time, and netkit's: any datagram asks for the time
		return []byte{0}
	}
	return nil
}

// dnsQuery is a query for the root zone's NS records,
// which every resolver and authoritative server answers (even if only
// with REFUSED).
var dnsQuery = []byte{
	0x4e, 0x4b, // id "NK"
	0x01, 0x00, // recursion desired
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // one question
	0x00,       // root name
	0x00, 0x02, // type NS
	0x00, 0x01, // class IN
}

// ntpRequest is a 48-byte SNTP client request (RFC 4330): LI 0, version 4,
// mode 3.
var ntpRequest = append([]byte{0x23}, make([]byte, 47)...)
