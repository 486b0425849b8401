// Package msg is netkit's encrypted message service: JSON envelopes
// (package envelope) sealed as Fernet tokens, or as nacl/box tokens to a
// server known by its public key, exchanged over HTTP POST, UDP datagrams
// and WebSocket. Server holds what every transport shares: the keys, the
// replay window, the message handling and the broadcast subscribers; its
// transports are HTTPHandler (the web service's /api routes and
// /api/v1/ws) and PacketHandler (the msg UDP service). Client is the other
// end, for all three.
//
// docs/messages.md is the reference: the envelope, the token formats,
// every error, and an example of each message type.
package msg
