// Package chat is netkit's multi-user chat: one room (Hub) that every
// transport shares, the line protocol spoken over TCP and TLS (usable by
// hand with nc), and the admin console.
//
// The line protocol: the server greets with one line asking for a
// nickname; the client's first line is its nickname, answered by an
// "error: ..." line and a new prompt until one is accepted, then by a
// "*** welcome" line with who is here, and the recent history. Every other
// line is a message to everyone, or a command: /who, /me ACTION, /msg NICK
// TEXT, /nick NEW, /quit, /help, and for admins /kick, /ban, /unban (remote
// admins first send /auth TOKEN). What the server sends:
//
//	<alice> hello                     a message
//	* alice waves                     an action
//	[private] <alice> to bob: hi      a private message (to both ends)
//	*** bob joined                    joins, leaves, kicks, nick changes
//	*** bob left (quit)
//	*** bob was kicked by admin (spam)
//	error: nickname is taken: "bob"   something you did failed
//
// Every member has one writer goroutine and a bounded queue: a member that
// does not read is dropped, and never slows anyone else.
package chat
