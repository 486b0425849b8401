// Package rating is the Glicko-2 rating system, as lichess rates its
// players: Mark E. Glickman, "Example of the Glicko-2 system" (Boston
// University, 2012, http://www.glicko.net/glicko/glicko2.pdf). Each Rating
// carries a rating, a rating deviation (how sure it is) and a volatility
// (how erratic the player is). Update applies one rating period's results;
// netkit's server, like lichess, treats each game as a period of its own.
package rating

import "math"

// Defaults, from the paper and lichess.
const (
	DefaultRating     = 1500.0
	DefaultDeviation  = 350.0
	DefaultVolatility = 0.06
	// DefaultTau constrains the change of volatility over time; the
	// paper suggests 0.3 to 1.2, lichess uses 0.75.
	DefaultTau = 0.75
	// scale converts between the Glicko and the Glicko-2 scales (step 2).
	scale = 173.7178
	// epsilon is the convergence tolerance of step 5.
	epsilon = 0.000001
)

// Rating is one player's Glicko-2 rating on the Glicko scale.
type Rating struct {
	Rating     float64 `json:"rating"`
	Deviation  float64 `json:"rd"`
	Volatility float64 `json:"volatility"`
}

// New returns a newcomer's rating: 1500, 350, 0.06.
func New() Rating {
	return Rating{Rating: DefaultRating, Deviation: DefaultDeviation, Volatility: DefaultVolatility}
}

// Result is one game of a rating period against an opponent as rated at
// the start of the period.
type Result struct {
	Opponent Rating
	// Score is 1 for a win, 0.5 for a draw, 0 for a loss.
	Score float64
}

func g(phi float64) float64 { return 1 / math.Sqrt(1+3*phi*phi/(math.Pi*math.Pi)) }

func expect(mu, muj, phij float64) float64 { return 1 / (1 + math.Exp(-g(phij)*(mu-muj))) }

// Update returns r after a rating period with results, with system
// constant tau (DefaultTau if zero). A period without games only widens
// the deviation (step 6 of the paper).
func (r Rating) Update(results []Result, tau float64) Rating {
	if tau == 0 {
		tau = DefaultTau
	}
	// Step 2: to the Glicko-2 scale.
	mu := (r.Rating - DefaultRating) / scale
	phi := r.Deviation / scale
	sigma := r.Volatility
	if len(results) == 0 {
		phiStar := math.Sqrt(phi*phi + sigma*sigma)
		return Rating{Rating: r.Rating, Deviation: math.Min(phiStar*scale, DefaultDeviation), Volatility: sigma}
	}
	// Steps 3 and 4: the estimated variance v and improvement delta.
	var vInv, sum float64
	for _, res := range results {
		muj := (res.Opponent.Rating - DefaultRating) / scale
		phij := res.Opponent.Deviation / scale
		gj := g(phij)
		e := expect(mu, muj, phij)
		vInv += gj * gj * e * (1 - e)
		sum += gj * (res.Score - e)
	}
	v := 1 / vInv
	delta := v * sum
	// Step 5: the new volatility, by the Illinois algorithm.
	a := math.Log(sigma * sigma)
	f := func(x float64) float64 {
		ex := math.Exp(x)
		d := phi*phi + v + ex
		return ex*(delta*delta-phi*phi-v-ex)/(2*d*d) - (x-a)/(tau*tau)
	}
	A := a
	var B float64
	if delta*delta > phi*phi+v {
		B = math.Log(delta*delta - phi*phi - v)
	} else {
		k := 1.0
		for f(a-k*tau) < 0 {
			k++
		}
		B = a - k*tau
	}
	fA, fB := f(A), f(B)
	for i := 0; math.Abs(B-A) > epsilon && i < 100; i++ {
		C := A + (A-B)*fA/(fB-fA)
		fC := f(C)
		if fC*fB <= 0 {
			A, fA = B, fB
		} else {
			fA /= 2
		}
		B, fB = C, fC
	}
	sigma2 := math.Exp(A / 2)
	// Steps 6 and 7: the new deviation and rating.
	phiStar := math.Sqrt(phi*phi + sigma2*sigma2)
	phi2 := 1 / math.Sqrt(1/(phiStar*phiStar)+1/v)
	mu2 := mu + phi2*phi2*sum
	// Step 8: back to the Glicko scale.
	return Rating{Rating: mu2*scale + DefaultRating, Deviation: phi2 * scale, Volatility: sigma2}
}

// Game rates one game between a and b, each against the other's rating
// before it; scoreA is a's score (1, 0.5 or 0).
func Game(a, b Rating, scoreA float64, tau float64) (Rating, Rating) {
	return a.Update([]Result{{Opponent: b, Score: scoreA}}, tau), b.Update([]Result{{Opponent: a, Score: 1 - scoreA}}, tau)
}
