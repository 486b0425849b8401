package scan

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func portsText(ps []Port) string {
	var s []string
	for _, p := range ps {
		s = append(s, fmt.Sprintf("%s:%d", strings.ToUpper(p.Proto.String()[:1]), p.Number))
	}
	return strings.Join(s, ",")
}

func TestParsePorts(t *testing.T) {
	tests := []struct {
		spec string
		udp  bool
		want string
	}{
		{"22", false, "T:22"},
		{"22,80", false, "T:22,T:80"},
		{"1000-1003", false, "T:1000,T:1001,T:1002,T:1003"},
		{"80,22,80", false, "T:80,T:22"},
		{"-3", false, "T:1,T:2,T:3"},
		{"65534-", false, "T:65534,T:65535"},
		{"53", true, "U:53"},
		{"U:53,T:80,443", true, "U:53,T:80,T:443"},
		{"T:80,U:53,123", true, "T:80,U:53,U:123"},
		{"U:53,T:53", true, "U:53,T:53"},
		{" 22 , 80 ", false, "T:22,T:80"},
		{"ssh", false, "T:22"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := ParsePorts(tt.spec, tt.udp)
			if err != nil {
				t.Fatal(err)
			}
			if s := portsText(got); s != tt.want {
				t.Errorf("got %s, want %s", s, tt.want)
			}
		})
	}
	all, err := ParsePorts("-", false)
	if err != nil || len(all) != 65535 || all[0].Number != 1 || all[65534].Number != 65535 {
		t.Fatalf("-: %d ports, %v", len(all), err)
	}
}

func TestParsePortsErrors(t *testing.T) {
	tests := []struct {
		spec, wantPart string
		udp            bool
		wantErr        error
	}{
		{"", "empty", false, nil},
		{"22,,80", "empty", false, nil},
		{"0", `"0"`, false, nil},
		{"65536", `"65536"`, false, nil},
		{"22,8o", `"8o"`, false, nil},
		{"90-80", `"90-80"`, false, nil},
		{"1-70000", `"1-70000"`, false, nil},
		{"U:53", `"U:53"`, false, ErrUDPPrefix},
		{"nosuchservice", `"nosuchservice"`, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			_, err := ParsePorts(tt.spec, tt.udp)
			var pe *PortError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a *PortError", err)
			}
			if !strings.Contains(err.Error(), tt.wantPart) {
				t.Errorf("%q does not point at %s", err, tt.wantPart)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("%q is not %v", err, tt.wantErr)
			}
		})
	}
}

func TestTop(t *testing.T) {
	top := Top(DefaultTop, TCP)
	if len(top) != 1000 {
		t.Fatalf("top TCP: %d ports", len(top))
	}
	if top[0].Number != 80 {
		t.Errorf("most common TCP port %d, want 80", top[0].Number)
	}
	seen := map[uint16]bool{}
	for _, p := range top {
		if seen[p.Number] || p.Number == 0 || p.Proto != TCP {
			t.Fatalf("top TCP: bad or repeated %v", p)
		}
		seen[p.Number] = true
	}
	for _, want := range []uint16{22, 443, 3389} {
		if !seen[want] {
			t.Errorf("top 1000 TCP lacks %d", want)
		}
	}
	if u := Top(10, UDP); len(u) != 10 || u[0].Proto != UDP {
		t.Errorf("top 10 UDP: %v", u)
	}
	if n := len(Top(5000, TCP)); n != 1000 {
		t.Errorf("Top(5000) gave %d, want the 1000 kept", n)
	}
}

func TestParseServices(t *testing.T) {
	names, ports := map[Port]string{}, map[string]uint16{}
	parseServices([]byte("# comment\nssh\t\t22/tcp\t# SSH\nhttp 80/tcp www # WWW\ndomain 53/udp\nbad x/tcp\nddp 2/ddp\n"), names, ports)
	if names[Port{22, TCP}] != "ssh" || names[Port{80, TCP}] != "http" || names[Port{53, UDP}] != "domain" {
		t.Errorf("names: %v", names)
	}
	if ports["www"] != 80 || ports["ssh"] != 22 {
		t.Errorf("ports: %v", ports)
	}
	if len(names) != 3 {
		t.Errorf("bad lines were read: %v", names)
	}
}

func TestServiceName(t *testing.T) {
	if n := ServiceName(Port{22, TCP}); n != "ssh" {
		t.Errorf("22/tcp is %q", n)
	}
	// Not in /etc/services but in netkit's list (from nmap-services).
	if n := ServiceName(Port{3389, TCP}); n == "" {
		t.Errorf("3389/tcp has no name")
	}
}

func FuzzParsePorts(f *testing.F) {
	for _, s := range []string{"22", "1-1024", "-", "U:53,T:80", "-100", "60000-", "http,ssh", "1,,2", "T:", "U:1-2,T:3-"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, udp bool) {
		got, err := ParsePorts(s, udp)
		if err != nil {
			var pe *PortError
			if !errors.As(err, &pe) {
				t.Fatalf("%q: %v is not a *PortError", s, err)
			}
			return
		}
		seen := map[Port]bool{}
		for _, p := range got {
			if p.Number == 0 || seen[p] || (!udp && p.Proto == UDP) {
				t.Fatalf("%q: bad port %v", s, p)
			}
			seen[p] = true
		}
	})
}
