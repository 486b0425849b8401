package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"slices"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/netkit/netkit/internal/rps"
	"github.com/netkit/netkit/internal/suite"
)

// rpsServerFlags are the game's settings, on `netkit serve` and `netkit
// rps serve`.
type rpsServerFlags struct {
	rounds     int
	moveTO     time.Duration
	grace      time.Duration
	maxGames   int
	maxWaiting int
	rate       float64
	burst      int
}

func (f *rpsServerFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.rounds, "rounds", rps.DefaultTarget, "rps: round wins that win a game (first to N)")
	fs.DurationVar(&f.moveTO, "move-timeout", rps.DefaultMoveTimeout, "rps: a player who does not move within this long loses by forfeit")
	fs.DurationVar(&f.grace, "reconnect-grace", rps.DefaultReconnectGrace, "rps: how long a dropped player may come back with its token (0: forfeit at once)")
	fs.IntVar(&f.maxGames, "max-games", rps.DefaultMaxGames, "rps: most games at once; past it players wait (-1: no limit)")
	fs.IntVar(&f.maxWaiting, "max-waiting", rps.DefaultMaxWaiting, "rps: most players waiting for an opponent (-1: no limit)")
	fs.Float64Var(&f.rate, "rps-rate", rps.DefaultRate, "rps: lines per second a player may send after its burst")
	fs.IntVar(&f.burst, "rps-burst", rps.DefaultBurst, "rps: lines a player may send at once")
}

// check refuses settings that cannot work, before anything is bound.
func (f *rpsServerFlags) check() error {
	switch {
	case f.rounds < 1 || f.rounds > 1000:
		return usagef("--rounds %d: want a number from 1 to 1000", f.rounds)
	case f.moveTO < 0:
		return usagef("--move-timeout %s: want a duration like 30s, or 0 for none", f.moveTO)
	case f.grace < 0:
		return usagef("--reconnect-grace %s: want a duration like 15s, or 0 to forfeit at once", f.grace)
	case f.maxGames == 0 || f.maxGames < -1:
		return usagef("--max-games %d: want 1 or more, or -1 for no limit", f.maxGames)
	case f.maxWaiting == 0 || f.maxWaiting < -1:
		return usagef("--max-waiting %d: want 1 or more, or -1 for no limit", f.maxWaiting)
	case f.rate <= 0:
		return usagef("--rps-rate %v: want a positive number of lines a second", f.rate)
	case f.burst <= 0:
		return usagef("--rps-burst %d: want 1 or more", f.burst)
	}
	return nil
}

func (f *rpsServerFlags) apply(env *suite.Env) error {
	if err := f.check(); err != nil {
		return err
	}
	env.RPS = rps.Config{
		Target: f.rounds, MoveTimeout: orNone(f.moveTO), ReconnectGrace: orNone(f.grace),
		MaxGames: f.maxGames, MaxWaiting: f.maxWaiting, Rate: rate.Limit(f.rate), Burst: f.burst,
	}
	return nil
}

