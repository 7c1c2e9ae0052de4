// Command natsauth renders tokenmeter's NATS authorization from libs/natsauth:
//
//	natsauth conf          print the authorization block (deploy/nats/auth.conf)
//	natsauth seeds DIR     make an nkey seed file per identity in DIR (kept if there)
//	                       and print the server's environment: TOKENMETER_NATS_<NAME>_NKEY=U...
//
// A service reads its seed with -nats-creds; the server reads the public keys
// from its environment. Seeds are secrets, public keys are not.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tokenmeter/tokenmeter/libs/natsauth"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "natsauth:", err)
		os.Exit(2)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("natsauth", flag.ContinueOnError)
	readable := fs.Bool("readable", false, "seeds: make the seed files 0644 (their directory stays 0700), for containers running as another user, as compose's bind mounts need")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() == 1 && fs.Arg(0) == "conf":
		_, err := io.WriteString(out, natsauth.Conf())
		return err
	case fs.NArg() == 2 && fs.Arg(0) == "seeds":
		return seeds(fs.Arg(1), *readable, out)
	default:
		return fmt.Errorf("usage: natsauth conf | natsauth [-readable] seeds DIR")
	}
}

func seeds(dir string, readable bool, out io.Writer) error {
	pubs, err := natsauth.WriteSeeds(dir, natsauth.Names()...)
	if err != nil {
		return err
	}
	for _, name := range natsauth.Names() {
		if readable {
			if err := os.Chmod(natsauth.SeedFile(dir, name), 0o644); err != nil {
				return err
			}
		}
		if _, err := fmt.Fprintf(out, "%s=%s\n", natsauth.NkeyEnv(name), pubs[name]); err != nil {
			return err
		}
	}
	return nil
}
