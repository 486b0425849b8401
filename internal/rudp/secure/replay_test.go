package secure

import "testing"

func TestReplayWindow(t *testing.T) {
	type step struct {
		n    uint64
		want bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"nonce 0 first", []step{{0, true}, {0, false}, {1, true}}},
		{"nonce 0 after others", []step{{5, true}, {0, true}, {0, false}}},
		{"in order", []step{{1, true}, {2, true}, {3, true}, {4, true}}},
		{"duplicate refused", []step{{1, true}, {2, true}, {2, false}, {1, false}, {3, true}}},
		{"out of order within window", []step{{10, true}, {7, true}, {9, true}, {8, true}, {7, false}, {11, true}}},
		{"across blocks", []step{{63, true}, {64, true}, {65, true}, {62, true}, {64, false}, {63, false}}},
		{"oldest in window", []step{{WindowSize + 100, true}, {100, true}, {100, false}}},
		{"too old", []step{{WindowSize + 100, true}, {99, false}, {0, false}}},
		{"big jump forward", []step{{1, true}, {1 << 40, true}, {1, false}, {1<<40 - 1, true}, {1 << 40, false}, {1<<40 + 1, true}}},
		{"jump of exactly the ring", []step{{5, true}, {5 + ringBlocks*blockBits, true}, {5, false}, {5 + ringBlocks*blockBits, false}}},
		{"jump just inside the window", []step{{70, true}, {70 + WindowSize, true}, {70, false}, {71, true}, {69, false}}},
		{"slide clears reused blocks", []step{
			// Fill a block, slide the window past it, then use the same ring
			// slot again for a new block: its bits must have been cleared.
			{0, true}, {1, true}, {2, true},
			{ringBlocks * blockBits, true},
			{ringBlocks*blockBits + 1, true}, {ringBlocks*blockBits + 2, true},
			{ringBlocks*blockBits + 1, false},
		}},
		{"largest nonce", []step{{MaxNonce, true}, {MaxNonce, false}, {MaxNonce - 1, true}, {MaxNonce - WindowSize - 1, false}}},
		{"reserved nonce", []step{{MaxNonce + 1, false}, {0, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w ReplayWindow
			for i, s := range tt.steps {
				if got := w.Check(s.n); got != s.want {
					t.Errorf("step %d: Check(%d) = %v, want %v", i, s.n, got, s.want)
				}
				if got := w.Accept(s.n); got != s.want {
					t.Errorf("step %d: Accept(%d) = %v, want %v", i, s.n, got, s.want)
				}
			}
		})
	}
}

// TestReplayWindowCheckRecordsNothing checks that Check leaves the window
// as it was.
func TestReplayWindowCheckRecordsNothing(t *testing.T) {
	var w ReplayWindow
	w.Accept(10)
	for _, n := range []uint64{3, 10, 11, 1 << 50} {
		w.Check(n)
	}
	for _, n := range []uint64{3, 11, 1 << 50} {
		if !w.Accept(n) {
			t.Errorf("Accept(%d) = false after only Check(%d)", n, n)
		}
	}
}

func TestReplayWindowAllocs(t *testing.T) {
	var w ReplayWindow
	var n uint64
	allocs := testing.AllocsPerRun(100, func() {
		n += 1000
		w.Check(n)
		w.Accept(n)
	})
	if allocs != 0 {
		t.Errorf("allocations = %v, want 0", allocs)
	}
}

func BenchmarkReplayWindow(b *testing.B) {
	var w ReplayWindow
	var n uint64
	for b.Loop() {
		// Mostly in order, with a frame reordered every eighth.
		n++
		if n%8 == 0 {
			w.Accept(n + 1)
			w.Accept(n)
			n++
			continue
		}
		w.Accept(n)
	}
}
