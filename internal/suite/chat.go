package suite

import (
	"context"
	"time"

	"golang.org/x/time/rate"

	"github.com/netkit/netkit/internal/chat"
)

// ChatConfig configures the chat room shared by every chat transport.
type ChatConfig struct {
	// AdminToken lets a remote client become admin with /auth; empty
	// disables remote admin.
	AdminToken string
	// Rate and Burst bound each client's lines (defaults in package chat).
	Rate  rate.Limit
	Burst int
	// History is how many messages a newcomer is shown.
	History int
	// NATS, when set, is the URL of the NATS server through which this
	// instance shares the room with others.
	NATS string
}

// ChatService is the multi-user chat over TCP (TLS with --tls).
var ChatService = Service{
	Name: "chat", Summary: "multi-user chat room, line protocol usable with nc",
	Ports: []Port{{Name: "listen", Proto: "tcp", Default: 7710, Usage: "chat TCP address"}},
	Build: buildChat,
}

// ChatHub returns the room every chat transport of this Env shares,
// creating it on first use.
func (env *Env) ChatHub() *chat.Hub {
	if env.hub == nil {
		env.hub = chat.NewHub(chat.HubConfig{History: env.Chat.History, Logger: env.logger().With("service", "chat")})
	}
	return env.hub
}

// chatHandler returns the chat protocol handler for env's room and
// settings, one shared by the TCP service and the web service's
// WebSocket, so that the bounds on guessing the admin token hold across
// both.
func (env *Env) chatHandler() *chat.Handler {
	if env.chatH == nil {
		env.chatH = &chat.Handler{Hub: env.ChatHub(), AdminToken: env.Chat.AdminToken, Rate: env.Chat.Rate, Burst: env.Chat.Burst}
	}
	return env.chatH
}

func buildChat(g *Group, env *Env, addr func(string) string) error {
	l, err := ListenTCP(addr("listen"))
	if err != nil {
		return err
	}
	hub := env.ChatHub()
	// Say goodbye and hang up on everyone before the servers stop; with
	// NATS, tell the other instances too, then leave the bus.
	goodbye := hub.Close
	if env.Chat.NATS != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		bus, err := chat.ConnectNATS(ctx, env.Chat.NATS, hub, env.logger().With("service", "chat"))
		if err != nil {
			l.Close()
			return err
		}
		goodbye = func() {
			hub.Close()
			bus.Close()
		}
	}
	g.TCP("chat", env.tcpProto(), env.tcpServer("chat", env.chatHandler()), l)
	g.BeforeShutdown(goodbye)
	return nil
}
