package suite

import (
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
)

// TestEndpointsAreKeys checks that every service names its endpoints by
// the keys --only, --except and --port accept, and that a port addr leaves
// out ("") is not started.
func TestEndpointsAreKeys(t *testing.T) {
	env := NewEnv(nil)
	env.DataDir = t.TempDir()
	keys := Keys()
	for _, s := range Services {
		var g Group
		if err := s.Build(&g, env, func(string) string { return "127.0.0.1:0" }); err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		var got []string
		for _, ep := range g.Endpoints() {
			if !slices.Contains(keys, ep.Service) {
				t.Errorf("%s names an endpoint %q, which is no key (%v)", s.Name, ep.Service, keys)
			}
			if !slices.Contains(got, ep.Service) {
				got = append(got, ep.Service)
			}
		}
		g.Close()
		if len(got) == 0 {
			continue // not started in this environment (msg without a key)
		}
		for _, p := range s.Ports {
			if !slices.Contains(got, s.Key(p)) {
				t.Errorf("%s: port %s is not in the table as %q (%v)", s.Name, p.Name, s.Key(p), got)
			}
		}
		if len(s.Ports) < 2 {
			continue
		}
		// Leave the first port out: the others still start.
		g = Group{}
		skip := s.Ports[0].Name
		if err := s.Build(&g, env, func(p string) string {
			if p == skip {
				return ""
			}
			return "127.0.0.1:0"
		}); err != nil {
			t.Fatalf("%s without %s: %v", s.Name, skip, err)
		}
		for _, ep := range g.Endpoints() {
			if ep.Service == s.Key(s.Ports[0]) {
				t.Errorf("%s: %s started although left out", s.Name, skip)
			}
		}
		g.Close()
	}
}

func TestParseKeys(t *testing.T) {
	got, err := ParseKeys("echo, daytime,,sntp,echo")
	if err != nil || strings.Join(got, ",") != "echo,daytime,sntp" {
		t.Errorf("ParseKeys = %q, %v", got, err)
	}
	if _, err := ParseKeys("nope"); err == nil || !strings.Contains(err.Error(), "daytime") {
		t.Errorf("unknown key: %v (want the list of keys)", err)
	}
}

func TestInUseError(t *testing.T) {
	l, err := ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = ListenTCP(l.Addr().String())
	var ie *InUseError
	if !errors.As(err, &ie) || ie.Port() != strings.TrimPrefix(l.Addr().String(), "127.0.0.1:") {
		t.Fatalf("second listen: %v, want an InUseError", err)
	}
	if _, port, _ := net.SplitHostPort(l.Addr().String()); ie.Port() != port {
		t.Errorf("Port() = %q, want %q", ie.Port(), port)
	}
}
