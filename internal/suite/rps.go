package suite

import (
	"github.com/netkit/netkit/internal/rps"
	"github.com/netkit/netkit/internal/web"
)

// RPSService is the rock-paper-scissors game server over TCP (TLS with
// --tls); the web service plays in the same lobby at /rps.
var RPSService = Service{
	Name: "rps", Summary: "rock-paper-scissors, player against player, line protocol usable with nc",
	Ports: []Port{{Name: "listen", Proto: "tcp", Default: 7711, Usage: "rps TCP address"}},
	Build: buildRPS,
}

// RPSLobby returns the game lobby every rps transport of this Env shares,
// creating it on first use with env.RPS.
func (env *Env) RPSLobby() *rps.Lobby {
	if env.rps == nil {
		cfg := env.RPS
		cfg.Logger = env.logger().With("service", "rps")
		if env.Registry != nil {
			cfg.Metrics = rps.NewMetrics(env.Registry)
		}
		env.rps = rps.NewLobby(cfg)
	}
	return env.rps
}

func buildRPS(g *Group, env *Env, addr func(string) string) error {
	l, err := ListenTCP(addr("listen"))
	if err != nil {
		return err
	}
	lobby := env.RPSLobby()
	g.TCP("rps", env.tcpProto(), env.tcpServer("rps", &rps.Handler{Lobby: lobby}), l)
	g.BeforeShutdown(lobby.Close)
	return nil
}

// rpsRoutes mounts the game's page, its WebSocket and the standings on
// the web service, in the same lobby as the TCP players.
func (env *Env) rpsRoutes(srv *web.Server) {
	lobby := env.RPSLobby()
	srv.Handle("GET /rps", rps.Page)
	srv.Handle("GET /rps/ws", &rps.WSHandler{Lobby: lobby})
	srv.Handle("GET /rps/standings.json", lobby.Standings())
}
