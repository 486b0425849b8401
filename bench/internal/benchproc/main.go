package benchproc

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// ErrGoalMissed means a benchmark ran to the end but missed a goal; Main
// exits with status 3 for it. Its message has no package prefix: Main
// writes errors prefixed with the program's name.
var ErrGoalMissed = errors.New("goal missed")

// UsageError is a mistake on the command line; Main exits with status 2
// for it and points to -h.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError saying fmt.Errorf(format, a...).
func Usagef(format string, a ...any) error {
	return UsageError{fmt.Errorf(format, a...)}
}

// Main is the whole of a benchmark program's main function: it calls run
// with the command line and a context that ends on SIGINT or SIGTERM, then
// exits with the status run's error calls for, writing the error to
// standard error prefixed with name, the program's name:
//
//   - 0 for none, or for flag.ErrHelp (-h: the flag set has already
//     written the usage);
//   - 2 for a UsageError, with a pointer to name -h;
//   - 3 for ErrGoalMissed, which is not written, since the report has said
//     which goal was missed; an error wrapping it is written;
//   - 1 for anything else.
func Main(name string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(name, err, os.Stderr))
}

// exitCode returns the exit status for err and writes err to stderr as
// Main says.
func exitCode(name string, err error, stderr io.Writer) int {
	var ue UsageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s: %v (see '%s -h')\n", name, err, name)
		return 2
	case err == ErrGoalMissed:
		return 3
	case errors.Is(err, ErrGoalMissed):
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 3
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return 1
}
