package msg

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/netkit/netkit/internal/msg/envelope"
)

// Metrics are the message service's Prometheus collectors. A nil
// *Metrics records nothing.
type Metrics struct {
	messages *prometheus.CounterVec
	refusedC *prometheus.CounterVec
	reg      prometheus.Registerer
	// counters caches the series by label pair, so that the path of
	// every message does no label hashing.
	counters sync.Map // string -> prometheus.Counter
}

func (m *Metrics) counter(vec *prometheus.CounterVec, kind, a, b string) prometheus.Counter {
	key := kind + "\x00" + a + "\x00" + b
	if c, ok := m.counters.Load(key); ok {
		return c.(prometheus.Counter)
	}
	c := vec.WithLabelValues(a, b)
	m.counters.Store(key, c)
	return c
}

// NewMetrics creates the collectors and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "netkit", Subsystem: "msg", Name: "messages_total",
			Help: "Messages answered, by transport and type.",
		}, []string{"transport", "type"}),
		refusedC: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "netkit", Subsystem: "msg", Name: "refused_total",
			Help: "Messages refused, by transport and reason (over UDP, none of these but bad_envelope is answered).",
		}, []string{"transport", "reason"}),
		reg: reg,
	}
	reg.MustRegister(m.messages, m.refusedC)
	return m
}

func (m *Metrics) message(transport string, t envelope.Type) {
	if m != nil {
		m.counter(m.messages, "m", transport, string(t)).Inc()
	}
}

func (m *Metrics) refused(transport, reason string) {
	if m != nil {
		m.counter(m.refusedC, "r", transport, reason).Inc()
	}
}

// watch adds gauges that read s.
func (m *Metrics) watch(s *Server) {
	if m == nil {
		return
	}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "netkit", Subsystem: "msg", Name: "replay_ids",
			Help: "Message ids held by the replay window.",
		}, func() float64 { return float64(s.replay.len()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "netkit", Subsystem: "msg", Name: "subscribers",
			Help: "Clients that receive broadcasts (WebSocket connections and UDP clients within their handshake TTL).",
		}, func() float64 { ws, udp := s.subs.counts(); return float64(ws + udp) }),
	)
}
