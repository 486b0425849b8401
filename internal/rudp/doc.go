// Package rudp is netkit's reliable UDP communicator: text messages and
// files sent over UDP with acknowledgements, retransmission and keep-alive,
// in the legacy stop-and-wait protocol of SEED-PROTOCOL.md, to the byte,
// and in an extended protocol negotiated so that a legacy peer ignores it:
// a sliding window with selective acknowledgements and congestion
// control, transfer ids, SHA-256 per item, resume, and encryption
// (package secure). XSender offers it and falls back to Sender; a
// Receiver runs an Inbox and an XInbox side by side, told apart by the
// frame type.
//
// The package is layered so that each layer can be tested, and later
// replaced, on its own:
//
//   - package wire is the codec: the frame format (drawn in its package
//     comment), Parse and Append, the plan of one transfer, the answers,
//     and file name vetting. Pure functions over []byte.
//   - Sender and Inbox are sans-IO state machines: the sending side of one
//     session, and the receiving side of many at once. They never touch a
//     socket or a clock; a driver feeds them datagrams (Handle) and time
//     (Tick) and sends what the returned Output holds, and arms a timer
//     for its Deadline. Tests drive them with a fake clock and a simulated
//     network.
//   - Store is where received files go: a folder opened as an os.Root,
//     each file written to a hidden temporary file and renamed only once
//     complete. Inbox sees it as a FileStore, so tests inject failures.
//   - Session (and Send, its one-shot form) and Receiver are the socket
//     drivers: a connected UDP socket for a sender, a server in the manner
//     of net/http.Server (Serve, Shutdown, Close) for a receiver. Each runs
//     one goroutine that reads the socket with the state machine's next
//     deadline as read deadline, and allocates nothing per frame.
//
// The legacy protocol carries no transfer or session id: a receiver tells
// senders apart by address alone, and a transfer by its INF frame. Two
// consecutive transfers of the same shape (kind, fragment size, frame
// counts) are told apart by their order: a repeat of an INF is taken for a
// repeat while its transfer is unfinished, and for a new transfer once it
// is complete. A delayed duplicate of the last INF arriving after the end
// of its transfer therefore starts a phantom transfer, which the next INF
// replaces; only if duplicates of all of its DAT frames follow too, which
// takes a single-frame item, is it delivered twice. docs/protocol.md has
// the details, and the extended mode, whose ids remove the ambiguity.
package rudp
