package main

import "testing"

// nmapSample is the shape of what nmap 7.93 writes for a host with two
// states left out (extraports) and a few ports listed.
const nmapSample = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<nmaprun scanner="nmap" args="nmap -sT -p- 10.0.0.2" start="1" version="7.93" xmloutputversion="1.05">
<host><status state="up" reason="user-set" reason_ttl="0"/>
<address addr="10.0.0.2" addrtype="ipv4"/>
<ports><extraports state="filtered" count="20000"><extrareasons reason="no-response" count="20000"/></extraports>
<extraports state="closed" count="45533"/>
<port protocol="tcp" portid="30080"><state state="open" reason="syn-ack" reason_ttl="0"/></port>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="0"/></port>
<port protocol="tcp" portid="9"><state state="filtered" reason="host-unreach" reason_ttl="0"/></port>
</ports></host>
<host><status state="down" reason="no-response"/><address addr="10.0.0.3" addrtype="ipv4"/></host>
</nmaprun>`

func TestReadXML(t *testing.T) {
	a, err := readXML([]byte(nmapSample))
	if err != nil {
		t.Fatal(err)
	}
	want := answer{up: []string{"10.0.0.2"}, open: map[string][]string{"10.0.0.2": {"22", "30080"}}, filtered: map[string]int{"10.0.0.2": 20001}}
	if !a.equal(want) || a.String() != "1 up, 2 open, 20001 filtered" {
		t.Errorf("read %v (%s), want %v", a, a, want)
	}
	other := want
	other.filtered = map[string]int{"10.0.0.2": 20000}
	if a.equal(other) {
		t.Errorf("a filtered count that differs compares equal")
	}
	if _, err := readXML([]byte("<nmaprun><host><status state='up'/></host></nmaprun>")); err == nil {
		t.Errorf("a host without an address was read")
	}
}
