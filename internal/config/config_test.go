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
