package msg

import (
	"encoding/hex"
	"sync"
	"time"
)

// DefaultReplayEntries bounds the replay window. An entry costs about 40
// bytes in its map (a 16-byte id and the map's own overhead), so the
// default holds the ids of 10,000 messages a second for a 5-minute TTL in
// about 120 MiB at most, and of 5,000 a second, the default is never
// reached.
const DefaultReplayEntries = 3 << 20

// replayWindow remembers the ids of the messages accepted within the TTL
// (plus the clock skew allowed), in bounded memory. Ids sit in buckets by
// the time their message was made; a bucket older than the window is
// dropped whole, so forgetting costs nothing per id. When the window
// holds max ids, new messages are refused (ErrBusy) until old ones
// expire: evicting instead would let an attacker flush an id and replay
// it. It is safe for concurrent use.
type replayWindow struct {
	mu      sync.Mutex
	span    time.Duration // how long an id is kept
	slot    time.Duration // the time one bucket covers
	max     int
	n       int
	buckets map[int64]map[[16]byte]struct{}
}

func newReplayWindow(span time.Duration, max int) *replayWindow {
	if max <= 0 {
		max = DefaultReplayEntries
	}
	slot := span / 16
	if slot < time.Second {
		slot = time.Second
	}
	return &replayWindow{span: span, slot: slot, max: max, buckets: make(map[int64]map[[16]byte]struct{})}
}

// check records id, made at made, and reports whether it was new; full
// is true when it was refused for want of room.
func (w *replayWindow) check(idHex string, made, now time.Time) (fresh, full bool) {
	var id [16]byte
	if n, err := hex.Decode(id[:], []byte(idHex)); err != nil || n != 16 {
		return false, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.expire(now)
	for _, b := range w.buckets {
		if _, seen := b[id]; seen {
			return false, false
		}
	}
	if w.n >= w.max {
		return false, true
	}
	slot := made.UnixNano() / int64(w.slot)
	b := w.buckets[slot]
	if b == nil {
		b = make(map[[16]byte]struct{})
		w.buckets[slot] = b
	}
	b[id] = struct{}{}
	w.n++
	return true, false
}

// expire drops the buckets whose every message is older than the span.
func (w *replayWindow) expire(now time.Time) {
	oldest := now.Add(-w.span).UnixNano()/int64(w.slot) - 1
	for slot, b := range w.buckets {
		if slot < oldest {
			w.n -= len(b)
			delete(w.buckets, slot)
		}
	}
}

// len returns the ids held.
func (w *replayWindow) len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}