// orNone turns a flag's 0 ("none") into the lobby's -1.
func orNone(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

type rpsFlags struct {
	clientFlags
	name   string
	room   string
	resume string
	auto   string
	json   bool
}

func rpsCommand(stdio IO) *command {
	var f rpsFlags
	fs := flag.NewFlagSet("netkit rps", flag.ContinueOnError)
	f.register(fs)
	f.find.register(fs, "rps")
	fs.StringVar(&f.name, "name", "", "your `NAME`, shown to your opponent (default: your login name)")
	fs.StringVar(&f.room, "room", "", "play the friend who gives the same `CODE`, not the next player to come")
	fs.StringVar(&f.resume, "resume", "", "come back to a game after a dropped connection, with the `TOKEN` you were given")
	fs.StringVar(&f.auto, "auto", "", "play by itself: `STRATEGY` random, rock, paper, scissors or cycle")
	fs.BoolVar(&f.json, "json", false, "print each of the server's events as one JSON object a line")
	def := suite.RPSService.DefaultAddr("127.0.0.1", "listen")

	var sf rpsServerFlags
	serve := serviceServeCommand(stdio, "rps", serveExtras{
		register: sf.register,
		check:    sf.check,
		setup:    sf.apply,
	})
	return &command{
		name:    "rps",
		usage:   "rps [HOST:PORT] [--name NAME] [--room CODE] [--auto STRATEGY] [flags]",
		summary: "play rock-paper-scissors against another player",
		help: `
The address defaults to ` + def + `. You are paired with the next player to
come, or with the friend who gives the same --room. Each round, type your
move: rock, paper or scissors (r, p, s), or kamień, papier, nożyce (k, n);
/top shows the best players, /quit gives up. The first to win 3 rounds (or
what the server's --rounds says) wins. Exit status 0 after a finished
game, won or lost; 1 if the connection was lost first.

Examples:
  netkit rps --name alice
  netkit rps 192.168.1.20 --room blue42
  netkit rps --auto random --json
  nc 127.0.0.1 7711               # the same game by hand: see docs/rps.md`,
		flags:    fs,
		maxArgs:  1,
		children: []*command{serve},
		check: func(args []string) error {
			if _, err := resolveAddr(firstArg(args), def); err != nil {
				return usagef("%v", err)
			}
			if err := f.check(fs); err != nil {
				return err
			}
			if f.auto != "" && !slices.Contains(rps.Strategies, f.auto) {
				return usagef("--auto %q: want one of %s", f.auto, strings.Join(rps.Strategies, ", "))
			}
			if f.name == "" {
				f.name = loginName()
			}
			if f.resume == "" {
				if err := rps.CheckName(f.name); err != nil {
					return usagef("--name %q: %v", f.name, strings.TrimPrefix(err.Error(), "rps: "))
				}
			} else if strings.ContainsAny(f.resume, " \t") || len(f.resume) > 64 {
				return usagef("--resume %q: want the token of your welcome line", f.resume)
			}
			if f.room != "" && rps.CheckRoom(f.room) != nil {
				return usagef("--room %q: want 1 to %d letters, digits, '-', '_' or '.'", f.room, rps.MaxRoomLen)
			}
			return nil
		},
		run: func(ctx context.Context, args []string) error {
			addr, _ := resolveAddr(firstArg(args), def)
			addr, err := f.find.target(ctx, stdio, firstArg(args) != "", addr, f.timeout)
			if err != nil {
				return err
			}
			return runRPS(ctx, stdio, &f, addr)
		},
	}
}

func loginName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if n := os.Getenv("USER"); n != "" {
		return n
	}
	return "player"
}

// rpsView prints a game's events for a person, or as JSON.
type rpsView struct {
	stdio    IO
	f        *rpsFlags
	opponent string
}

func runRPS(ctx context.Context, stdio IO, f *rpsFlags, addr string) error {
	conn, err := f.dial(ctx, addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	v := &rpsView{stdio: stdio, f: f}
	p := &rps.Player{Name: f.name, Room: f.room, Resume: f.resume, Auto: f.auto, Timeout: f.timeout, OnEvent: v.show}
	if f.auto == "" {
		p.Moves = readLines(stdio.Stdin)
	}
	_, err = p.Play(ctx, conn)
	switch {
	case err == nil, ctx.Err() != nil:
		return nil
	case errors.Is(err, rps.ErrConnectionLost):
		v.lost()
		return fmt.Errorf("%s: connection lost before the game ended", addr)
	case errors.Is(err, rps.ErrRefused):
		return fmt.Errorf("%s refused: %s", addr, strings.TrimPrefix(err.Error(), rps.ErrRefused.Error()+": "))
	case errors.Is(err, rps.ErrNotRPS):
		var nr *rps.NotRPSError
		if errors.As(err, &nr) && isTLSNotice(nr.Answer) {
			return errPlainOnTLS(addr)
		}
		if nr != nil {
			return errNotServer(addr, "a netkit rps server", nr.Answer)
		}
		return fmt.Errorf("%s is not a netkit rps server", addr)
	}
	return fmt.Errorf("%s: %w", addr, err)
}

// readLines sends the lines of r on the channel it returns, which is
// closed at the end of r.
func readLines(r io.Reader) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		s := bufio.NewScanner(r)
		for s.Scan() {
			ch <- s.Text()
		}
	}()
	return ch
}

