package testkit

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// chTLSConfig is a minimal ClickHouse server config (Debian's 18.16 and newer)
// whose native protocol also listens with TLS.
const chTLSConfig = `<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>%[1]s/server.log</log><errorlog>%[1]s/error.log</errorlog></logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>%[2]d</tcp_port>
    <tcp_port_secure>%[3]d</tcp_port_secure>
    <http_port>%[4]d</http_port>
    <openSSL><server>
        <certificateFile>%[5]s</certificateFile><privateKeyFile>%[6]s</privateKeyFile>
        <verificationMode>none</verificationMode><loadDefaultCAFile>false</loadDefaultCAFile>
        <disableProtocols>sslv2,sslv3,tlsv1,tlsv1_1</disableProtocols>
    </server></openSSL>
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <mark_cache_size>67108864</mark_cache_size>
    <path>%[1]s/data/</path>
    <tmp_path>%[1]s/tmp/</tmp_path>
    <users_config>%[1]s/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
</yandex>
`

const chTLSUsers = `<?xml version="1.0"?>
<yandex>
    <profiles><default></default></profiles>
    <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
    <quotas><default></default></quotas>
</yandex>
`

// ClickHouseTLS starts a ClickHouse server of the test's own whose native
// protocol listens with TLS (certificate f.Cert) and returns that secure
// address; the server stops when the test ends. It needs clickhouse-server
// installed (make test installs it).
func ClickHouseTLS(t testing.TB, f TLSFiles) string {
	t.Helper()
	bin, err := exec.LookPath("clickhouse-server")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/clickhouse-server"); err != nil {
			t.Fatalf("testkit: clickhouse-server is not installed (make test installs it): %v", err)
		}
	}
	dir := t.TempDir()
	secure := freePort(t)
	conf := fmt.Sprintf(chTLSConfig, dir, freePort(t), secure, freePort(t), f.Cert, f.Key)
	for name, body := range map[string]string{"config.xml": conf, "users.xml": chTLSUsers} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatalf("testkit: %v", err)
		}
	}
	cmd := exec.Command(bin, "--config-file="+filepath.Join(dir, "config.xml"))
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatalf("testkit: start clickhouse-server: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(secure))
	waitTLS(t, addr, f.CA, filepath.Join(dir, "error.log"))
	return addr
}

// waitTLS waits until addr completes a TLS handshake verified by the CA.
func waitTLS(t testing.TB, addr, caFile, errLog string) {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
		if err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(errLog)
			t.Fatalf("testkit: ClickHouse with TLS did not answer on %s: %v\n%s", addr, err, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
