package cli

import (
	"flag"

	"github.com/netkit/netkit/internal/suite"
)

// udpServeExtras adds the udp service's secret to a serve command, under
// the flag name (secret for netkit udp serve, udp-secret for netkit
// serve).
func udpServeExtras(name string) serveExtras {
	var secret string
	return serveExtras{
		register: func(fs *flag.FlagSet) {
			fs.StringVar(&secret, name, "", "udp service: accept only senders holding this `PASSPHRASE`, every frame encrypted (default $NETKIT_SECRET)")
		},
		setup: func(env *suite.Env) error {
			env.UDPSecret = secretOr(secret)
			return nil
		},
	}
}
