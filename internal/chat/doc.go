// Package chat is netkit's multi-user chat: one room (Hub) that every
// transport shares, the line protocol spoken over TCP and TLS (usable by
// hand with nc), and the admin console.
//
// The line protocol: the server greets with one line asking for a
// nickname; the client's first line is its nickname, answered by an
// "error: ..." line and a new prompt until one is accepted, then by a
// "*** welcome" line with who is here, and the recent history. Every other
// line is a message to everyone, or a command: /who, /me ACTION, /msg NICK
// TEXT, /nick NEW, /quit, /help, and for admins /kick, /ban, /unban, /bans (remote
// admins first send /auth TOKEN). What the server sends:
//
//	<alice> hello                     a message
//	* alice waves                     an action
//	[private] <alice> to bob: hi      a private message (to both ends)
//	*** bob joined                    joins, leaves, kicks, nick changes
//	*** bob left (quit)
//	*** bob was kicked by admin (spam)
//	*** joined: bob, carol, dave      in a big room, joins and leaves that
//	*** left (quit): bob, carol       come in a burst, together
//	error: nickname is taken: "bob"   something you did failed
//
// A batch of joins or leaves names everyone in it, over as many lines of
// at most MaxListLine as it takes; someone who joins and leaves within
// one batch is announced joining, then leaving, and nobody is heard from
// before their join is announced. Over WebSocket a batch is one "join" or
// "leave" event with the names in "users" instead of "nick".
//
// Every member has a bounded queue and at most one writer goroutine, which
// runs while there is something to write: a member that does not read is
// dropped, and never slows anyone else, and an idle member costs no
// goroutine but its reader. In a big room the writers start in rounds,
// so that a member sent several events in a moment gets them in one
// write.
//
// Where things are: hub.go holds the Hub and its Member; members.go
// joining, leaving, renaming and who is here; deliver.go the queueing of
// events and the write rounds; batch.go the batching of joins and leaves;
// moderation.go kicks and bans; bus.go and nats.go the link to other
// instances, remote.go the checks on what comes from them; nick.go what a
// nickname may be; proto.go the line protocol's parsing and cleaning,
// event.go its events; tcp.go and ws.go the two transports, auth.go the
// admin token's guard, console.go the console.
package chat
