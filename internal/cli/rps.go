package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/user"
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

func (f *rpsServerFlags) apply(env *suite.Env) error {
	switch {
	case f.rounds < 1 || f.rounds > 1000:
		return errors.New("--rounds: want a number from 1 to 1000")
	case f.moveTO < 0 || f.grace < 0:
		return errors.New("--move-timeout and --reconnect-grace cannot be negative")
	case f.rate <= 0 || f.burst <= 0:
		return errors.New("--rps-rate and --rps-burst must be positive")
	case f.maxGames == 0 || f.maxWaiting == 0:
		return errors.New("--max-games and --max-waiting must be positive, or -1 for no limit")
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

// The strategies of --auto.
var autoStrategies = []string{"random", "rock", "paper", "scissors", "cycle"}

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
	fs.StringVar(&f.name, "name", "", "your `NAME`, shown to your opponent (default: your login name)")
	fs.StringVar(&f.room, "room", "", "play the friend who gives the same `CODE`, not the next player to come")
	fs.StringVar(&f.resume, "resume", "", "come back to a game after a dropped connection, with the `TOKEN` you were given")
	fs.StringVar(&f.auto, "auto", "", "play by itself: `STRATEGY` random, rock, paper, scissors or cycle")
	fs.BoolVar(&f.json, "json", false, "print each of the server's events as one JSON object a line")
	def := suite.RPSService.DefaultAddr("127.0.0.1", "listen")

	var sf rpsServerFlags
	serve := serviceServeCommand(stdio, "rps", serveExtras{
		register: sf.register,
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
		run: func(ctx context.Context, args []string) error {
			const cmd = "netkit rps"
			addr, err := resolveAddr(firstArg(args), def)
			if err != nil {
				return &UsageError{Cmd: cmd, Err: err}
			}
			if f.auto != "" && !contains(autoStrategies, f.auto) {
				return &UsageError{Cmd: cmd, Err: fmt.Errorf("--auto %q: want one of %s", f.auto, strings.Join(autoStrategies, ", "))}
			}
			if f.name == "" {
				f.name = loginName()
			}
			if f.resume == "" {
				if err := rps.CheckName(f.name); err != nil {
					return &UsageError{Cmd: cmd, Err: fmt.Errorf("--name %q: %v", f.name, strings.TrimPrefix(err.Error(), "rps: "))}
				}
			}
			if f.room != "" {
				if err := rps.CheckRoom(f.room); err != nil {
					return &UsageError{Cmd: cmd, Err: fmt.Errorf("--room %q: 1 to %d letters, digits, '-', '_' or '.'", f.room, rps.MaxRoomLen)}
				}
			}
			return runRPS(ctx, stdio, &f, addr)
		},
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
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

// errConnectionLost is what the client returns when the server went away
// before the game's end: exit status 1.
var errConnectionLost = errors.New("connection lost before the game ended")

// rpsPlayer is the client's side of one game.
type rpsPlayer struct {
	stdio    IO
	f        *rpsFlags
	send     func(string) error
	moves    <-chan string // lines of standard input, without --auto
	n        int           // moves made, for --auto cycle
	opponent string
	asked    bool // a move is wanted and not sent yet
}

func runRPS(ctx context.Context, stdio IO, f *rpsFlags, addr string) error {
	conn, err := f.dial(ctx, addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	r := bufio.NewReaderSize(conn, 1024)
	conn.SetReadDeadline(time.Now().Add(f.timeout))
	greeting, err := r.ReadString('\n')
	if err != nil {
		return fmt.Errorf("no greeting from %s: %w", addr, err)
	}
	if e, err := rps.ParseEvent([]byte(greeting)); err != nil || e.Kind != rps.KindWelcome || e.Target == 0 {
		return fmt.Errorf("%s is not a netkit rps server (it said %q)", addr, strings.TrimSpace(greeting))
	}
	conn.SetReadDeadline(time.Time{})
	p := &rpsPlayer{stdio: stdio, f: f}
	p.send = func(line string) error {
		conn.SetWriteDeadline(time.Now().Add(f.timeout))
		_, err := io.WriteString(conn, line+"\n")
		return err
	}
	if f.auto == "" {
		p.moves = readLines(stdio.Stdin)
	}
	var first []string
	if f.room != "" && f.resume == "" {
		first = append(first, "/room "+f.room)
	}
	if f.resume != "" {
		first = append(first, "/resume "+f.resume)
	} else {
		first = append(first, f.name)
	}
	if err := p.send(strings.Join(first, "\n")); err != nil {
		return fmt.Errorf("connection to %s: %w", addr, err)
	}
	joined := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			p.lost()
			return fmt.Errorf("%s: %w", addr, errConnectionLost)
		}
		e, perr := rps.ParseEvent([]byte(line))
		if perr != nil {
			fmt.Fprintf(stdio.Stderr, "netkit rps: ignoring a line from the server: %q\n", strings.TrimSpace(line))
			continue
		}
		if e.Kind == rps.KindWelcome && e.Token != "" {
			joined = true
		}
		if e.Kind == rps.KindError && !joined {
			// Refused before joining: a name taken, a bad token, the
			// server full. Nothing to play.
			p.show(e)
			return fmt.Errorf("%s refused: %s", addr, e.Text)
		}
		p.show(e)
		if e.Kind == rps.KindGame && e.State == rps.GameOver {
			return nil
		}
		if err := p.react(e); err != nil {
			return err
		}
	}
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

// react answers what the server asks: a move.
func (p *rpsPlayer) react(e rps.Event) error {
	switch {
	case e.Kind == rps.KindMatched:
		p.opponent = e.Opponent
	case e.Kind == rps.KindRound && e.Prompt:
		p.asked = true
	case e.Kind == rps.KindRound:
		p.asked = false
	case e.Kind == rps.KindError && p.asked:
		// The move was refused: another try.
	default:
		return nil
	}
	if !p.asked {
		return nil
	}
	var mv string
	if p.f.auto != "" {
		mv = p.autoMove()
	} else {
		line, ok := <-p.moves
		if !ok {
			fmt.Fprintln(p.stdio.Stderr, "netkit rps: no more moves on standard input; giving up the game")
			mv = "/quit"
		} else {
			mv = line
		}
	}
	if err := p.send(mv); err != nil {
		// The reader sees the connection end and says so.
		return nil
	}
	return nil
}

func (p *rpsPlayer) autoMove() string {
	defer func() { p.n++ }()
	switch p.f.auto {
	case "rock", "paper", "scissors":
		return p.f.auto
	case "cycle":
		return []string{"rock", "paper", "scissors"}[p.n%3]
	}
	return []string{"rock", "paper", "scissors"}[rand.IntN(3)]
}

// show prints e for a person, or as JSON.
func (p *rpsPlayer) show(e rps.Event) {
	w := p.stdio.Stdout
	if p.f.json {
		b, _ := json.Marshal(e)
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	opp := p.opponent
	if opp == "" {
		opp = e.Opponent
	}
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
			line := fmt.Sprintf("Game over: you %s %d:%d against %s", verb, e.Score[0], e.Score[1], e.Opponent)
			if e.Forfeit != "" {
				line += " by forfeit (" + e.Text + ")"
			}
			fmt.Fprintln(w, line+".")
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
func (p *rpsPlayer) lost() {
	if p.f.json {
		fmt.Fprintln(p.stdio.Stdout, `{"type":"lost","text":"connection lost before the game ended"}`)
		return
	}
	fmt.Fprintln(p.stdio.Stdout, "Connection lost before the game ended.")
}
