package cli

import (
	"runtime/debug"

	"github.com/netkit/netkit/internal/suite"
)

// version returns the suite version and, when built from a checkout, the
// commit it was built from.
func version() string {
	v := suite.Version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}
