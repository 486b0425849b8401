package scan

import (
	"fmt"
	"time"
)

// Timing is how fast and how patiently a scan probes. The zero value of
// each field means "the Normal preset's value".
type Timing struct {
	// InitialRTT is the timeout of a probe to a host nothing has been
	// measured on yet (nor any other host of the scan).
	InitialRTT time.Duration
	// MinRTT and MaxRTT clamp the timeout computed from round-trip
	// samples: smoothed RTT plus four deviations (RFC 6298).
	MinRTT, MaxRTT time.Duration
	// Retries is how many more times at most a port that stayed silent
	// is probed: as nmap does, a silent port is probed again only up to
	// one try past the latest try that host ever answered, so where no
	// retry has been answered (nothing is lost) silence costs one retry.
	// A refusal or any other answer is final and never retried. -1 means
	// none.
	Retries int
	// InitialWindow is how many probes one host may have in flight at
	// first; the window grows by one for every answer (doubling each round
	// trip, as TCP's slow start) up to MaxWindow, and halves when a retry
	// is answered, which proves that a probe or its answer was lost.
	InitialWindow, MaxWindow int
	// MaxParallel bounds probes in flight over the whole scan; it is
	// further bounded by the open-file limit.
	MaxParallel int
	// ScanDelay is the least time between two probes to one host (the
	// slow presets).
	ScanDelay time.Duration
}

// The presets of -T0 to -T5, named as nmap names them. Their values are
// nmap's where nmap documents one (nmap(1), "Timing and performance"),
// except that the windows are netkit's: it has no raw-socket congestion
// signal to lean on, and its engine is cheap enough to keep thousands of
// connects in flight.
var presets = [6]Timing{
	// T0 paranoid, T1 sneaky: one probe at a time, minutes or seconds apart.
	{InitialRTT: 5 * time.Minute, MinRTT: 100 * time.Millisecond, MaxRTT: 10 * time.Second, Retries: 2, InitialWindow: 1, MaxWindow: 1, MaxParallel: 1, ScanDelay: 5 * time.Minute},
	{InitialRTT: 15 * time.Second, MinRTT: 100 * time.Millisecond, MaxRTT: 10 * time.Second, Retries: 2, InitialWindow: 1, MaxWindow: 1, MaxParallel: 1, ScanDelay: 15 * time.Second},
	// T2 polite: one probe at a time, 0.4 s apart.
	{InitialRTT: time.Second, MinRTT: 100 * time.Millisecond, MaxRTT: 10 * time.Second, Retries: 2, InitialWindow: 1, MaxWindow: 1, MaxParallel: 1, ScanDelay: 400 * time.Millisecond},
	// T3 normal, the default.
	{InitialRTT: time.Second, MinRTT: 100 * time.Millisecond, MaxRTT: 10 * time.Second, Retries: 2, InitialWindow: 32, MaxWindow: 2048, MaxParallel: 4096},
	// T4 aggressive.
	{InitialRTT: 500 * time.Millisecond, MinRTT: 100 * time.Millisecond, MaxRTT: 1250 * time.Millisecond, Retries: 2, InitialWindow: 128, MaxWindow: 4096, MaxParallel: 8192},
	// T5 insane.
	{InitialRTT: 250 * time.Millisecond, MinRTT: 50 * time.Millisecond, MaxRTT: 300 * time.Millisecond, Retries: 2, InitialWindow: 512, MaxWindow: 8192, MaxParallel: 16384},
}

// Normal is the default timing, -T3.
const Normal = 3

// Preset returns the timing of -T0 to -T5.
func Preset(level int) (Timing, error) {
	if level < 0 || level >= len(presets) {
		return Timing{}, fmt.Errorf("scan: timing template %d out of range 0-5", level)
	}
	return presets[level], nil
}

// withDefaults fills the zero fields of t from the Normal preset.
func (t Timing) withDefaults() Timing {
	d := presets[Normal]
	if t.InitialRTT <= 0 {
		t.InitialRTT = d.InitialRTT
	}
	if t.MinRTT <= 0 {
		t.MinRTT = d.MinRTT
	}
	if t.MaxRTT <= 0 {
		t.MaxRTT = d.MaxRTT
	}
	if t.MaxRTT < t.MinRTT {
		t.MaxRTT = t.MinRTT
	}
	if t.InitialRTT > t.MaxRTT {
		t.InitialRTT = t.MaxRTT
	}
	if t.InitialRTT < t.MinRTT {
		t.InitialRTT = t.MinRTT
	}
	switch {
	case t.Retries < 0:
		t.Retries = 0
	case t.Retries == 0:
		t.Retries = d.Retries
	}
	if t.InitialWindow <= 0 {
		t.InitialWindow = d.InitialWindow
	}
	if t.MaxWindow <= 0 {
		t.MaxWindow = d.MaxWindow
	}
	if t.InitialWindow > t.MaxWindow {
		t.InitialWindow = t.MaxWindow
	}
	if t.MaxParallel <= 0 {
		t.MaxParallel = d.MaxParallel
	}
	return t
}

// rttEstimator keeps a smoothed round-trip time and its deviation as RFC
// 6298 does, in nanoseconds.
type rttEstimator struct {
	srtt, rttvar int64
	samples      int
}

func (e *rttEstimator) add(sample int64) {
	if sample <= 0 {
		sample = 1
	}
	if e.samples == 0 {
		e.srtt = sample
		e.rttvar = sample / 2
	} else {
		d := e.srtt - sample
		if d < 0 {
			d = -d
		}
		e.rttvar += (d - e.rttvar) / 4  // beta 1/4
		e.srtt += (sample - e.srtt) / 8 // alpha 1/8
	}
	e.samples++
}

// timeout is srtt + 4 rttvar within [min, max], or initial before any
// sample.
func (e *rttEstimator) timeout(t *Timing) int64 {
	if e.samples == 0 {
		return int64(t.InitialRTT)
	}
	to := e.srtt + 4*e.rttvar
	return min(max(to, int64(t.MinRTT)), int64(t.MaxRTT))
}
