package benchproc

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
)

// helperEnv names the stand-in the test binary plays when it runs itself
// as a separate process (see TestMain).
const helperEnv = "BENCHPROC_HELPER"

// TestMain lets the test binary stand in for the programs a benchmark
// runs: a Go program, unlike a shell script, can say when it is ready
// without racing its own children.
func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "netkit":
		helperNetkit()
	case "forker":
		helperForker()
	case "child":
		// Holds the standard error it inherited until a signal ends it
		// (waiting on a signal, not select{}, which the runtime takes for
		// a deadlock).
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM, syscall.SIGINT)
		fmt.Println("up")
		<-term
		os.Exit(0)
	}
	os.Exit(2)
}

// helper returns the path and environment that run the test binary as
// the stand-in name.
func helper(t *testing.T, name string) (bin string, env []string) {
	bin, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	return bin, []string{helperEnv + "=" + name}
}

// helperNetkit prints the JSON lines of `netkit serve --json` and an
// nkprof line, and exits cleanly on SIGTERM.
func helperNetkit() {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	fmt.Println(`{"service":"web","proto":"tcp","addr":"127.0.0.1:8080"}`)
	fmt.Fprintln(os.Stderr, PprofPrefix+"http://127.0.0.1:6060")
	fmt.Fprintln(os.Stderr, "a log line")
	fmt.Println(`{"service":"chat","proto":"tcp","addr":"127.0.0.1:7710"}`)
	<-term
	os.Exit(0)
}

// helperForker starts a child that shares its standard error, then prints
// its working directory and a line of standard error, and exits cleanly on
// SIGTERM.
func helperForker() {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	self, err := os.Executable()
	if err != nil {
		os.Exit(1)
	}
	child := exec.Command(self)
	child.Env = append(os.Environ(), helperEnv+"=child")
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil || child.Start() != nil {
		os.Exit(1)
	}
	bufio.NewReader(out).ReadString('\n')
	wd, _ := os.Getwd()
	fmt.Println(wd)
	fmt.Fprintln(os.Stderr, "oops")
	<-term
	os.Exit(0)
}
