package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestJSSDKOverH2C runs the AWS SDK for JavaScript v3 (put, get and
// SubscribeToShard; HTTP/2 prior knowledge
// on http://) against the real server: the port must speak h2c.
func TestJSSDKOverH2C(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is required (make test installs the e2e/js packages): ", err)
	}
	if _, err := os.Stat("js/node_modules/@aws-sdk/client-kinesis"); err != nil {
		t.Fatal("e2e/js/node_modules is missing: run `make test-deps` (npm ci in e2e/js)")
	}
	p := startServer(t, filepath.Join(t.TempDir(), "data"), freePort(t))
	cmd := exec.Command(node, "smoke.mjs", "http://"+p.addr)
	cmd.Dir = "js"
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok 20\n") {
		t.Fatalf("JS SDK smoke test: %v\n%s", err, out)
	}
}
