package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rheos.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func noEnv(string) string { return "" }

// TestLoadSections: the file is read section by section; the environment
// wins over the file and flags over both.
func TestLoadSections(t *testing.T) {
	p := writeFile(t, `{
		"server": {"addr": "0.0.0.0:9000", "account": "111122223333", "logLevel": "debug"},
		"auth": {"mode": "verify", "rootAccessKeyId": "AK", "rootSecretAccessKey": "SK",
		         "principals": [{"name": "app", "accessKeyId": "A2", "secretAccessKey": "S2"}]},
		"tls": {"addr": "127.0.0.1:4567"},
		"storage": {"dataDir": "/tmp/x", "segmentAge": "2h"},
		"kms": {"endpoint": "http://kms"},
		"kinesis": {"shardLimit": 7, "throughputMode": "aws", "createDelay": "1s"}
	}`)
	env := map[string]string{"RHEOS_REGION": "eu-west-1", "RHEOS_SHARD_LIMIT": "9"}
	c, err := Load([]string{"--config", p, "--log-level", "warn"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "0.0.0.0:9000" || c.Account != "111122223333" || c.Region != "eu-west-1" || c.LogLevel != "warn" ||
		c.AuthMode != "verify" || len(c.Principals) != 1 || c.TLSAddr != "127.0.0.1:4567" || c.DataDir != "/tmp/x" ||
		c.SegmentAge != Duration(2*time.Hour) || c.KMSEndpoint != "http://kms" || c.ShardLimit != 9 ||
		c.ThroughputMode != "aws" || c.CreateDelay != Duration(time.Second) || c.SegmentBytes != 64<<20 {
		t.Errorf("loaded %+v", c)
	}
}

// TestLoadOldFlatKeys: a key of the flat format used before the sections
// is refused with where it belongs now; an unknown key is refused.
func TestLoadOldFlatKeys(t *testing.T) {
	for key, want := range map[string]string{
		`{"principals": []}`:           `put "principals" under auth`,
		`{"authMode": "verify"}`:       `put "authMode" under auth (as "mode")`,
		`{"shardLimit": 3}`:            `put "shardLimit" under kinesis`,
		`{"server": {"dataDir": "x"}}`: `put "dataDir" under storage`,
	} {
		_, err := Load([]string{"--config", writeFile(t, key)}, noEnv)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", key, err, want)
		}
	}
	if _, err := Load([]string{"--config", writeFile(t, `{"server": {"nope": 1}}`)}, noEnv); err == nil || !strings.Contains(err.Error(), `unknown field "nope"`) {
		t.Errorf("unknown key: %v", err)
	}
}

// TestValidateNamesSections: errors name the section.key the user writes.
func TestValidateNamesSections(t *testing.T) {
	c := Default()
	c.ShardLimit, c.AuthMode = 0, "maybe"
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "kinesis.shardLimit") || !strings.Contains(err.Error(), "auth.mode") {
		t.Errorf("Validate: %v", err)
	}
}

// TestValidateDuplicateKeys: one access key id names one principal (the
// root's included); a second would silently replace the first.
func TestValidateDuplicateKeys(t *testing.T) {
	c := Default()
	c.RootAccessKeyID, c.RootSecretAccessKey = "AKROOT", "s"
	c.Principals = []Principal{{Name: "a", AccessKeyID: "AKA", SecretAccessKey: "s"}, {Name: "b", AccessKeyID: "AKROOT", SecretAccessKey: "t"},
		{Name: "c", AccessKeyID: "AKA", SecretAccessKey: "u"}}
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "auth.principals[1]: accessKeyId AKROOT is already auth.rootAccessKeyId's") ||
		!strings.Contains(err.Error(), "auth.principals[2]: accessKeyId AKA is already auth.principals[0]'s") {
		t.Fatalf("Validate: %v", err)
	}
}

