// Package rps is netkit's rock-paper-scissors server, player against
// player: the Lobby that pairs players (in arrival order, or two who name
// the same room), keeps names unique and resume tokens, and runs each
// game with its move timeout and reconnect grace; the line protocol
// (proto.go, pure Parse and Append functions); the TCP transport
// (Handler, on the service runtime) and the WebSocket one (WSHandler,
// same lines, one message each way); the standings with Glicko-2
// ratings; and Player, the client side, which netkit rps, the tests and
// the benchmark play with. The rules themselves are in package game.
//
// The protocol, line by line (docs/rps.md has a whole game):
//
//	welcome rps first-to 3: ...             greeting; send your name
//	welcome alice token 0ff738ec44074a83    joined; the token resumes
//	waiting 1: ...                          players waiting, you included
//	waiting room blue42                     waiting for a friend
//	matched bob first-to 3                  the game begins
//	round 1 move: ...                       your move, please
//	round 1 chose rock: ...                 yours is in
//	result 1 rock scissors win: ...         the round: yours, theirs, outcome
//	score 1 0                               yours, theirs
//	game paused bob 15 / game resumed bob   the opponent dropped / came back
//	game over bob win 3 1 [forfeit REASON]  the end; then the server hangs up
//	top 1 alice 1662 3 0 0                  /top: rank, name, rating, won, lost, forfeited
//	error ...                               refused, or a limit hit
//
// Concurrency: each connection has one reader goroutine, which carries
// out the player's lines, and a bounded outbox whose writer goroutine
// runs only while there is something to write, so a client that does not
// read is dropped and never slows its opponent. The Lobby's mutex guards
// the queue, rooms, names and tokens; each match has its own, and locks
// are never held across network I/O. Timers (time.AfterFunc) carry the
// move timeout and the grace.
package rps
