package deploycheck

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// repoRoot is where the deploy files live, seen from this package's directory.
const repoRoot = "../.."

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Environment map[string]string `yaml:"environment"`
	Ports       []yaml.Node       `yaml:"ports"`
	NetworkMode string            `yaml:"network_mode"`
	Healthcheck struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	require.NoError(t, err)
	var f composeFile
	require.NoError(t, yaml.Unmarshal(raw, &f))
	require.NotEmpty(t, f.Services)
	return f
}

// TestComposePortsOnLoopback: a published port is reachable from the LAN unless
// it is bound to 127.0.0.1, and host networking publishes everything.
func TestComposePortsOnLoopback(t *testing.T) {
	for name, svc := range loadCompose(t).Services {
		require.NotEqual(t, "host", svc.NetworkMode, "service %s uses host networking", name)
		for _, p := range svc.Ports {
			switch p.Kind {
			case yaml.ScalarNode:
				parts := strings.Split(p.Value, ":")
				require.True(t, len(parts) == 3 && parts[0] == "127.0.0.1",
					"service %s publishes %q on every interface: write 127.0.0.1:HOST:CONTAINER", name, p.Value)
			case yaml.MappingNode:
				var long struct {
					HostIP string `yaml:"host_ip"`
				}
				require.NoError(t, p.Decode(&long))
				require.Equal(t, "127.0.0.1", long.HostIP, "service %s: a long-syntax port needs host_ip 127.0.0.1", name)
			default:
				t.Fatalf("service %s: unexpected port entry at line %d", name, p.Line)
			}
		}
	}
}

// requiredVar matches ${NAME:?message} or ${NAME?message}: compose refuses to
// start without NAME, where ${NAME:-default} would fall back to a known value.
var requiredVar = regexp.MustCompile(`^\$\{([A-Z0-9_]+):?\?[^}]*\}$`)

func requireSecretVar(t *testing.T, service, key, value string) string {
	t.Helper()
	m := requiredVar.FindStringSubmatch(value)
	require.NotNil(t, m, "service %s: %s must come from a required variable ${NAME:?...}, not %q", service, key, value)
	return m[1]
}

// TestComposeClickHouseNeedsPassword: ClickHouse gets a dedicated user with a
// password the environment must supply, and reporting logs in with both.
func TestComposeClickHouseNeedsPassword(t *testing.T) {
	f := loadCompose(t)
	ch, ok := f.Services["clickhouse"]
	require.True(t, ok, "no clickhouse service")
	_, skip := ch.Environment["CLICKHOUSE_SKIP_USER_SETUP"]
	require.False(t, skip, "CLICKHOUSE_SKIP_USER_SETUP keeps the password-less default user")
	user := ch.Environment["CLICKHOUSE_USER"]
	require.NotEmpty(t, user, "clickhouse: set CLICKHOUSE_USER")
	require.NotEqual(t, "default", user, "clickhouse: use a dedicated user, not default")
	pwVar := requireSecretVar(t, "clickhouse", "CLICKHOUSE_PASSWORD", ch.Environment["CLICKHOUSE_PASSWORD"])
	require.Contains(t, strings.Join(ch.Healthcheck.Test, " "), "--user",
		"clickhouse: the healthcheck must log in as the dedicated user (default is removed)")

	clients := 0
	for name, svc := range f.Services {
		if _, ok := svc.Environment["TOKENMETER_CLICKHOUSE_ADDR"]; !ok {
			continue
		}
		clients++
		require.Equal(t, user, svc.Environment["TOKENMETER_CLICKHOUSE_USER"], "service %s: ClickHouse user", name)
		got := requireSecretVar(t, name, "TOKENMETER_CLICKHOUSE_PASSWORD", svc.Environment["TOKENMETER_CLICKHOUSE_PASSWORD"])
		require.Equal(t, pwVar, got, "service %s: ClickHouse password variable", name)
	}
	require.NotZero(t, clients, "no service talks to ClickHouse")

	grafana := f.Services["grafana"]
	requireSecretVar(t, "grafana", "GF_SECURITY_ADMIN_PASSWORD", grafana.Environment["GF_SECURITY_ADMIN_PASSWORD"])
}

// TestComposeUserHashKey: ledger, reporting and alerting key their
// pseudonyms with one required variable, never a default anyone can read.
func TestComposeUserHashKey(t *testing.T) {
	f := loadCompose(t)
	for _, name := range []string{"ledger", "reporting", "alerting"} {
		svc, ok := f.Services[name]
		require.True(t, ok, "no %s service", name)
		got := requireSecretVar(t, name, "TOKENMETER_USER_HASH_KEY", svc.Environment["TOKENMETER_USER_HASH_KEY"])
		require.Equal(t, "TOKENMETER_USER_HASH_KEY", got, "service %s: the one hash key variable", name)
		_, retired := svc.Environment["TOKENMETER_PERSONAL_DATA_ORGS"]
		require.False(t, retired, "service %s: -personal-data-orgs is retired (reporting refuses it)", name)
	}
}

