//go:build race

package rps

// stackBudget is the stack a connected player may cost, in bytes: the
// race detector's instrumentation makes every stack 8 KiB from the
// greeting on, so this catches only a growth to 16.
const stackBudget = 12 << 10
