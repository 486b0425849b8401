//go:build linux

package udpio

import (
	"fmt"
	"testing"
)

// BenchmarkLoopbackGROSlots weighs the number of 64 KiB read slots with
// GRO on, against senders with GSO and without.
func BenchmarkLoopbackGROSlots(b *testing.B) {
	defer func(n int) { groSlots = n }(groSlots)
	for _, slots := range []int{8, 16, 32, 64} {
		groSlots = slots
		b.Run(fmt.Sprintf("slots=%d/GSO", slots), func(b *testing.B) { benchConns(b, Options{}, Options{}) })
		b.Run(fmt.Sprintf("slots=%d/noGSO", slots), func(b *testing.B) { benchConns(b, Options{DisableOffload: true}, Options{}) })
	}
}