// chUsers is the <users> section of a ClickHouse users.d file.
type chUsers struct {
	Users struct {
		List []chUser `xml:",any"`
	} `xml:"users"`
}

type chUser struct {
	XMLName          xml.Name
	Remove           string   `xml:"remove,attr"`
	Password         *string  `xml:"password"`
	PasswordSHA256   *string  `xml:"password_sha256_hex"`
	PasswordSHA1     *string  `xml:"password_double_sha1_hex"`
	IPs              []string `xml:"networks>ip"`
	HostRegexps      []string `xml:"networks>host_regexp"`
	AccessManagement string   `xml:"access_management"`
}

func (u chUser) hasPassword() bool {
	for _, p := range []*string{u.Password, u.PasswordSHA256, u.PasswordSHA1} {
		if p != nil && strings.TrimSpace(*p) != "" {
			return true
		}
	}
	return false
}

func (u chUser) anyHost() bool {
	for _, ip := range u.IPs {
		if ip := strings.TrimSpace(ip); ip == "::/0" || ip == "0.0.0.0/0" {
			return true
		}
	}
	for _, re := range u.HostRegexps {
		if re := strings.TrimSpace(re); re == ".*" || re == "^.*$" {
			return true
		}
	}
	return false
}

// TestComposeClickHouseUsersNeedPasswords: no users.d file opens a user without
// a password to every address or lets it manage access. A user a file names
// without a password keeps the empty one of the image's users.xml.
func TestComposeClickHouseUsersNeedPasswords(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "deploy/clickhouse/compose/users.d/*.xml"))
	require.NoError(t, err)
	for _, file := range files {
		raw, err := os.ReadFile(file)
		require.NoError(t, err)
		var doc chUsers
		require.NoError(t, xml.Unmarshal(raw, &doc), file)
		for _, u := range doc.Users.List {
			if u.Remove != "" || u.hasPassword() {
				continue
			}
			name := u.XMLName.Local
			require.False(t, u.anyHost(), "%s: password-less user %q reachable from any address", file, name)
			require.NotEqual(t, "1", strings.TrimSpace(u.AccessManagement),
				"%s: password-less user %q may manage access", file, name)
		}
	}
}

func runComposeEnv(t *testing.T, file string) map[string]string {
	t.Helper()
	out, err := exec.Command("bash", filepath.Join(repoRoot, "deploy/compose-env.sh"), file).CombinedOutput()
	require.NoError(t, err, "%s", out)
	info, err := os.Stat(file)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "%s must be readable by its owner only", file)
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	vars := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		k, v, ok := strings.Cut(line, "=")
		require.True(t, ok, "line %q", line)
		vars[k] = v
	}
	return vars
}

// TestComposeEnvScript: deploy/compose-env.sh writes every variable compose
// requires as a fresh 256-bit random value (NATS public nkeys of fresh seeds), keeps it on a second run, leaves
// other lines alone, and .env stays out of git.
func TestComposeEnvScript(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	require.NoError(t, err)
	required := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{([A-Z0-9_]+):?\?`).FindAllStringSubmatch(string(raw), -1) {
		required[m[1]] = true
	}
	require.NotEmpty(t, required)

	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.env"), filepath.Join(t.TempDir(), "b.env") // b: seeds of its own
	require.NoError(t, os.WriteFile(a, []byte("TOKENMETER_API_KEYS=mine:demo:admin"), 0o644))
	first := runComposeEnv(t, a)
	require.Equal(t, "mine:demo:admin", first["TOKENMETER_API_KEYS"])
	for name := range required {
		if strings.HasSuffix(name, "_NKEY") { // a NATS user's public key, its seed beside a.env
			require.Regexp(t, `^U[A-Z2-7]{55}$`, first[name], "%s", name)
			continue
		}
		require.Regexp(t, `^[0-9a-f]{64}$`, first[name], "%s", name)
	}
	for _, svc := range []string{"ledger", "ingestion", "reporting", "alerting"} {
		require.FileExists(t, filepath.Join(dir, ".local/compose-nats", svc+".nk"))
	}
	require.Equal(t, first, runComposeEnv(t, a), "a second run changes nothing")
	other := runComposeEnv(t, b)
	for name := range required {
		require.NotEqual(t, first[name], other[name], "%s is not random", name)
	}

	ignore, err := os.ReadFile(filepath.Join(repoRoot, ".gitignore"))
	require.NoError(t, err)
	require.Contains(t, strings.Split(string(ignore), "\n"), "/.env")
}