// TestAuthDefaultEveryListener: without --auth, verification is on as soon
// as any listener (API, TLS, admin) is off loopback, and then the admin
// listener (health, metrics) defaults to loopback; without credentials such
// a configuration is refused, naming the listener that turned verification
// on.
func TestAuthDefaultEveryListener(t *testing.T) {
	creds := map[string]string{"RHEOS_ROOT_ACCESS_KEY_ID": "AK", "RHEOS_ROOT_SECRET_ACCESS_KEY": "SK"}
	for _, tc := range []struct {
		args      []string
		mode      string
		adminAddr string
	}{
		{nil, "none", ""},
		{[]string{"--addr", "localhost:4566", "--tls-addr", "[::1]:4567", "--admin-addr", "127.0.0.2:9566"}, "none", "127.0.0.2:9566"},
		{[]string{"--tls-addr", "0.0.0.0:4567"}, "verify", DefaultAdminAddr},
		{[]string{"--tls-addr", ":4567"}, "verify", DefaultAdminAddr},
		{[]string{"--addr", ":4566"}, "verify", DefaultAdminAddr},
		{[]string{"--addr", "[::]:4566"}, "verify", DefaultAdminAddr},
		{[]string{"--addr", "10.0.0.5:4566"}, "verify", DefaultAdminAddr},
		{[]string{"--addr", "rheos.internal:4566"}, "verify", DefaultAdminAddr},
		{[]string{"--admin-addr", "0.0.0.0:9566"}, "verify", "0.0.0.0:9566"},
		{[]string{"--auth", "verify"}, "verify", DefaultAdminAddr},
		{[]string{"--auth", "verify", "--admin-addr", "127.0.0.1:1"}, "verify", "127.0.0.1:1"},
		{[]string{"--auth", "none", "--tls-addr", "0.0.0.0:4567"}, "none", ""},
	} {
		c, err := Load(tc.args, func(k string) string { return creds[k] })
		if err != nil {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		if c.AuthMode != tc.mode || c.AdminAddr != tc.adminAddr {
			t.Errorf("%v: mode %q admin %q, want %q %q", tc.args, c.AuthMode, c.AdminAddr, tc.mode, tc.adminAddr)
		}
	}
	// The same listeners without credentials: startup is refused.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-addr", "0.0.0.0:4567"}, "auth.mode defaults to verify because tls.addr is not a loopback address"},
		{[]string{"--addr", ":4566", "--admin-addr", "0.0.0.0:9566"}, "because server.addr, server.adminAddr are not loopback addresses"},
		{[]string{"--auth", "verify"}, "auth.mode verify needs credentials"},
	} {
		_, err := Load(tc.args, noEnv)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "RHEOS_ROOT_ACCESS_KEY_ID") {
			t.Errorf("%v without credentials: %v, want %q", tc.args, err, tc.want)
		}
	}
	// A configuration built in Go (not by Load) gets the same default.
	c := Default()
	c.TLSAddr = "0.0.0.0:4567"
	if c.EffectiveAuthMode() != "verify" || c.Validate() == nil {
		t.Errorf("Default() with tls.addr 0.0.0.0: mode %s, Validate %v", c.EffectiveAuthMode(), c.Validate())
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:4566": true, "127.1.2.3:1": true, "[::1]:4566": true, "localhost:4566": true,
		":4566": false, "0.0.0.0:4566": false, "[::]:4566": false, "192.168.1.2:4566": false,
		"example.com:4566": false, "127.0.0.1": false, "": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestPprofLoopbackOnly: pprof is unauthenticated, so it is refused off
// loopback.
func TestPprofLoopbackOnly(t *testing.T) {
	if _, err := Load([]string{"--pprof-addr", "127.0.0.1:6060"}, noEnv); err != nil {
		t.Errorf("loopback pprof: %v", err)
	}
	for _, addr := range []string{"0.0.0.0:6060", ":6060", "10.1.2.3:6060"} {
		if _, err := Load([]string{"--pprof-addr", addr}, noEnv); err == nil || !strings.Contains(err.Error(), "server.pprofAddr") {
			t.Errorf("pprof on %s: %v", addr, err)
		}
	}
}

// TestPlainListenerOff: --addr off (RHEOS_ADDR=off, or "" in the file)
// leaves only the TLS listener; no listener at all is refused.
func TestPlainListenerOff(t *testing.T) {
	c, err := Load([]string{"--addr", "off", "--tls-addr", "127.0.0.1:4567"}, noEnv)
	if err != nil || !c.AddrOff() || c.Addr != "" || c.AuthMode != "none" {
		t.Errorf("--addr off with TLS: %+v, %v", c.Server, err)
	}
	env := map[string]string{"RHEOS_ADDR": "off", "RHEOS_TLS_ADDR": "127.0.0.1:4567"}
	if c, err := Load(nil, func(k string) string { return env[k] }); err != nil || !c.AddrOff() {
		t.Errorf("RHEOS_ADDR=off: %+v, %v", c.Server, err)
	}
	p := writeFile(t, `{"server": {"addr": ""}, "tls": {"addr": "127.0.0.1:4567"}}`)
	if c, err := Load([]string{"--config", p}, noEnv); err != nil || !c.AddrOff() {
		t.Errorf("empty addr in the file: %+v, %v", c.Server, err)
	}
	for _, args := range [][]string{{"--addr", "off"}, {"--config", writeFile(t, `{"server": {"addr": ""}}`)}} {
		if _, err := Load(args, noEnv); err == nil || !strings.Contains(err.Error(), "no listener") {
			t.Errorf("%v: %v, want no listener", args, err)
		}
	}
}

// TestKeyringPath: the keyring defaults to the data directory and may be
// moved off it; it cannot be combined with a KMS endpoint.
func TestKeyringPath(t *testing.T) {
	c, err := Load([]string{"--data-dir", "/data"}, noEnv)
	if err != nil || c.KeyringPath() != "/data/keyring.json" {
		t.Errorf("default keyring %q, %v", c.KeyringPath(), err)
	}
	c, err = Load([]string{"--data-dir", "/data", "--keyring", "/run/secrets/rheos/keyring.json"}, noEnv)
	if err != nil || c.KeyringPath() != "/run/secrets/rheos/keyring.json" {
		t.Errorf("--keyring: %q, %v", c.KeyringPath(), err)
	}
	env := map[string]string{"RHEOS_KEYRING": "/mnt/keys/k.json"}
	if c, err := Load(nil, func(k string) string { return env[k] }); err != nil || c.KeyringPath() != "/mnt/keys/k.json" {
		t.Errorf("RHEOS_KEYRING: %q, %v", c.KeyringPath(), err)
	}
	p := writeFile(t, `{"kms": {"keyring": "/mnt/keys/k.json"}}`)
	if c, err := Load([]string{"--config", p}, noEnv); err != nil || c.Keyring != "/mnt/keys/k.json" {
		t.Errorf("kms.keyring in the file: %q, %v", c.Keyring, err)
	}
	p = writeFile(t, `{"kms": {"keyring": "/mnt/keys/k.json", "endpoint": "http://kms"}}`)
	if _, err := Load([]string{"--config", p}, noEnv); err == nil || !strings.Contains(err.Error(), "kms.keyring and kms.endpoint") {
		t.Errorf("keyring with a KMS endpoint: %v", err)
	}
}

// TestWebRTCSection: the TURN settings from the file, the environment and
// flags, and what Validate refuses.
func TestWebRTCSection(t *testing.T) {
	p := writeFile(t, `{"webrtc": {"turnAddr": "0.0.0.0:3478", "turnRelayPorts": "49160-49200"}}`)
	env := map[string]string{"RHEOS_TURN_SECRET": "s3cret", "RHEOS_TURN_RELAY_PORTS": "50000-50010"}
	c, err := Load([]string{"--config", p, "--turn-public-ip", "203.0.113.7"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	lo, hi, err := c.TURNRelayRange()
	if c.TURNAddr != "0.0.0.0:3478" || c.TURNPublicIP != "203.0.113.7" || c.TURNSecret != "s3cret" || lo != 50000 || hi != 50010 || err != nil {
		t.Fatalf("webrtc %+v %d-%d %v", c.WebRTC, lo, hi, err)
	}
	for _, bad := range []WebRTC{{TURNAddr: "3478"}, {TURNPublicIP: "turn.example"}, {TURNRelayPorts: "200-100"}, {TURNRelayPorts: "0-10"}} {
		c := Default()
		c.WebRTC = bad
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "webrtc.") {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	c = Default()
	c.TURNAddr = "off"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