// show prints e for a person, or as JSON.
func (p *rpsView) show(e rps.Event) {
	w := p.stdio.Stdout
	if p.f.json {
		b, _ := json.Marshal(e)
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	if e.Kind == rps.KindMatched {
		p.opponent = e.Opponent
	}
	opp := p.opponent
	switch e.Kind {
	case rps.KindWelcome:
		if e.Token != "" {
			fmt.Fprintf(w, "You are %s. If your connection drops, come back with: netkit rps --resume %s\n", e.Name, e.Token)
		}
	case rps.KindWaiting:
		if e.Room != "" {
			fmt.Fprintf(w, "Waiting in room %s for your friend.\n", e.Room)
		} else if e.Waiting <= 1 {
			fmt.Fprintln(w, "Waiting for an opponent: you are the only player waiting.")
		} else {
			fmt.Fprintf(w, "Waiting for an opponent: %d players waiting, you included.\n", e.Waiting)
		}
	case rps.KindMatched:
		if e.Resumed {
			fmt.Fprintf(w, "Back in your game against %s, score %d:%d.\n", e.Opponent, e.Score[0], e.Score[1])
		} else {
			fmt.Fprintf(w, "You play %s; first to %d wins.\n", e.Opponent, e.Target)
		}
	case rps.KindRound:
		switch {
		case e.Prompt && p.f.auto == "":
			fmt.Fprintf(w, "Round %d, your move (rock, paper, scissors / kamień, papier, nożyce): ", e.Round)
		case !e.Prompt:
			fmt.Fprintf(w, "Round %d: you chose %s; waiting for %s.\n", e.Round, e.Mine, opp)
		}
	case rps.KindResult:
		verdict := map[string]string{rps.Win: "you win the round", rps.Lose: "you lose the round", rps.Draw: "a draw"}[e.Outcome]
		fmt.Fprintf(w, "Round %d: your %s, %s's %s: %s.\n", e.Round, e.Mine, opp, e.Theirs, verdict)
	case rps.KindScore:
		fmt.Fprintf(w, "Score: you %d, %s %d.\n", e.Score[0], opp, e.Score[1])
	case rps.KindGame:
		switch e.State {
		case rps.GameOver:
			verb := "won"
			if e.Outcome != rps.Win {
				verb = "lost"
			}
			if e.Forfeit != "" {
				fmt.Fprintf(w, "Game over: %s.\n", e.Text)
			} else {
				fmt.Fprintf(w, "Game over: you %s %d:%d against %s.\n", verb, e.Score[0], e.Score[1], e.Opponent)
			}
		case rps.GamePaused:
			fmt.Fprintf(w, "%s lost the connection; they have %ds to come back.\n", e.Opponent, e.Grace)
		case rps.GameResumed:
			fmt.Fprintf(w, "%s is back.\n", e.Opponent)
		}
	case rps.KindTop:
		if e.Rank == 0 {
			fmt.Fprintln(w, "No game has finished yet.")
		} else {
			fmt.Fprintf(w, "%3d. %-24s %5d  won %d, lost %d, forfeited %d\n", e.Rank, e.Name, e.Rating, e.Won, e.Lost, e.Forfeits)
		}
	case rps.KindHelp:
		fmt.Fprintln(w, e.Text)
	case rps.KindError:
		fmt.Fprintf(p.stdio.Stderr, "netkit rps: %s\n", e.Text)
	}
}

// lost says the connection ended before the game did.
func (p *rpsView) lost() {
	if p.f.json {
		fmt.Fprintln(p.stdio.Stdout, `{"type":"lost","text":"connection lost before the game ended"}`)
		return
	}
	fmt.Fprintln(p.stdio.Stdout, "Connection lost before the game ended.")
}
