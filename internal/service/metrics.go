package service

import "github.com/prometheus/client_golang/prometheus"

// Metrics holds the Prometheus collectors that servers report to. A nil
// *Metrics is valid and records nothing. One Metrics serves any number of
// servers; each labels its series with its Name.
type Metrics struct {
	accepted *prometheus.CounterVec
	open     *prometheus.GaugeVec
	rejected *prometheus.CounterVec
	bytesIn  *prometheus.CounterVec
	bytesOut *prometheus.CounterVec
	packets  *prometheus.CounterVec
}

// NewMetrics creates the collectors and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "netkit", Name: "connections_accepted_total",
			Help: "Connections accepted, by service.",
		}, []string{"service"}),
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "netkit", Name: "connections_open",
			Help: "Connections open now, by service.",
		}, []string{"service"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "netkit", Name: "rejected_total",
			Help: "Connections or datagrams refused, by service and reason.",
		}, []string{"service", "reason"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "netkit", Name: "received_bytes_total",
			Help: "Bytes received from clients, by service.",
		}, []string{"service"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "netkit", Name: "sent_bytes_total",
			Help: "Bytes sent to clients, by service.",
		}, []string{"service"}),
		packets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "netkit", Name: "datagrams_total",
			Help: "Datagrams received by UDP services, by service.",
		}, []string{"service"}),
	}
	reg.MustRegister(m.accepted, m.open, m.rejected, m.bytesIn, m.bytesOut, m.packets)
	return m
}

// serviceMetrics is one service's curried view of Metrics, resolved once so
// that the per-connection path does no label lookups.
type serviceMetrics struct {
	name     string
	m        *Metrics
	accepted prometheus.Counter
	open     prometheus.Gauge
	bytesIn  prometheus.Counter
	bytesOut prometheus.Counter
	packets  prometheus.Counter
}

func (m *Metrics) forService(name string) *serviceMetrics {
	if m == nil {
		return nil
	}
	return &serviceMetrics{
		name:     name,
		m:        m,
		accepted: m.accepted.WithLabelValues(name),
		open:     m.open.WithLabelValues(name),
		bytesIn:  m.bytesIn.WithLabelValues(name),
		bytesOut: m.bytesOut.WithLabelValues(name),
		packets:  m.packets.WithLabelValues(name),
	}
}

func (sm *serviceMetrics) reject(reason string) {
	if sm != nil {
		sm.m.rejected.WithLabelValues(sm.name, reason).Inc()
	}
}

func (sm *serviceMetrics) connOpened() {
	if sm != nil {
		sm.accepted.Inc()
		sm.open.Inc()
	}
}

func (sm *serviceMetrics) connClosed(in, out int64) {
	if sm != nil {
		sm.open.Dec()
		sm.bytesIn.Add(float64(in))
		sm.bytesOut.Add(float64(out))
	}
}

func (sm *serviceMetrics) packet(in, out int) {
	if sm != nil {
		sm.packets.Inc()
		sm.bytesIn.Add(float64(in))
		sm.bytesOut.Add(float64(out))
	}
}
