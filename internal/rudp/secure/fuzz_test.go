package secure

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

// FuzzRespond feeds Respond arbitrary message 1s: it must never panic, and
// must reject anything but a genuine Hello with ErrAuth or ErrMalformed.
func FuzzRespond(f *testing.F) {
	_, genuine := hello(f, pskA, prologue, []byte("name.txt"))
	_, empty := hello(f, pskA, prologue, nil)
	_, other := hello(f, pskB, prologue, []byte("name.txt"))
	f.Add(genuine)
	f.Add(empty)
	f.Add(other)
	f.Add(genuine[:HandshakeOverhead-1])
	f.Add(genuine[:HandshakeOverhead])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, msg1 []byte) {
		payload, msg2, k, err := Respond(pskA, prologue, msg1, []byte("reply"), nil)
		if err != nil {
			if !errors.Is(err, ErrAuth) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("Respond error = %v, want ErrAuth or ErrMalformed", err)
			}
			if payload != nil || msg2 != nil || k != nil {
				t.Fatal("Respond returned results with its error")
			}
			return
		}
		// Only a Hello made with pskA gets this far.
		if len(msg2) != HandshakeOverhead+len("reply") || k == nil || len(payload) != len(msg1)-HandshakeOverhead {
			t.Fatalf("Respond = %d-byte payload, %d-byte msg2, keys %v", len(payload), len(msg2), k)
		}
	})
}

// FuzzReplayWindow checks ReplayWindow against a reference that remembers
// every nonce in a map. The input is a starting nonce and a list of
// moves, three bytes each, that keep most nonces near the top of the
// window, where its bitmap is at work.
func FuzzReplayWindow(f *testing.F) {
	f.Add(uint64(0), []byte{0, 0, 1, 0, 0, 2, 1, 0, 1, 3, 0, 0})
	f.Add(uint64(1000), []byte{2, 0, 9, 1, 0x1f, 0xc0, 1, 0x1f, 0xc1, 3, 0, 1})
	f.Add(uint64(math.MaxUint64-10), []byte{0, 0, 3, 0, 0, 20, 1, 0, 5})
	f.Fuzz(func(t *testing.T, start uint64, moves []byte) {
		var w ReplayWindow
		ref := reference{seen: map[uint64]bool{}}
		var history []uint64
		n := start
		for len(moves) >= 3 {
			op, arg := moves[0], uint64(binary.BigEndian.Uint16(moves[1:3]))
			moves = moves[3:]
			switch op % 4 {
			case 0: // a little ahead of the top
				n = addSat(ref.top, arg%128)
			case 1: // below the top: within the window, or just past it
				n = ref.top - min(arg, ref.top)
			case 2: // a jump ahead
				n = addSat(ref.top, arg*97)
			case 3: // a nonce seen before
				if len(history) > 0 {
					n = history[int(arg)%len(history)]
				}
			}
			want := ref.accept(n)
			if got := w.Check(n); got != want {
				t.Fatalf("Check(%d) = %v, reference says %v (top %d)", n, got, want, ref.top)
			}
			if got := w.Accept(n); got != want {
				t.Fatalf("Accept(%d) = %v, reference says %v (top %d)", n, got, want, ref.top)
			}
			history = append(history, n)
		}
	})
}

// reference is the obvious replay window: a map of every nonce accepted.
type reference struct {
	seen map[uint64]bool
	top  uint64
}

func (r *reference) accept(n uint64) bool {
	if n > MaxNonce || r.seen[n] || n < r.top && r.top-n > WindowSize {
		return false
	}
	r.seen[n] = true
	r.top = max(r.top, n)
	return true
}

func addSat(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}
