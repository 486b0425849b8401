package suite

import (
	"crypto/tls"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/netkit/netkit/internal/fernet"
	"github.com/netkit/netkit/internal/msg"
	"github.com/netkit/netkit/internal/msg/envelope"
	"github.com/netkit/netkit/internal/service"
	"github.com/netkit/netkit/internal/web"
)

// MsgConfig configures the encrypted message service, shared by its UDP
// port and the web service's /api routes.
type MsgConfig struct {
	// Keys are the shared Fernet keys; without them (and without Box)
	// the msg service is not started and the API answers 503.
	Keys *fernet.Fernet
	// Box, when set, also takes envelopes sealed to its public key.
	Box *envelope.KeyPair
	// TTL and UDPClientTTL: see msg.Server.
	TTL, UDPClientTTL time.Duration
	// MaxReplay bounds the replay window.
	MaxReplay int
	// Required makes a missing key an error rather than a reason to
	// leave the msg service out (set when it was asked for by name).
	Required bool
}

func (c MsgConfig) hasKey() bool { return c.Keys != nil || c.Box != nil }

// MsgService is the encrypted message service over UDP; the same
// messages go over HTTP and WebSocket on the web service.
var MsgService = Service{
	Name: "msg", Summary: "encrypted JSON messages (Fernet) over UDP; over HTTP and WebSocket at /api/v1 on the web port",
	Ports: []Port{{Name: "listen", Proto: "udp", Default: 7742, Usage: "UDP address"}},
	Build: buildMsg,
}

// MsgServer returns the message server every transport of this Env
// shares, creating it on first use; nil without a key.
func (env *Env) MsgServer(g *Group) *msg.Server {
	if !env.Msg.hasKey() {
		return nil
	}
	if env.msg == nil {
		env.msg = &msg.Server{
			Keys: env.Msg.Keys, Box: env.Msg.Box, Version: Version,
			TTL: env.Msg.TTL, UDPClientTTL: env.Msg.UDPClientTTL, MaxReplay: env.Msg.MaxReplay,
			Logger: env.logger().With("service", "msg"), Metrics: msg.NewMetrics(env.Registry),
			Info: func() msg.Info { return msgInfo(g) },
		}
	}
	return env.msg
}

// msgInfo is what a handshake tells of the transports, from the group's
// endpoints.
func msgInfo(g *Group) msg.Info {
	in := msg.Info{Ports: map[string]int{}}
	for _, ep := range g.Endpoints() {
		_, p, _ := net.SplitHostPort(ep.Addr)
		port, _ := strconv.Atoi(p)
		switch {
		case ep.Service == "web":
			in.Ports["web"] = port
			in.Transports = append(in.Transports, "http", "ws")
			if ep.Proto == "https" {
				in.Transports = append(in.Transports, "tls")
			}
		case ep.Service == "msg":
			in.Ports["msg"] = port
			in.Transports = append(in.Transports, "udp")
		}
	}
	return in
}

func buildMsg(g *Group, env *Env, addr func(string) string) error {
	if !env.Msg.hasKey() {
		if env.Msg.Required {
			return msg.ErrNoKey
		}
		env.logger().Warn("msg service not started: " + msg.ErrNoKey.Error())
		return nil
	}
	pc, err := ListenUDP(addr("listen"))
	if err != nil {
		return err
	}
	// Room for bursts: a full receive buffer drops datagrams unseen.
	if uc, ok := pc.(*net.UDPConn); ok {
		uc.SetReadBuffer(4 << 20)
		uc.SetWriteBuffer(4 << 20)
	}
	s := env.MsgServer(g)
	// Only a holder of the key can make the server answer (nothing else
	// is answered), so there is no per-address rate limit: it would only
	// cap the honest clients behind one NAT address.
	// Batches of msg.UDPBatch datagrams per system call: a busy port
	// answers a recvmmsg's worth with one sendmmsg.
	ps := &service.PacketServer{Name: "msg", Handler: s.PacketHandler(pc), MaxPacket: msg.MaxUDPPacket, Rate: -1, Batch: msg.UDPBatch, Logger: env.logger(), Metrics: env.Metrics}
	g.UDP("msg", ps, pc)
	return nil
}

// mountMsg adds the message API to the web service: the real one with a
// key, else routes that say how to set one.
func (env *Env) mountMsg(g *Group, srv *web.Server) {
	if s := env.MsgServer(g); s != nil {
		s.Mount(srv.Handle)
		return
	}
	noKey := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "error: "+msg.ErrNoKey.Error(), http.StatusServiceUnavailable)
	})
	srv.Handle("POST "+msg.PathMessages, noKey)
	srv.Handle("GET "+msg.PathWS, noKey)
}

// ServicesDefault is the default address, on 127.0.0.1, of the named
// service's main port.
func ServicesDefault(name string) string {
	s, _ := Lookup(name)
	return s.DefaultAddr("127.0.0.1", "listen")
}

// webTLS is the TLS configuration of the web service: the suite's, offering
// HTTP/2 by ALPN (net/http speaks it on a TLS listener only when asked to).
func webTLS(cfg *tls.Config) *tls.Config {
	if cfg == nil {
		return nil
	}
	cfg = cfg.Clone()
	cfg.NextProtos = []string{"h2", "http/1.1"}
	return cfg
}
