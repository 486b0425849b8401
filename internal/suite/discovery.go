package suite

import (
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/netkit/netkit/internal/certs"
	"github.com/netkit/netkit/internal/discovery"
	"github.com/netkit/netkit/internal/msg/envelope"
)

// Advertise starts announcing g's servers over mDNS (DNS-SD
// _netkit._tcp) on the interfaces they listen on: every interface for a
// server on 0.0.0.0 or ::, the ones holding its address otherwise, none
// for a server on loopback only. It returns the function that stops it,
// to run before the servers shut down (it says goodbye), or nil.
func Advertise(g *Group, env *Env) func() {
	eps := g.Endpoints()
	var binds []netip.Addr
	ports := map[string]int{}
	for _, ep := range eps {
		ap, err := netip.ParseAddrPort(ep.Addr)
		if err != nil {
			continue
		}
		binds = append(binds, ap.Addr().Unmap())
		if _, ok := ports[ep.Service]; !ok {
			ports[ep.Service] = int(ap.Port())
		}
	}
	if len(binds) == 0 {
		return nil
	}
	only := func(a netip.Addr) bool {
		for _, b := range binds {
			if b.IsUnspecified() || b == a {
				return true
			}
		}
		return false
	}
	in := Instance(env, ports)
	adv := &discovery.Advertiser{Instance: in, Only: only, Logger: env.logger()}
	if err := adv.Start(); err != nil {
		env.logger().Warn("discovery: not advertising", "err", err)
		return nil
	}
	return func() { adv.Close() }
}

// Instance is what netkit advertises for servers on ports (by service
// name), signed with the message key when there is one.
func Instance(env *Env, ports map[string]int) discovery.Instance {
	host, _ := os.Hostname()
	host = strings.TrimSuffix(strings.Split(host, ".")[0], ".")
	if host == "" {
		host = "netkit"
	}
	name := host
	port := ports["web"]
	if port == 0 {
		port = ports["msg"]
	}
	if p := ports["web"]; p != 0 && p != 7700 {
		name += "-" + strconv.Itoa(p)
	}
	names := make([]string, 0, len(ports))
	txt := map[string]string{"txtvers": "1", "name": name, "version": Version}
	for n, p := range ports {
		names = append(names, n)
		txt[n] = strconv.Itoa(p)
	}
	slices.Sort(names)
	txt["services"] = strings.Join(names, ",")
	if env.TLS != nil && len(env.TLS.Certificates) > 0 && len(env.TLS.Certificates[0].Certificate) > 0 {
		txt["tls"] = certs.Fingerprint(env.TLS.Certificates[0].Certificate[0])
	}
	if env.Msg.Box != nil {
		txt["pub"] = envelope.EncodeKey(env.Msg.Box.Public)
	}
	if env.Msg.Keys != nil {
		discovery.Sign(txt, env.Msg.Keys.Keys()[0])
	}
	return discovery.Instance{Name: name, Host: host + ".local.", Port: port, TXT: txt}
}
