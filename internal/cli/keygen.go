package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"

	"github.com/netkit/netkit/internal/fernet"
	"github.com/netkit/netkit/internal/msg/envelope"
)

func keygenCommand(stdio IO) *command {
	var pair bool
	fset := flag.NewFlagSet("netkit keygen", flag.ContinueOnError)
	fset.BoolVar(&pair, "pair", false, "make an X25519 key pair instead: FILE (private, mode 0600) and FILE.pub, for clients that hold only the server's public key")
	return &command{
		name:    "keygen",
		usage:   "keygen [--pair] FILE|-",
		summary: "make a message key (32 random bytes, URL-safe base64, as Python's Fernet.generate_key())",
		help: `
FILE is created with mode 0600 and never overwritten; '-' prints the key
on standard output instead. Servers and clients take the key with
--key-file FILE, or in $NETKIT_KEY (several comma-separated, newest first,
for rotation).

Examples:
  netkit keygen ~/.config/netkit/msg.key
  export NETKIT_KEY=$(netkit keygen -)
  netkit keygen --pair server     # server (private) and server.pub`,
		flags:   fset,
		maxArgs: 1,
		run: func(_ context.Context, args []string) error {
			if len(args) != 1 {
				return &UsageError{Cmd: "netkit keygen", Err: errors.New("give a FILE to write, or - to print the key")}
			}
			if pair {
				if args[0] == "-" {
					return &UsageError{Cmd: "netkit keygen", Err: errors.New("--pair writes two files: give a FILE, not -")}
				}
				return keygenPair(stdio, args[0])
			}
			k, err := fernet.GenerateKey()
			if err != nil {
				return err
			}
			if args[0] == "-" {
				_, err := fmt.Fprintln(stdio.Stdout, k.Encode())
				return err
			}
			if err := writeNew(args[0], k.Encode()+"\n", 0o600); err != nil {
				return err
			}
			fmt.Fprintf(stdio.Stdout, "wrote a new message key to %s (mode 0600); use it with --key-file %s\n", args[0], args[0])
			return nil
		},
	}
}

func keygenPair(stdio IO, file string) error {
	kp, err := envelope.GenerateKeyPair()
	if err != nil {
		return err
	}
	pub := file + ".pub"
	if _, err := os.Lstat(pub); err == nil {
		return fmt.Errorf("%s already exists: keygen never overwrites a key; pick another name or remove it", pub)
	}
	if err := writeNew(file, envelope.EncodeKey(kp.Private)+"\n", 0o600); err != nil {
		return err
	}
	if err := writeNew(pub, envelope.EncodeKey(kp.Public)+"\n", 0o644); err != nil {
		os.Remove(file)
		return err
	}
	fmt.Fprintf(stdio.Stdout, "wrote an X25519 key pair: %s (private, mode 0600; the server's --box-key) and %s (public; clients' --server-key)\n", file, pub)
	return nil
}

// writeNew creates file with mode and content, refusing to replace one.
func writeNew(file, content string, mode os.FileMode) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists: keygen never overwrites a key; pick another name or remove it", file)
	}
	if err != nil {
		return err
	}
	// The umask may have taken bits off; a key file is exactly mode.
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		os.Remove(file)
		return err
	}
	return f.Close()
}
