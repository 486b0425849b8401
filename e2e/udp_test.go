package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// udpMode is a protocol mode of netkit udp: the flags of the sender and of
// the receiver.
type udpMode struct {
	name       string
	send, recv []string
	wantMode   string // the summary's mode
}

var udpModes = []udpMode{
	{name: "legacy", send: []string{"--legacy"}, wantMode: "legacy"},
	{name: "extended", wantMode: "extended"},
	{name: "sealed", send: []string{"--secret", "e2e passphrase"}, recv: []string{"--secret", "e2e passphrase"}, wantMode: "extended, sealed"},
}

// startUDPRecv starts netkit udp recv --json into dir and returns it with
// its address.
func startUDPRecv(t *testing.T, dir string, extra ...string) (*proc, string) {
	t.Helper()
	p := start(t, netkitCmd(t, append([]string{"udp", "recv", "--listen", "127.0.0.1:0", "--dir", dir, "--json"}, extra...)...))
	line := p.waitLine(t, "the listening event", func(l string) bool { return strings.Contains(l, `"listening"`) })
	var ev struct{ Addr string }
	if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Addr == "" {
		t.Fatalf("listening line %q: %v", line, err)
	}
	return p, ev.Addr
}

// startImpair starts netkit impair in front of target and returns its
// address.
func startImpair(t *testing.T, target string, args ...string) string {
	t.Helper()
	p := start(t, netkitCmd(t, append([]string{"impair", "--listen", "127.0.0.1:0", "--to", target, "--json"}, args...)...))
	line := p.waitLine(t, "the relay's address", func(l string) bool { return strings.Contains(l, `"listen"`) })
	var ev struct{ Listen string }
	if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Listen == "" {
		t.Fatalf("impair line %q: %v", line, err)
	}
	return ev.Listen
}

// TestUDPThroughImpair sends texts and files of the interesting sizes with
// netkit udp send to netkit udp recv through netkit impair, in the three
// modes, at three fragment sizes, on a clean network and at 5% and 20%
// loss with duplicates and reordering, and checks that every byte
// arrives, each file's SHA-256 matches, and nothing else appears in the
// folder. A 10 MB random file goes at fragment size 1445 wherever the
// stop-and-wait protocol can carry it within the test's time (the legacy
// mode at 20% loss takes minutes: only small items there).
func TestUDPThroughImpair(t *testing.T) {
	profiles := []struct {
		name string
		args []string
	}{
		{"clean", nil},
		{"loss5", []string{"--loss", "5%", "--dup", "5%", "--reorder", "5%"}},
		{"loss20", []string{"--loss", "20%", "--dup", "5%", "--reorder", "5%"}},
	}
	big := make([]byte, 10_000_000)
	rand.NewChaCha8([32]byte{1}).Read(big)
	for _, m := range udpModes {
		for i, p := range profiles {
			t.Run(m.name+"/"+p.name, func(t *testing.T) {
				t.Parallel()
				src, dir := t.TempDir(), t.TempDir()
				recv, addr := startUDPRecv(t, dir, m.recv...)
				relay := startImpair(t, addr, append([]string{"--seed", fmt.Sprint(7 + i)}, p.args...)...)
				want := map[string][]byte{}
				var texts []string
				for _, f := range []int{1, 4, 1445} {
					var files []string
					for _, n := range slices.Compact([]int{0, 1, f, f + 1}) {
						name := fmt.Sprintf("F%d-size%d.bin", f, n)
						data := big[len(big)-n:]
						os.WriteFile(filepath.Join(src, name), data, 0o644)
						want[name] = data
						files = append(files, filepath.Join(src, name))
						if n > 0 {
							texts = append(texts, fmt.Sprintf("text of %d bytes at F=%d: %s", n, f, strings.Repeat("é", n)))
						}
					}
					if f == 1445 && (m.name != "legacy" || p.name != "loss20") {
						os.WriteFile(filepath.Join(src, "random-10MB.bin"), big, 0o644)
						want["random-10MB.bin"] = big
						files = append(files, filepath.Join(src, "random-10MB.bin"))
					}
					args := append([]string{"udp", "send", relay, "--fragment-size", fmt.Sprint(f), "--json", "--timeout", "20s"}, m.send...)
					c := netkitCmd(t, append(args, files...)...)
					c.timeout = 4 * time.Minute
					r := run(t, c)
					r.wantCode(t, 0)
					var sum struct {
						Items int
						Mode  string
					}
					if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil || sum.Items != len(files) || sum.Mode != m.wantMode {
						t.Fatalf("F=%d summary %q (%v); want %d items in mode %q", f, r.stdout, err, len(files), m.wantMode)
					}
				}
				for _, text := range texts[:3] {
					r := run(t, netkitCmd(t, append([]string{"udp", "send", relay, "--text", text, "--timeout", "20s"}, m.send...)...))
					r.wantCode(t, 0)
				}
				for _, text := range texts[:3] {
					recv.waitLine(t, "the text", func(l string) bool {
						var ev struct{ Event, Text string }
						return json.Unmarshal([]byte(l), &ev) == nil && ev.Event == "text" && ev.Text == text
					})
				}
				var got []string
				entries, err := os.ReadDir(dir)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range entries {
					got = append(got, e.Name())
					b, err := os.ReadFile(filepath.Join(dir, e.Name()))
					if w, ok := want[e.Name()]; !ok || err != nil || sha256.Sum256(b) != sha256.Sum256(w) || !bytes.Equal(b, w) {
						t.Errorf("%s: %d bytes (%v), want %d with SHA-256 %x", e.Name(), len(b), err, len(w), sha256.Sum256(w))
					}
				}
				if len(got) != len(want) {
					t.Errorf("the folder holds %d files %q, want %d", len(got), got, len(want))
				}
			})
		}
	}
}

