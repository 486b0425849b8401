package rps

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/netkit/netkit/internal/rps/game"
)

// Metrics counts games and waiting players for Prometheus. A nil
// *Metrics counts nothing.
type Metrics struct {
	started   prometheus.Counter
	finishedC prometheus.Counter
	forfeited *prometheus.CounterVec
	waitingG  prometheus.Gauge
	playing   prometheus.Gauge
}

// NewMetrics registers the game metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		started:   prometheus.NewCounter(prometheus.CounterOpts{Name: "netkit_rps_games_started_total", Help: "Rock-paper-scissors games started."}),
		finishedC: prometheus.NewCounter(prometheus.CounterOpts{Name: "netkit_rps_games_finished_total", Help: "Rock-paper-scissors games ended, played out or forfeited."}),
		forfeited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "netkit_rps_games_forfeited_total", Help: "Rock-paper-scissors games ended by forfeit, by reason."}, []string{"reason"}),
		waitingG:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "netkit_rps_players_waiting", Help: "Players waiting for an opponent or a free game."}),
		playing:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "netkit_rps_games_in_play", Help: "Rock-paper-scissors games in play."}),
	}
	for _, r := range []game.Reason{game.Disconnected, game.Timeout, game.Quit} {
		m.forfeited.WithLabelValues(string(r))
	}
	reg.MustRegister(m.started, m.finishedC, m.forfeited, m.waitingG, m.playing)
	return m
}

func (m *Metrics) isNil() bool { return m == nil }

func (m *Metrics) startedGame() {
	if !m.isNil() {
		m.started.Inc()
		m.playing.Inc()
	}
}

func (m *Metrics) finished(why game.Reason) {
	if m.isNil() {
		return
	}
	m.finishedC.Inc()
	m.playing.Dec()
	if why != game.NoForfeit {
		m.forfeited.WithLabelValues(string(why)).Inc()
	}
}

func (m *Metrics) waiting(n int) {
	if !m.isNil() {
		m.waitingG.Set(float64(n))
	}
}
