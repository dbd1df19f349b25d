package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/rheos/rheos/internal/config"
)

// zipDir zips the files of a testdata directory.
func zipDir(t *testing.T, dir string) []byte {
	t.Helper()
	files := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	return zipOf(t, files)
}

// TestLambdaSubprocessHandlers: users' unchanged Node.js and Python
// handlers run as warm subprocesses behind the built-in Runtime API: the
// response, the context, the environment (AWS_ENDPOINT_URL points at
// Rheos), the log tail, a thrown error, a missing handler, and a timeout
// after which the next invocation starts a fresh process.
func TestLambdaSubprocessHandlers(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *config.Config) { c.FunctionsExec = true })
	lc := lambdaClient(ts.url)
	ctx := context.Background()
	for _, tc := range []struct {
		runtime                types.Runtime
		handler, dir, greeting string
	}{
		{types.RuntimeNodejs20x, "index.handler", "testdata/functions/node", "hello from node"},
		{types.RuntimePython311, "lambda_function.lambda_handler", "testdata/functions/python", "hello from python"},
	} {
		t.Run(string(tc.runtime), func(t *testing.T) {
			name := strings.ReplaceAll(string(tc.runtime), ".", "-")
			if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name), Runtime: tc.runtime,
				Handler: aws.String(tc.handler), Role: aws.String("arn:aws:iam::000000000000:role/r"), Timeout: aws.Int32(1),
				Code: &types.FunctionCode{ZipFile: zipDir(t, tc.dir)}, Environment: &types.Environment{Variables: map[string]string{"CUSTOM": "yes"}}}); err != nil {
				t.Fatal(err)
			}
			var out struct {
				Echo                struct{ N int }
				Invocations         int
				RequestID, Function string
				Remaining           bool
				Endpoint, Custom    string
			}
			for i := 1; i <= 2; i++ {
				res, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"N":7}`), LogType: types.LogTypeTail})
				if err != nil || res.FunctionError != nil {
					t.Fatalf("invoke %d: %v %s", i, err, res.Payload)
				}
				if err := json.Unmarshal(res.Payload, &out); err != nil {
					t.Fatal(err)
				}
				if out.Echo.N != 7 || out.Invocations != i || out.RequestID == "" || out.Function != name || !out.Remaining ||
					out.Endpoint != ts.url || out.Custom != "yes" {
					t.Fatalf("invoke %d: %s", i, res.Payload)
				}
				logs, _ := base64.StdEncoding.DecodeString(aws.ToString(res.LogResult))
				if !strings.Contains(string(logs), tc.greeting) || !strings.Contains(string(logs), "REPORT RequestId: "+out.RequestID) ||
					strings.Contains(string(logs), "rheos-end") {
					t.Fatalf("log tail %q", logs)
				}
			}
			res, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"fail":true}`)})
			if err != nil || aws.ToString(res.FunctionError) != "Unhandled" || !strings.Contains(strings.ReplaceAll(string(res.Payload), `": "`, `":"`), `"errorMessage":"asked to fail"`) ||
				strings.Contains(string(res.Payload), "shim") {
				t.Fatalf("throwing handler: %v %s", err, res.Payload)
			}
			res, err = lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"sleepMs":3000}`)})
			if err != nil || aws.ToString(res.FunctionError) != "Unhandled" || !strings.Contains(string(res.Payload), "Task timed out after 1.00 seconds") {
				t.Fatalf("timeout: %v %s", err, res.Payload)
			}
			res, err = lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{"N":7}`)})
			if err != nil || res.FunctionError != nil || json.Unmarshal(res.Payload, &out) != nil || out.Invocations != 1 {
				t.Fatalf("after the timeout (a fresh process): %v %s", err, res.Payload)
			}
			if _, err := lc.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String(name), Handler: aws.String("missing.handler")}); err != nil {
				t.Fatal(err)
			}
			res, err = lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(`{}`)})
			if err != nil || aws.ToString(res.FunctionError) != "Unhandled" || !strings.Contains(string(res.Payload), "Runtime.") {
				t.Fatalf("missing handler: %v %s", err, res.Payload)
			}
		})
	}
}

// TestLambdaSubprocessOffByDefault: without --functions-exec a subprocess
// runtime is refused, saying how to enable it.
func TestLambdaSubprocessOffByDefault(t *testing.T) {
	ts := newServer(t)
	_, err := lambdaClient(ts.url).CreateFunction(context.Background(), &lambda.CreateFunctionInput{FunctionName: aws.String("n"), Runtime: types.RuntimeNodejs20x,
		Handler: aws.String("index.handler"), Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &types.FunctionCode{ZipFile: zipDir(t, "testdata/functions/node")}})
	wantAPIError(t, err, "InvalidParameterValueException", "--functions-exec")
}

// TestLambdaSlowInitNotCountedInTimeout: as on AWS, a cold start's init
// phase (here a module that takes 1.5 s to import) has its own limit and
// does not eat the function's 1 s timeout, which starts when the event is
// handed to the runtime: the invocation succeeds and the handler's
// remaining time is at most the timeout.
func TestLambdaSlowInitNotCountedInTimeout(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *config.Config) { c.FunctionsExec = true })
	lc := lambdaClient(ts.url)
	ctx := context.Background()
	code := zipOf(t, map[string]string{"lambda_function.py": "import time\ntime.sleep(1.5)\n\n" +
		"def lambda_handler(event, context):\n    return {\"remainingMs\": context.get_remaining_time_in_millis()}\n"})
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("slow-init"), Runtime: types.RuntimePython311,
		Handler: aws.String("lambda_function.lambda_handler"), Role: aws.String("arn:aws:iam::000000000000:role/r"), Timeout: aws.Int32(1),
		Code: &types.FunctionCode{ZipFile: code}}); err != nil {
		t.Fatal(err)
	}
	res, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("slow-init"), Payload: []byte(`{}`)})
	if err != nil || res.FunctionError != nil {
		t.Fatalf("cold start slower than the timeout: %v %s", err, res.Payload)
	}
	var out struct{ RemainingMs int }
	if err := json.Unmarshal(res.Payload, &out); err != nil || out.RemainingMs <= 0 || out.RemainingMs > 1000 {
		t.Fatalf("remaining time %s (want 0 < ms ≤ 1000)", res.Payload)
	}
}
