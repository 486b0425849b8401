package discovery

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/miekg/dns"

	"github.com/netkit/netkit/internal/fernet"
)

func testInstance(k *fernet.Key) *Instance {
	in := &Instance{Name: "lab pc.1", Host: "lab-pc.local.", Port: 7700, TXT: map[string]string{"txtvers": "1", "version": "0.1.0", "services": "msg,web", "web": "7700", "msg": "7742"}}
	if k != nil {
		Sign(in.TXT, k)
	}
	return in
}

func TestResponseRoundTrip(t *testing.T) {
	k, _ := fernet.GenerateKey()
	in := testInstance(k)
	addrs := []netip.Addr{netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("fe80::1")}
	b, err := Response(in, addrs, DefaultTTL, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := ParseResponse(b)
	if err != nil || len(svcs) != 1 {
		t.Fatalf("%v %+v", err, svcs)
	}
	s := svcs[0]
	if s.Name != in.Name || s.Host != in.Host || s.Port != 7700 || len(s.Addrs) != 2 || s.MsgPort() != 7742 {
		t.Errorf("got %+v", s)
	}
	if got := s.Addr().String(); got != "192.0.2.7:7700" {
		t.Errorf("Addr %s", got)
	}
	if v := Verify(s.TXT, []*fernet.Key{k}); v != Verified {
		t.Errorf("own key: %v", v)
	}
	other, _ := fernet.GenerateKey()
	if v := Verify(s.TXT, []*fernet.Key{other}); v != Unverified {
		t.Errorf("other key: %v", v)
	}
	if v := Verify(s.TXT, nil); v != Unverified {
		t.Errorf("no key: %v", v)
	}
	// A changed entry breaks the MAC.
	s.TXT["web"] = "8000"
	if v := Verify(s.TXT, []*fernet.Key{k}); v != Unverified {
		t.Errorf("tampered: %v", v)
	}
	if v := Verify(testInstance(nil).TXT, []*fernet.Key{k}); v != Unsigned {
		t.Errorf("unsigned: %v", v)
	}
}

func TestMatches(t *testing.T) {
	in := testInstance(nil)
	tests := []struct {
		name        string
		qtype       uint16
		qu          bool
		match, want bool
	}{
		{ServiceType, dns.TypePTR, false, true, false},
		{ServiceType, dns.TypePTR, true, true, true},
		{"_NETKIT._tcp.local.", dns.TypeANY, false, true, false},
		{servicesEnum, dns.TypePTR, false, true, false},
		{in.FQDN(), dns.TypeSRV, false, true, false},
		{in.Host, dns.TypeA, false, true, false},
		{"_http._tcp.local.", dns.TypePTR, false, false, false},
		{ServiceType, dns.TypeA, false, false, false},
	}
	for _, tt := range tests {
		m := new(dns.Msg)
		m.SetQuestion(tt.name, tt.qtype)
		if tt.qu {
			m.Question[0].Qclass |= 1 << 15
		}
		match, qu := Matches(m, in)
		if match != tt.match || qu != tt.want {
			t.Errorf("%s %d: match %v qu %v", tt.name, tt.qtype, match, qu)
		}
	}
	q, _ := Query(false)
	var m dns.Msg
	if m.Unpack(q) != nil {
		t.Fatal("Query does not unpack")
	}
	if ok, _ := Matches(&m, in); !ok {
		t.Error("Query does not match")
	}
	if _, err := ParseResponse(q); err != ErrNotResponse {
		t.Errorf("a query as a response: %v", err)
	}
}

// TestZeroconfResponse: an answer of python-zeroconf 0.47 (Debian), with
// an NSEC record that miekg/dns alone refuses, is read.
func TestZeroconfResponse(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "zeroconf-response.bin"))
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := ParseResponse(b)
	if err != nil || len(svcs) != 1 || svcs[0].Name != "pyzc" || svcs[0].Port != 7799 || len(svcs[0].Addrs) != 1 {
		t.Fatalf("%v %+v", err, svcs)
	}
}

func TestTruncatedResponse(t *testing.T) {
	b, _ := Response(testInstance(nil), []netip.Addr{netip.MustParseAddr("192.0.2.1")}, DefaultTTL, 0, nil)
	for i := range len(b) {
		svcs, _ := ParseResponse(b[:i])
		if len(svcs) != 0 {
			t.Fatalf("prefix %d gave %+v", i, svcs)
		}
	}
}

func TestLabelEscapes(t *testing.T) {
	for _, name := range []string{"plain", "with space", "dot.ted", `back\slash`} {
		in := &Instance{Name: name, Host: "h.local.", Port: 1, TXT: map[string]string{}}
		b, err := Response(in, []netip.Addr{netip.MustParseAddr("192.0.2.1")}, 1, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		svcs, _ := ParseResponse(b)
		if len(svcs) != 1 || svcs[0].Name != name {
			t.Errorf("%q: %+v", name, svcs)
		}
	}
}

func FuzzParseResponse(f *testing.F) {
	k, _ := fernet.GenerateKey()
	b, _ := Response(testInstance(k), []netip.Addr{netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("2001:db8::1")}, DefaultTTL, 7, nil)
	f.Add(b)
	if zc, err := os.ReadFile(filepath.Join("testdata", "zeroconf-response.bin")); err == nil {
		f.Add(zc)
	}
	q, _ := Query(true)
	f.Add(q)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		svcs, err := ParseResponse(b)
		if err != nil {
			return
		}
		for _, s := range svcs {
			if s.TTL != 0 && len(s.Addrs) == 0 {
				t.Fatalf("an instance with no address: %+v", s)
			}
			Verify(s.TXT, []*fernet.Key{k})
			_ = s.Addr()
		}
	})
}
