package rps

import (
	"cmp"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"sync"

	"github.com/netkit/netkit/internal/rps/game"
	"github.com/netkit/netkit/internal/rps/rating"
)

// DefaultMaxStandings bounds the names the standings remember.
const DefaultMaxStandings = 100_000

// Record is one finished game, as the standings take it.
type Record struct {
	Winner, Loser string
	// Forfeit is why the loser lost early, or game.NoForfeit.
	Forfeit game.Reason
	// Both: both forfeited (neither moved in time); Winner and Loser are
	// then just the two players.
	Both bool
}

// Standing is one name's record and rating.
type Standing struct {
	Name      string  `json:"name"`
	Rating    float64 `json:"rating"`
	Deviation float64 `json:"rd"`
	Won       int     `json:"won"`
	Lost      int     `json:"lost"`
	Forfeited int     `json:"forfeited"`
	r         rating.Rating
}

func (st Standing) event(rank int) *Event {
	return &Event{Kind: KindTop, Rank: rank, Name: st.Name, Rating: int(math.Round(st.Rating)), Won: st.Won, Lost: st.Lost, Forfeits: st.Forfeited}
}

// Standings are the games won, lost and forfeited and the Glicko-2
// rating of every name, for the life of the server. Every finished game
// is a rating period of its own, as on lichess. Lost counts games played
// to their end; Forfeited those lost by forfeit. Safe for concurrent use.
type Standings struct {
	max int
	mu  sync.Mutex
	m   map[string]*Standing
}

// NewStandings returns empty standings remembering at most max names
// (DefaultMaxStandings if max <= 0); games of names past it are not
// recorded.
func NewStandings(max int) *Standings {
	if max <= 0 {
		max = DefaultMaxStandings
	}
	return &Standings{max: max, m: map[string]*Standing{}}
}

func (s *Standings) get(name string) *Standing {
	k := foldName(name)
	st := s.m[k]
	if st == nil && len(s.m) < s.max {
		r := rating.New()
		st = &Standing{Name: name, Rating: r.Rating, Deviation: r.Deviation, r: r}
		s.m[k] = st
	}
	if st != nil {
		st.Name = name
	}
	return st
}

// Record adds one game.
func (s *Standings) Record(rec Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, l := s.get(rec.Winner), s.get(rec.Loser)
	if w == nil || l == nil {
		return
	}
	switch {
	case rec.Both:
		w.Forfeited++
		l.Forfeited++
		return
	case rec.Forfeit != game.NoForfeit:
		l.Forfeited++
	default:
		l.Lost++
	}
	w.Won++
	w.r, l.r = rating.Game(w.r, l.r, 1, 0)
	for _, st := range []*Standing{w, l} {
		st.Rating, st.Deviation = st.r.Rating, st.r.Deviation
	}
}

// Top returns the n best standings, by rating.
func (s *Standings) Top(n int) []Standing {
	s.mu.Lock()
	all := make([]Standing, 0, len(s.m))
	for _, st := range s.m {
		all = append(all, *st)
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b Standing) int {
		if c := cmp.Compare(b.Rating, a.Rating); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	if n >= 0 && len(all) > n {
		all = all[:n]
	}
	return all
}

// ServeHTTP serves the standings as JSON: {"players": [...]}, best first,
// at most 1000.
func (s *Standings) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	top := s.Top(1000)
	for i := range top {
		top[i].Rating = math.Round(top[i].Rating*10) / 10
		top[i].Deviation = math.Round(top[i].Deviation*10) / 10
	}
	json.NewEncoder(w).Encode(struct {
		Players []Standing `json:"players"`
	}{top})
}
