package scan

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// offline is a resolver that never leaves the machine: every query fails
// at once, so parsing tests cannot hang on DNS.
var offline = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
	return nil, errors.New("offline")
}}

func addrs(ts []Target) string {
	var s []string
	for _, t := range ts {
		s = append(s, t.Addr.String())
	}
	return strings.Join(s, " ")
}

func TestParseTargets(t *testing.T) {
	tests := []struct {
		name  string
		specs []string
		opt   TargetOptions
		want  string
	}{
		{"ipv4", []string{"10.0.0.1"}, TargetOptions{}, "10.0.0.1"},
		{"ipv6", []string{"2001:db8::1"}, TargetOptions{}, "2001:db8::1"},
		{"mapped ipv6 is ipv4", []string{"::ffff:10.0.0.1"}, TargetOptions{}, "10.0.0.1"},
		{"cidr", []string{"10.0.0.0/30"}, TargetOptions{}, "10.0.0.0 10.0.0.1 10.0.0.2 10.0.0.3"},
		{"cidr host bits masked", []string{"10.0.0.7/30"}, TargetOptions{}, "10.0.0.4 10.0.0.5 10.0.0.6 10.0.0.7"},
		{"cidr /32", []string{"10.0.0.7/32"}, TargetOptions{}, "10.0.0.7"},
		{"ipv6 cidr", []string{"2001:db8::/127"}, TargetOptions{}, "2001:db8:: 2001:db8::1"},
		{"last octet range", []string{"10.0.0.1-3"}, TargetOptions{}, "10.0.0.1 10.0.0.2 10.0.0.3"},
		{"inner octet range", []string{"10.0.0-2.1"}, TargetOptions{}, "10.0.0.1 10.0.1.1 10.0.2.1"},
		{"octet list", []string{"10.0.0.1,3,5-6"}, TargetOptions{}, "10.0.0.1 10.0.0.3 10.0.0.5 10.0.0.6"},
		{"open octet ranges", []string{"10.0.0.-2", "10.0.1.254-"}, TargetOptions{}, "10.0.0.0 10.0.0.1 10.0.0.2 10.0.1.254 10.0.1.255"},
		{"star", []string{"10.0.0.*"}, TargetOptions{MaxHosts: 256}, ""},
		{"address range", []string{"10.0.0.254-10.0.1.1"}, TargetOptions{}, "10.0.0.254 10.0.0.255 10.0.1.0 10.0.1.1"},
		{"duplicates once", []string{"10.0.0.1", "10.0.0.0/31", "10.0.0.1-2"}, TargetOptions{}, "10.0.0.1 10.0.0.0 10.0.0.2"},
		{"exclude", []string{"10.0.0.0/29"}, TargetOptions{Exclude: []string{"10.0.0.0,10.0.0.4-7"}}, "10.0.0.1 10.0.0.2 10.0.0.3"},
		{"exclude block", []string{"10.0.0.0/29"}, TargetOptions{Exclude: []string{"10.0.0.0/30"}}, "10.0.0.4 10.0.0.5 10.0.0.6 10.0.0.7"},
		{"localhost by name", []string{"localhost"}, TargetOptions{First: true}, "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTargets(t.Context(), tt.specs, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "star" {
				if len(got) != 256 || got[0].Addr != netip.MustParseAddr("10.0.0.0") || got[255].Addr != netip.MustParseAddr("10.0.0.255") {
					t.Fatalf("10.0.0.*: %d addresses from %v to %v", len(got), got[0].Addr, got[len(got)-1].Addr)
				}
				return
			}
			if a := addrs(got); a != tt.want {
				t.Errorf("got %s, want %s", a, tt.want)
			}
		})
	}
}

