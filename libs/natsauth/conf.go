package natsauth

import (
	"fmt"
	"strings"
)

// NkeyEnv is the environment variable a shipped nats.conf reads an
// identity's public nkey from (public keys are not secrets).
func NkeyEnv(name string) string { return "TOKENMETER_NATS_" + strings.ToUpper(name) + "_NKEY" }

// ConfHeader heads the rendered file; deploy/nats/auth.conf must equal Conf().
const ConfHeader = "# Generated from libs/natsauth by `go run ./tools/cmd/natsauth conf`; do not edit.\n" +
	"# One user per identity, its public nkey from the environment (TOKENMETER_NATS_<NAME>_NKEY,\n" +
	"# printed by `go run ./tools/cmd/natsauth seeds <dir>`). No user, no connection.\n"

// Conf renders the authorization block of nats.conf from Grants.
func Conf() string {
	var b strings.Builder
	b.WriteString(ConfHeader)
	b.WriteString("authorization {\n  users = [\n")
	for _, name := range Names() {
		p := PermissionsOf(name)
		fmt.Fprintf(&b, "    # %s\n    {\n      nkey: $%s\n      permissions: {\n", name, NkeyEnv(name))
		if len(p.DenyPublish) > 0 {
			fmt.Fprintf(&b, "        publish: { allow: %s, deny: %s }\n", list(p.Publish, "          "), list(p.DenyPublish, "          "))
		} else {
			fmt.Fprintf(&b, "        publish: { allow: %s }\n", list(p.Publish, "          "))
		}
		fmt.Fprintf(&b, "        subscribe: { allow: %s }\n", list(p.Subscribe, "          "))
		b.WriteString("      }\n    }\n")
	}
	b.WriteString("  ]\n}\n")
	return b.String()
}

// list writes subjects one a line, so a review of the file reads like the table.
func list(subjects []string, indent string) string {
	if len(subjects) == 1 {
		return fmt.Sprintf("[%q]", subjects[0])
	}
	var b strings.Builder
	b.WriteString("[\n")
	for _, s := range subjects {
		fmt.Fprintf(&b, "%s%q\n", indent, s)
	}
	b.WriteString(indent[2:] + "]")
	return b.String()
}
