package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLambdaWithAWSCLI: the AWS CLI (v2 and v1), pointed at Rheos, creates
// a Node.js function from a zip of a plain Lambda handler, invokes it with
// the log tail, reads its configuration and deletes it (functions.md §5,
// test 1); boto3 sees a function error as Lambda reports it.
func TestLambdaWithAWSCLI(t *testing.T) {
	addr := freePort(t)
	startServerWith(t, t.TempDir(), addr, nil, "--functions-exec")
	dir := t.TempDir()
	zipPath := filepath.Join(dir, "fn.zip")
	os.WriteFile(zipPath, nodeHandlerZip(t), 0o644)
	for name, cli := range awsCLIs(t) {
		t.Run(name, func(t *testing.T) {
			run := func(args ...string) []byte { t.Helper(); return runAWS(t, cli, addr, args...) }
			fn := "cli-" + name
			var created struct{ FunctionArn, State, Runtime string }
			json.Unmarshal(run("lambda", "create-function", "--function-name", fn, "--runtime", "nodejs20.x", "--handler", "index.handler",
				"--role", "arn:aws:iam::000000000000:role/r", "--zip-file", "fileb://"+zipPath), &created)
			if created.FunctionArn != "arn:aws:lambda:us-east-1:000000000000:function:"+fn || created.State != "Active" || created.Runtime != "nodejs20.x" {
				t.Fatalf("create-function: %+v", created)
			}
			outFile := filepath.Join(dir, fn+".json")
			args := []string{"lambda", "invoke", "--function-name", fn, "--payload", `{"N":5}`, "--log-type", "Tail", outFile}
			if name == "v2" {
				args = append(args[:len(args)-1], "--cli-binary-format", "raw-in-base64-out", outFile)
			}
			var inv struct {
				StatusCode      int
				LogResult       string
				ExecutedVersion string
			}
			json.Unmarshal(run(args...), &inv)
			logs, _ := base64.StdEncoding.DecodeString(inv.LogResult)
			body, _ := os.ReadFile(outFile)
			if inv.StatusCode != 200 || inv.ExecutedVersion != "$LATEST" || !strings.Contains(string(logs), "hello from node") ||
				!strings.Contains(string(body), `"echo":{"N":5}`) {
				t.Fatalf("invoke: %+v, log %q, body %s", inv, logs, body)
			}
			var cfg struct{ Handler string }
			json.Unmarshal(run("lambda", "get-function-configuration", "--function-name", fn), &cfg)
			if cfg.Handler != "index.handler" {
				t.Fatalf("get-function-configuration: %+v", cfg)
			}
			run("lambda", "delete-function", "--function-name", fn)
		})
	}
	script := `
import boto3, json, sys
c = boto3.client("lambda", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
c.create_function(FunctionName="boto", Runtime="nodejs20.x", Handler="index.handler", Role="arn:aws:iam::000000000000:role/r",
                  Code={"ZipFile": open(sys.argv[2], "rb").read()})
r = c.invoke(FunctionName="boto", Payload=json.dumps({"fail": True}))
body = json.loads(r["Payload"].read())
assert r["StatusCode"] == 200 and r["FunctionError"] == "Unhandled", r
assert body["errorMessage"] == "asked to fail" and body["errorType"] == "TypeError", body
try:
    c.get_function(FunctionName="nope")
    raise SystemExit("no error for a missing function")
except c.exceptions.ResourceNotFoundException as e:
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404, e.response
print("ok")
`
	out, err := exec.Command("python3", "-c", script, "http://"+addr, zipPath).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	// The built-in view lists it.
	out, err = exec.Command(rheosBinary(t), "functions", "list", "--endpoint", "http://"+addr).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "boto\tnodejs20.x\tindex.handler\t3s\tActive") {
		t.Fatalf("rheos functions list: %v\n%s", err, out)
	}
}