// TestUDPSecretMismatch checks that a wrong secret fails the handshake
// with a clear message on both sides, and that a receiver with a secret
// refuses a sender without one and a legacy one.
func TestUDPSecretMismatch(t *testing.T) {
	dir := t.TempDir()
	recv, addr := startUDPRecv(t, dir, "--secret", "right one")
	file := filepath.Join(t.TempDir(), "secret.txt")
	os.WriteFile(file, []byte("for the right eyes only"), 0o644)

	r := netkit(t, "", "udp", "send", addr, file, "--secret", "wrong one", "--timeout", "5s")
	r.wantCode(t, 1)
	if !strings.Contains(r.stderr, "wrong secret") {
		t.Errorf("sender with a wrong secret said %q", r.stderr)
	}
	recv.waitLine(t, "the refusal", func(l string) bool { return strings.Contains(l, "wrong secret") })

	r = netkit(t, "", "udp", "send", addr, file, "--timeout", "5s")
	r.wantCode(t, 1)
	if !strings.Contains(r.stderr, "--secret") {
		t.Errorf("sender without a secret said %q", r.stderr)
	}
	r = netkit(t, "", "udp", "send", addr, file, "--legacy", "--timeout", "5s")
	r.wantCode(t, 1)
	if !strings.Contains(r.stderr, "requires a secret, and the legacy protocol (--legacy, --window 1) cannot carry one") {
		t.Errorf("legacy sender said %q", r.stderr)
	}
	if n := strings.Count(netkit(t, "", "udp", "send", addr, file, "--secret", "wrong one", "--timeout", "5s").stderr, "wrong secret"); n != 1 {
		t.Errorf("a wrong secret is said %d times, want once", n)
	}
	r = netkit(t, "", "udp", "send", addr, file, "--legacy", "--secret", "right one")
	r.wantCode(t, 2)
	if !strings.Contains(r.stderr, "cannot encrypt") {
		t.Errorf("legacy with a secret said %q", r.stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the folder holds %d entries after refusals", len(entries))
	}
	r = netkit(t, "", "udp", "send", addr, file, "--secret", "right one")
	r.wantCode(t, 0)
	if b, err := os.ReadFile(filepath.Join(dir, "secret.txt")); err != nil || string(b) != "for the right eyes only" {
		t.Errorf("with the right secret: %q, %v", b, err)
	}
}

// TestUDPResume cuts a transfer off with Ctrl-C halfway and sends the file
// again: the second send resumes where the first stopped, and the file
// arrives whole.
func TestUDPResume(t *testing.T) {
	dir, src := t.TempDir(), t.TempDir()
	recv, addr := startUDPRecv(t, dir)
	// A slow path, so that Ctrl-C falls in the middle.
	relay := startImpair(t, addr, "--up-rate", "8MB/s")
	data := make([]byte, 8_000_000)
	rand.NewChaCha8([32]byte{2}).Read(data)
	file := filepath.Join(src, "resume-me.bin")
	os.WriteFile(file, data, 0o644)

	first := start(t, netkitCmd(t, "udp", "send", relay, file, "--json"))
	// Ctrl-C once part of the file is there, whatever the machine's pace.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if partialSize(dir) > 1<<20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no partial file of over 1 MiB within 20 s")
		}
	}
	first.signal(t, os.Interrupt)
	if code, ok := first.wait(10 * time.Second); !ok || code == 0 {
		t.Fatalf("interrupted send: exit %d (finished %v); stdout %q", code, ok, first.stdout)
	}
	recv.waitLine(t, "the transfer cut off", func(l string) bool { return strings.Contains(l, `"aborted"`) })
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || !strings.HasPrefix(entries[0].Name(), ".netkit-r-") {
		t.Fatalf("after the cut the folder holds %v, want one hidden partial file", entries)
	}

	r := netkit(t, "", "udp", "send", relay, file, "--json")
	r.wantCode(t, 0)
	var sum struct {
		Bytes   int64
		Resumed int64 `json:"resumed_bytes"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil || sum.Resumed <= 0 || sum.Resumed >= int64(len(data)) || sum.Bytes+sum.Resumed != int64(len(data)) {
		t.Errorf("second send %q (%v): want part of it resumed", r.stdout, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "resume-me.bin"))
	if err != nil || !bytes.Equal(b, data) {
		t.Errorf("stored %d bytes (%v), want the %d sent", len(b), err, len(data))
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the folder holds %v, want only the file", entries)
	}
}

// TestUDPDiskFull receives into a 2 MiB tmpfs: a larger file fails with a
// clear error on both sides, leaves nothing behind, and the receiver goes
// on receiving what fits.
func TestUDPDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test mounts a tmpfs: run it as root (CI does)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	recv, addr := startUDPRecv(t, dir)
	src := t.TempDir()
	big := filepath.Join(src, "too-big.bin")
	os.WriteFile(big, bytes.Repeat([]byte("x"), 5<<20), 0o644)
	for _, m := range udpModes[:2] {
		r := netkit(t, "", append([]string{"udp", "send", addr, big}, m.send...)...)
		r.wantCode(t, 1)
		if !strings.Contains(r.stderr, "no space left on device") && !strings.Contains(r.stderr, "refused") {
			t.Errorf("%s: sender said %q", m.name, r.stderr)
		}
		recv.waitLine(t, "the failure", func(l string) bool { return strings.Contains(l, "no space left on device") })
	}
	small := filepath.Join(src, "fits.txt")
	os.WriteFile(small, []byte("this one fits"), 0o644)
	netkit(t, "", "udp", "send", addr, small).wantCode(t, 0)
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"fits.txt"}) {
		t.Errorf("the folder holds %q, want only fits.txt", names)
	}
}

// TestUDPLegacyPeer drives netkit against a legacy peer written from
// SEED-PROTOCOL.md alone, in Python (testdata/legacy_peer.py: struct and
// zlib.crc32, no netkit code), both ways: netkit's sender offers the
// extended mode, hears nothing, and falls back to stop-and-wait by
// itself; --legacy skips the offer; the peer's sender is taken by netkit
// udp recv. Every file arrives byte for byte.
func TestUDPLegacyPeer(t *testing.T) {
	python := peer(t, "python3")
	script, err := filepath.Abs(filepath.Join("testdata", "legacy_peer.py"))
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	files := map[string][]byte{
		"smallFile.bin": []byte("It is a small file."),
		"empty.bin":     nil,
		"random.bin":    make([]byte, 100_000),
	}
	rand.NewChaCha8([32]byte{3}).Read(files["random.bin"])
	var paths []string
	for name, b := range files {
		os.WriteFile(filepath.Join(src, name), b, 0o644)
		paths = append(paths, filepath.Join(src, name))
	}
	slices.Sort(paths)
	check := func(t *testing.T, dir string) {
		t.Helper()
		for name, want := range files {
			if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: %d bytes (%v), want %d", name, len(got), err, len(want))
			}
		}
	}

	for _, tt := range []struct {
		name string
		args []string
	}{{"offer then fallback", nil}, {"--legacy", []string{"--legacy"}}} {
		t.Run("netkit to the peer, "+tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := start(t, command{path: python, args: []string{script, "recv", dir}})
			port := p.waitLine(t, "the peer's port", func(string) bool { return true })
			args := append([]string{"udp", "send", "127.0.0.1:" + port, "--fragment-size", "4", "--json"}, tt.args...)
			r := netkit(t, "", append(args, paths...)...)
			r.wantCode(t, 0)
			if !strings.Contains(r.stdout, `"mode":"legacy"`) {
				t.Errorf("summary %q: want the legacy mode", r.stdout)
			}
			if code, ok := p.wait(10 * time.Second); !ok || code != 0 {
				t.Errorf("the peer: exit %d (ended %v); stderr %q", code, ok, p.stderr)
			}
			check(t, dir)
		})
	}

	t.Run("the peer to netkit", func(t *testing.T) {
		dir := t.TempDir()
		recv, addr := startUDPRecv(t, dir)
		host, port, _ := strings.Cut(addr, ":")
		r := run(t, command{path: python, args: append([]string{script, "send", host, port, "4"}, paths...), timeout: time.Minute})
		r.wantCode(t, 0)
		for range files {
			recv.waitLine(t, "a file", func(l string) bool { return strings.Contains(l, `"file"`) })
		}
		check(t, dir)
	})
}

// partialSize is the size of the first partial file in dir, or 0.
func partialSize(dir string) int64 {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".netkit-r-") {
			if info, err := e.Info(); err == nil {
				return info.Size()
			}
		}
	}
	return 0
}

// TestUDPSendToEcho checks issue 13's item 1 against a running netkit
// serve: netkit udp send pointed at the suite's UDP echo port (RFC 862),
// extended and --legacy, says at once that the port echoes and is no
// netkit udp receiver, within its --timeout, and exits 1.
func TestUDPSendToEcho(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "", plainEndpoints, "serve", "--random-ports", "--json")
	addr := srv.addr(t, "echo/udp")
	for _, mode := range [][]string{nil, {"--legacy"}} {
		t.Run(strings.Join(append([]string{"extended"}, mode...), " "), func(t *testing.T) {
			c := netkitCmd(t, append([]string{"udp", "send", addr, "--text", "hi", "--timeout", "3s"}, mode...)...)
			c.timeout = 20 * time.Second
			r := run(t, c)
			r.wantCode(t, 1)
			want := addr + " echoes what it is sent: it is not a netkit udp receiver"
			if line := oneLine(t, "stderr", r.stderr); !strings.HasSuffix(line, want) {
				t.Errorf("error %q, want it to end %q", line, want)
			}
			if r.elapsed > 10*time.Second {
				t.Errorf("took %v with --timeout 3s", r.elapsed.Round(time.Millisecond))
			}
		})
	}
}

// TestUDPShutdownTellsSender checks issue 12's defect 2 with the real
// binaries: SIGTERM to netkit udp recv in the middle of a transfer lets
// it go on for the grace (5 s), then tells the sender, which stops at
// once with a message that says why, well before its own timeout; an
// extended transfer leaves its partial file for a resume.
func TestUDPShutdownTellsSender(t *testing.T) {
	t.Parallel()
	for _, mode := range udpModes[:2] {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			dir, src := t.TempDir(), t.TempDir()
			recv, addr := startUDPRecv(t, dir, mode.recv...)
			relay := startImpair(t, addr, "--up-rate", "300KB/s") // 8 MB: half a minute
			data := make([]byte, 8_000_000)
			rand.NewChaCha8([32]byte{3}).Read(data)
			file := filepath.Join(src, "cut-off.bin")
			os.WriteFile(file, data, 0o644)
			send := start(t, netkitCmd(t, append([]string{"udp", "send", relay, file, "--timeout", "60s"}, mode.send...)...))
			for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				if partialSize(dir) > 0 || mode.name == "legacy" && hiddenFiles(dir) > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the transfer did not start within 20 s")
				}
			}
			recv.signal(t, syscall.SIGTERM)
			sigAt := time.Now()
			code, ok := send.wait(30 * time.Second)
			if !ok {
				t.Fatalf("the sender still runs 30 s after SIGTERM to the receiver; stderr %q", send.stderr)
			}
			if took := time.Since(sigAt); took > 20*time.Second {
				t.Errorf("the sender stopped %v after SIGTERM: it waited instead of being told", took.Round(time.Millisecond))
			}
			want := "is shutting down: send again once it is back"
			if mode.name == "legacy" {
				want = "or it is shutting down"
			}
			if line := oneLine(t, "stderr", send.stderr.String()); code != 1 || !strings.Contains(line, want) {
				t.Errorf("sender: exit %d, stderr %q; want 1 and %q", code, line, want)
			}
			if code, ok := recv.wait(stopTimeout); !ok || code != 0 {
				t.Errorf("receiver: exit %d (exited %v), want 0; stderr %q", code, ok, recv.stderr)
			}
			if mode.name != "legacy" && partialSize(dir) == 0 {
				t.Errorf("no partial file kept for a resume: %v", hiddenFiles(dir))
			}
		})
	}
}

// hiddenFiles counts the store's temporary files in dir.
func hiddenFiles(dir string) int {
	entries, _ := os.ReadDir(dir)
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".netkit-") {
			n++
		}
	}
	return n
}

// TestUDPSuiteShowsReceived checks issue 13's item 11 against a running
// netkit serve: a text sent to its udp service shows in the log line and
// in /status.json, and so does every stored file's path.
func TestUDPSuiteShowsReceived(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "", append(plainEndpoints, "udp/udp"), "serve", "--random-ports", "--json")
	addr := srv.addr(t, "udp/udp")
	netkit(t, "", "udp", "send", addr, "--text", "to the suite").wantCode(t, 0)
	src := filepath.Join(t.TempDir(), "for-the-suite.txt")
	os.WriteFile(src, []byte("a file"), 0o644)
	netkit(t, "", "udp", "send", addr, src).wantCode(t, 0)
	path := filepath.Join(srv.dataDir, "udp-inbox", "for-the-suite.txt")

	for _, want := range []string{"to the suite", path} {
		if _, err := srv.stderr.wait(srv.exited, lineTimeout, func(l string) bool { return strings.Contains(l, want) }); err != nil {
			t.Errorf("no log line with %q: %v\nstderr: %q", want, err, srv.stderr)
		}
	}
	r := run(t, command{path: peer(t, "curl"), args: []string{"-sS", "http://" + srv.addr(t, "web/http") + "/status.json"}})
	r.wantCode(t, 0)
	var st struct {
		Services struct {
			UDP struct {
				Received []struct{ Kind, Text, Name, Path string }
			}
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status.json %q: %v", r.stdout, err)
	}
	got := st.Services.UDP.Received
	if len(got) != 2 || got[0].Kind != "text" || got[0].Text != "to the suite" || got[1].Kind != "file" || got[1].Name != "for-the-suite.txt" || got[1].Path != path {
		t.Errorf("status.json services.udp.received = %+v, want the text and %s", got, path)
	}
}
