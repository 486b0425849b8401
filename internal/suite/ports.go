package suite

import (
	"fmt"
	"net"
	"slices"
	"strings"
)

// Key is the name the address table, `netkit serve --only/--except` and
// `--port KEY=PORT` give port p of s: the service's own name for its
// "listen" port, else the port's name ("daytime", "rfc868", "sntp").
// A Build function names its Group entries by these keys.
func (s Service) Key(p Port) string {
	if p.Name == "listen" {
		return s.Name
	}
	return p.Name
}

// Keys lists the key of every port of every service, in table order.
func Keys() []string {
	var keys []string
	for _, s := range Services {
		for _, p := range s.Ports {
			keys = append(keys, s.Key(p))
		}
	}
	return keys
}

// LookupKey returns the service and the port a key names.
func LookupKey(key string) (Service, Port, bool) {
	for _, s := range Services {
		for _, p := range s.Ports {
			if s.Key(p) == key {
				return s, p, true
			}
		}
	}
	return Service{}, Port{}, false
}

// ParseKeys splits a comma-separated list of keys (service names, or the
// names of single ports such as daytime), checking each.
func ParseKeys(s string) ([]string, error) {
	var keys []string
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		if _, _, ok := LookupKey(k); !ok {
			return nil, fmt.Errorf("unknown service %q (services: %s)", k, strings.Join(Keys(), ", "))
		}
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// InUseError is a listen that failed because the address is taken.
type InUseError struct {
	Proto string // "tcp" or "udp"
	Addr  string // as asked
	Err   error
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("%s %s is already in use: stop what holds it or pick another address: %v", e.Proto, e.Addr, e.Err)
}

func (e *InUseError) Unwrap() error { return e.Err }

// Port returns the port number of the address, as a string.
func (e *InUseError) Port() string {
	_, port, err := net.SplitHostPort(e.Addr)
	if err != nil {
		return e.Addr
	}
	return port
}
