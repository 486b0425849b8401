package cli

import (
	"bytes"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/netkit/netkit/internal/suite"
)

// TestReadmeTableIsTheSuite checks that README.md's port table lists every
// service netkit serve starts, by the name the address table gives it,
// with its default port, and nothing else.
func TestReadmeTableIsTheSuite(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(readme), "\n## Ports\n")
	table, _, _ = strings.Cut(table, "\n## ")
	row := regexp.MustCompile(`(?m)^\| ([a-z0-9-]+) \| [^|]+ \| (\d+) \|`)
	got := map[string]int{}
	for _, m := range row.FindAllStringSubmatch(table, -1) {
		port, _ := strconv.Atoi(m[2])
		got[m[1]] = port
	}
	for _, k := range suite.Keys() {
		_, p, _ := suite.LookupKey(k)
		switch port, ok := got[k]; {
		case !ok:
			t.Errorf("README's port table has no row for %s (port %d)", k, p.Default)
		case port != p.Default:
			t.Errorf("README's port table gives %s port %d; the suite's default is %d", k, port, p.Default)
		}
		delete(got, k)
	}
	for k := range got {
		t.Errorf("README's port table lists %s, which netkit serve does not start", k)
	}
}

// TestNoStaleHelp checks every help text for sentences that are no longer
// true and for examples given twice.
func TestNoStaleHelp(t *testing.T) {
	stale := []string{"not built yet", "not implemented yet"}
	for _, st := range staleUDPText {
		stale = append(stale, st.old)
	}
	walk(rootCommand(IO{}), "netkit", func(c *command, path string) {
		var b bytes.Buffer
		c.printHelp(&b, path)
		help := b.String()
		for _, s := range stale {
			if strings.Contains(help, s) {
				t.Errorf("%s --help says %q", path, s)
			}
		}
		var examples []string
		for _, line := range strings.Split(help, "\n") {
			if strings.HasPrefix(line, "  netkit ") || strings.Contains(line, "| netkit ") {
				ex := strings.Join(strings.Fields(line), " ")
				if slices.Contains(examples, ex) {
					t.Errorf("%s --help gives the example %q twice", path, ex)
				}
				examples = append(examples, ex)
			}
		}
	})
	// The root's command list says what the commands' own help says.
	for _, c := range rootCommand(IO{}).children {
		for _, st := range staleUDPText {
			if strings.Contains(c.summary, st.old) {
				t.Errorf("netkit --help lists %s as %q", c.name, c.summary)
			}
		}
	}
}

// TestReadmeExamplesBesideSuite checks item 3 of issue 13: every server
// among README.md's examples either takes ports that do not collide with
// a running `netkit serve`, or says it replaces it.
func TestReadmeExamplesBesideSuite(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, _ := strings.Cut(string(readme), "\n## Examples\n")
	block, _, _ = strings.Cut(block, "\n## ")
	defaults := map[string]bool{}
	for _, k := range suite.Keys() {
		_, p, _ := suite.LookupKey(k)
		defaults[strconv.Itoa(p.Default)] = true
	}
	servers := 0
	for _, line := range strings.Split(block, "\n") {
		cmdPart, comment, _ := strings.Cut(line, "#")
		for _, cmd := range strings.Split(cmdPart, "&&") {
			f := strings.Fields(cmd)
			for len(f) > 0 && strings.Contains(f[0], "=") {
				f = f[1:] // VAR=value before the command
			}
			if len(f) < 2 || f[0] != "netkit" {
				continue
			}
			server := f[1] == "serve" || (len(f) > 2 && (f[2] == "serve" || f[1] == "udp" && f[2] == "recv"))
			if !server {
				continue
			}
			servers++
			if f[1] == "serve" {
				if !strings.Contains(comment, "instead of") {
					t.Errorf("README example %q starts the suite beside the suite; say 'instead of'", strings.TrimSpace(line))
				}
				continue
			}
			ok := false
			for i, a := range f {
				if strings.HasPrefix(a, "--") && i+1 < len(f) && strings.Contains(f[i+1], ":") {
					_, port, _ := strings.Cut(f[i+1], ":")
					ok = !defaults[port]
				}
			}
			if !ok && !strings.Contains(comment, "suite stopped") {
				t.Errorf("README example %q binds a port 'netkit serve' holds; give it another, or say 'with the suite stopped'", strings.TrimSpace(line))
			}
		}
	}
	if servers < 3 {
		t.Errorf("found only %d server examples in README.md: has the Examples section moved?", servers)
	}
}
