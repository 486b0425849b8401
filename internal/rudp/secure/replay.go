package secure

// WindowSize is how far below the highest accepted nonce a nonce may be
// and still be accepted, if it was not before: 8128. Reordering deeper
// than this drops frames as replays.
const WindowSize = (ringBlocks - 1) * blockBits

// The window is a ring of 64-bit blocks, one bit per nonce, in the manner
// of RFC 6479 and WireGuard: sliding it forward clears whole blocks, so a
// jump costs at most one pass over the ring, and a check is one bit test.
// The block of the highest nonce also holds the nonces above it, so the
// history below the highest is one block shorter than the ring.
const (
	blockBits  = 64
	ringBlocks = 128
)

// A ReplayWindow remembers which nonces of one direction have been
// accepted, so that a frame replayed by an attacker, or duplicated by the
// network, is opened only once. It accepts each nonce once, in any order,
// as long as it is no more than WindowSize below the highest accepted; a
// nonce older than that is refused, since the window can no longer tell
// whether it was seen.
//
// The zero value is an empty window, ready to use. A ReplayWindow is 1 KiB
// of state and not safe for concurrent use.
type ReplayWindow struct {
	top  uint64 // the highest nonce accepted, 0 before any
	ring [ringBlocks]uint64
}

// Check reports whether Accept would accept n now: n is at most MaxNonce,
// not too old, and not accepted before. It records nothing, so it can
// drop a replay before paying for Open.
func (w *ReplayWindow) Check(n uint64) bool {
	switch {
	case n > MaxNonce:
		return false
	case n > w.top:
		return true
	case w.top-n > WindowSize:
		return false
	}
	return w.ring[n/blockBits%ringBlocks]&(1<<(n%blockBits)) == 0
}

// Accept records n and reports whether it was new: false if it was
// accepted before, is too old to tell, or is above MaxNonce. Call it only
// once Open has authenticated the frame, so that forged frames cannot
// move the window and make genuine ones look old.
func (w *ReplayWindow) Accept(n uint64) bool {
	switch {
	case n > MaxNonce:
		return false
	case n > w.top:
		// Clear the blocks the window slides onto, at most the whole ring.
		cur := w.top / blockBits
		diff := min(n/blockBits-cur, ringBlocks)
		for i := cur + 1; i <= cur+diff; i++ {
			w.ring[i%ringBlocks] = 0
		}
		w.top = n
	case w.top-n > WindowSize:
		return false
	}
	block, bit := &w.ring[n/blockBits%ringBlocks], uint64(1)<<(n%blockBits)
	if *block&bit != 0 {
		return false
	}
	*block |= bit
	return true
}
