package suite

import (
	"github.com/netkit/netkit/internal/clock"
)

// TimeService is netkit's line time service with the standard time
// protocols beside it. The standard ones stay plain text even under --tls:
// their peers (rdate, ntpdate) cannot speak TLS.
var TimeService = Service{
	Name: "time", Summary: "line time service (TIME, ISO), RFC 867 daytime, RFC 868 time, SNTP",
	Ports: []Port{
		{Name: "listen", Proto: "tcp", Default: 7702, Usage: "line time service"},
		{Name: "daytime", Proto: "tcp", Default: 7713, Usage: "RFC 867 daytime"},
		{Name: "rfc868", Proto: "tcp+udp", Default: 7737, Usage: "RFC 868 time"},
		{Name: "sntp", Proto: "udp", Default: 7723, Usage: "SNTP (RFC 4330)"},
	},
	Build: buildTime,
}

func buildTime(g *Group, env *Env, addr func(string) string) error {
	if a := addr("listen"); a != "" {
		l, err := ListenTCP(a)
		if err != nil {
			return err
		}
		g.TCP("time", env.tcpProto(), env.tcpServer("time", clock.LineHandler{}), l)
	}
	plain := *env
	plain.TLS = nil
	if a := addr("daytime"); a != "" {
		l, err := ListenTCP(a)
		if err != nil {
			return err
		}
		g.TCP("daytime", "tcp", plain.tcpServer("daytime", clock.DaytimeHandler{}), l)
	}
	if a := addr("rfc868"); a != "" {
		l, pc, err := ListenBoth(a)
		if err != nil {
			return err
		}
		g.TCP("rfc868", "tcp", plain.tcpServer("rfc868", clock.RFC868Handler{}), l)
		g.UDP("rfc868", env.packetServer("rfc868", clock.RFC868Handler{}), pc)
	}
	if a := addr("sntp"); a != "" {
		pc, err := ListenUDP(a)
		if err != nil {
			return err
		}
		g.UDP("sntp", env.packetServer("sntp", clock.SNTPHandler{}), pc)
	}
	return nil
}
