package benchproc

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code int
		msg  string
	}{
		{"success", nil, 0, ""},
		{"help", flag.ErrHelp, 0, ""},
		{"usage", Usagef("-n %d: want 1 or more", 0), 2, "prog: -n 0: want 1 or more (see 'prog -h')\n"},
		{"usage wrapping", UsageError{Err: errors.New("flag provided but not defined: -x")}, 2, "prog: flag provided but not defined: -x (see 'prog -h')\n"},
		{"goal missed", ErrGoalMissed, 3, ""},
		{"goal missed, wrapped", fmt.Errorf("prog: %w", ErrGoalMissed), 3, "prog: prog: goal missed\n"},
		{"other", errors.New("server exited"), 1, "prog: server exited\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			if got := exitCode("prog", tt.err, &out); got != tt.code {
				t.Errorf("exitCode = %d, want %d", got, tt.code)
			}
			if got := out.String(); got != tt.msg {
				t.Errorf("wrote %q, want %q", got, tt.msg)
			}
		})
	}
}
