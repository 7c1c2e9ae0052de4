// Command tokenctl is tokenmeter's admin CLI (see package tokenctl).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/tokenmeter/tokenmeter/tools/tokenctl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := tokenctl.Run(ctx, tokenctl.Options{}, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
