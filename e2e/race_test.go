//go:build race

package e2e

// raceEnabled reports whether the tests run with -race, in which case the
// binary under test is built with it too.
const raceEnabled = true
