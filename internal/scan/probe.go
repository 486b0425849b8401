package scan

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/time/rate"
)

// testBudget, when set by a test, replaces the descriptor budget, so that
// the test can make the loops run out of descriptors.
var testBudget int

// probe runs the event loops over targets × ports, calling each with every
// result from this goroutine, then after (when set and the scan was not
// stopped) with the open TCP results, for the banner pass.
func (s *Scanner) probe(ctx context.Context, targets []Target, ports []Port, st *Stats, each func(Result) bool, after func([]Result) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t := s.Timing.withDefaults()
	var budget int
	if testBudget > 0 {
		budget = testBudget
	} else {
		budget = min(t.MaxParallel, fdBudget())
	}
	st.FDLimit = max(st.FDLimit, budget)
	n := min(s.loops(), len(ports), budget)
	n = max(n, 1)
	var lim *rate.Limiter
	if s.Rate > 0 {
		lim = rate.NewLimiter(rate.Limit(s.Rate), max(1, int(s.Rate/100)))
	}
	// Ports go out in random order, as nmap sends them: a firewall's
	// dropped range then does not stall the window before any answer has
	// measured the round trip, and no run favours one end of the range.
	ports = slices.Clone(ports)
	rand.Shuffle(len(ports), func(i, j int) { ports[i], ports[j] = ports[j], ports[i] })
	out := make(chan []Result, 4*n)
	// Batches go back to the loops once read: 4n in the channel and one
	// being filled by each loop is all there ever is.
	free := make(chan []Result, 5*n+1)
	bestTry := make([]atomic.Uint32, len(targets))
	loops := make([]*loop, n)
	var wg sync.WaitGroup
	for i := range n {
		var mine []Port
		for j := i; j < len(ports); j += n {
			mine = append(mine, ports[j])
		}
		share := budget / n
		if i < budget%n {
			share++
		}
		loops[i] = newLoop(t, targets, mine, max(share, 1), lim, out, free, bestTry)
		wg.Add(1)
		go func(l *loop) {
			defer wg.Done()
			l.run(ctx)
		}(loops[i])
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	stopped := false
	var opens []Result
	for batch := range out {
		for _, r := range batch {
			if stopped {
				break
			}
			if after != nil && r.State == Open && r.Proto == TCP {
				opens = append(opens, r)
			}
			if !each(r) {
				stopped = true
				cancel()
			}
		}
		clear(batch) // no strings kept alive by a batch waiting for reuse
		select {
		case free <- batch:
		default:
		}
	}
	var firstErr error
	for _, l := range loops {
		st.Probes += l.probes
		st.Retries += l.retries
		st.LocalWait += l.localWait
		if l.err != nil && firstErr == nil {
			firstErr = l.err
		}
	}
	if firstErr != nil {
		return firstErr
	}
	if !stopped && after != nil {
		// Even after a cancel: the open ports found so far are yielded,
		// without banners, so nothing found is lost.
		after(opens)
	}
	return ctx.Err()
}