func TestParseTargetsName(t *testing.T) {
	got, err := ParseTargets(t.Context(), []string{"localhost"}, TargetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[0].Name != "localhost" || !got[0].Addr.IsLoopback() {
		t.Fatalf("localhost: %+v", got)
	}
	if got[0].Host() != "localhost" {
		t.Errorf("Host() = %q", got[0].Host())
	}
}

func TestParseTargetsErrors(t *testing.T) {
	tests := []struct {
		spec     string
		opt      TargetOptions
		wantPart string // the token the message must point at
		wantErr  error
	}{
		{"10.0.0.300", TargetOptions{}, `"300"`, nil},
		{"10.0.0", TargetOptions{}, "3 parts", nil},
		{"10.0.0.1-300", TargetOptions{}, `"1-300"`, nil},
		{"10.0.0.9-3", TargetOptions{}, "ends before", nil},
		{"10.0.0.0/33", TargetOptions{}, `"/33"`, nil},
		{"10.0.0.0/x", TargetOptions{}, `"/x"`, nil},
		{"10.0.0.x/24", TargetOptions{}, `"10.0.0.x"`, nil},
		{"10.0.0.0/8", TargetOptions{}, "--max-hosts", ErrTooManyHosts},
		{"10.0.0.0/23", TargetOptions{MaxHosts: 256}, "--max-hosts", ErrTooManyHosts},
		{"10.0.*.*", TargetOptions{MaxHosts: 1000}, "--max-hosts", ErrTooManyHosts},
		{"2001:db8::/64", TargetOptions{MaxHosts: -1}, "more addresses", ErrTooManyHosts},
		{"10.0.0.9-10.0.0.1", TargetOptions{}, "ends before", nil},
		{"10.0.0.1-2001:db8::1", TargetOptions{}, "mixes", nil},
		{"bad!.example", TargetOptions{}, `"bad!"`, nil},
		{"no-such-host.invalid", TargetOptions{Resolver: offline}, "no-such-host.invalid", nil},
		{"2001:db8::zz", TargetOptions{}, "IPv6", nil},
		{"", TargetOptions{}, "empty", nil},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			_, err := ParseTargets(t.Context(), []string{tt.spec}, tt.opt)
			if err == nil {
				t.Fatal("accepted")
			}
			var te *TargetError
			if !errors.As(err, &te) {
				t.Fatalf("%v is not a *TargetError", err)
			}
			if !strings.Contains(err.Error(), tt.wantPart) {
				t.Errorf("error %q does not point at %s", err, tt.wantPart)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q is not %v", err, tt.wantErr)
			}
		})
	}
}

func TestParseTargetsMaxHostsBothSides(t *testing.T) {
	if got, err := ParseTargets(t.Context(), []string{"10.0.0.0/24"}, TargetOptions{MaxHosts: 256}); err != nil || len(got) != 256 {
		t.Fatalf("256 addresses at a limit of 256: %d, %v", len(got), err)
	}
	if _, err := ParseTargets(t.Context(), []string{"10.0.0.0/24", "10.0.1.0"}, TargetOptions{MaxHosts: 256}); !errors.Is(err, ErrTooManyHosts) {
		t.Fatalf("257 addresses at a limit of 256: %v", err)
	}
	if got, err := ParseTargets(t.Context(), []string{"10.0.0.0/16"}, TargetOptions{}); err != nil || len(got) != DefaultMaxHosts {
		t.Fatalf("a /16 at the default limit: %d, %v", len(got), err)
	}
}

func FuzzParseTargets(f *testing.F) {
	for _, s := range []string{"10.0.0.1", "10.0.0.0/24", "10.0.0-3.1", "10.0.0.1,3,5-7", "2001:db8::/120", "10.0.0.1-10.0.0.9", "host.example", "10.0.*.1", "1.2.3.4/0", "-", "1-2.3.4.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTargets(context.Background(), []string{s}, TargetOptions{MaxHosts: 1024, Resolver: offline})
		if err != nil {
			var te *TargetError
			if !errors.As(err, &te) {
				t.Fatalf("%q: error %v is not a *TargetError", s, err)
			}
			return
		}
		if len(got) > 1024 {
			t.Fatalf("%q: %d addresses past the limit", s, len(got))
		}
		seen := map[netip.Addr]bool{}
		for _, x := range got {
			if !x.Addr.IsValid() || seen[x.Addr] || x.Addr.Is4In6() {
				t.Fatalf("%q: bad or repeated address %v", s, x.Addr)
			}
			seen[x.Addr] = true
		}
	})
}
