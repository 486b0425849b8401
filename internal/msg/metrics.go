package msg

import (
	"maps"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/netkit/netkit/internal/msg/envelope"
)

// Metrics are the message service's Prometheus collectors. A nil
// *Metrics records nothing.
type Metrics struct {
	messages *prometheus.CounterVec
	refusedC *prometheus.CounterVec
	reg      prometheus.Registerer
	// series caches the counters by label pair, so that the path of
	// every message does no label hashing and no allocation: a map
	// replaced whole when a pair is added (the pairs are few: transports
	// by types and by reasons), read without a lock.
	series atomic.Pointer[map[seriesKey]prometheus.Counter]
	mu     sync.Mutex // serialises additions to series
}

type seriesKey struct {
	refused bool
	a, b    string
}

func (m *Metrics) counter(vec *prometheus.CounterVec, refused bool, a, b string) prometheus.Counter {
	k := seriesKey{refused, a, b}
	if cur := m.series.Load(); cur != nil {
		if c, ok := (*cur)[k]; ok {
			return c
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.series.Load()
	if cur != nil {
		if c, ok := (*cur)[k]; ok {
			return c
		}
	}
	next := make(map[seriesKey]prometheus.Counter)
	if cur != nil {
		maps.Copy(next, *cur)
	}
	c := vec.WithLabelValues(a, b)
	next[k] = c
	m.series.Store(&next)
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
		m.counter(m.messages, false, transport, string(t)).Inc()
	}
}

func (m *Metrics) refused(transport, reason string) {
	if m != nil {
		m.counter(m.refusedC, true, transport, reason).Inc()
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
