//go:build !race

package rps

// stackBudget is the stack a connected player may cost, in bytes: one
// 4 KiB stack, with room for the writers running at the moment.
const stackBudget = 6 << 10
