package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func lambdaClient(url string) *lambda.Client {
	return lambda.New(lambda.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")})
}

func wantAPIError(t *testing.T, err error, code string, msgPart string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msgPart) {
		t.Fatalf("got %v, want %s containing %q", err, code, msgPart)
	}
}

// TestLambdaJQFunction: the Lambda API on the shared port, with the real
// Go SDK: a jq function is created from a zip, invoked (with the log tail),
// fails as Lambda functions fail, is listed, updated and deleted.
func TestLambdaJQFunction(t *testing.T) {
	ts := newServer(t)
	lc := lambdaClient(ts.url)
	ctx := context.Background()
	code := zipOf(t, map[string]string{"transform.jq": `{sum: (.a + .b), keys: (keys)}`, "fail.jq": `error("boom")`})
	created, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("adder"), Runtime: "rheos.jq",
		Handler: aws.String("transform.jq"), Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &types.FunctionCode{ZipFile: code},
		Environment: &types.Environment{Variables: map[string]string{"K": "V"}}})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(created.FunctionArn) != "arn:aws:lambda:us-east-1:000000000000:function:adder" || created.State != types.StateActive ||
		aws.ToString(created.Version) != "$LATEST" || created.CodeSize != int64(len(code)) || aws.ToInt32(created.Timeout) != 3 {
		t.Fatalf("created %+v", created)
	}
	_, err = lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("adder"), Runtime: "rheos.jq",
		Handler: aws.String("transform.jq"), Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &types.FunctionCode{ZipFile: code}})
	var conflict *types.ResourceConflictException
	if !errors.As(err, &conflict) || conflict.ErrorMessage() != "Function already exist: adder" {
		t.Fatalf("second create: %v", err)
	}
	out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("adder"), Payload: []byte(`{"a":2,"b":40}`), LogType: types.LogTypeTail})
	if err != nil || string(out.Payload) != `{"keys":["a","b"],"sum":42}` || out.StatusCode != 200 || out.FunctionError != nil {
		t.Fatalf("invoke: %+v %s %v", out, out.Payload, err)
	}
	logb, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	if !strings.HasPrefix(string(logb), "START RequestId: ") || !strings.Contains(string(logb), "\nEND RequestId: ") || !strings.Contains(string(logb), "\nREPORT RequestId: ") {
		t.Fatalf("log tail %q", logb)
	}
	// The function by ARN and by partial ARN.
	for _, ref := range []string{"arn:aws:lambda:us-east-1:000000000000:function:adder", "000000000000:function:adder", "adder:$LATEST"} {
		if out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(ref), Payload: []byte(`{"a":1,"b":1}`)}); err != nil || !strings.Contains(string(out.Payload), `"sum":2`) {
			t.Fatalf("invoke %s: %v", ref, err)
		}
	}
	if _, err := lc.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("adder"), Handler: aws.String("fail.jq"), Timeout: aws.Int32(10)}); err != nil {
		t.Fatal(err)
	}
	out, err = lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("adder"), Payload: []byte(`{}`)})
	if err != nil || aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), `"errorMessage":"boom"`) || out.StatusCode != 200 {
		t.Fatalf("failing invoke: %+v %s %v", out, out.Payload, err)
	}
	// Reserved concurrency 0 throttles every invocation, as on AWS.
	if _, err := lc.PutFunctionConcurrency(ctx, &lambda.PutFunctionConcurrencyInput{FunctionName: aws.String("adder"), ReservedConcurrentExecutions: aws.Int32(0)}); err != nil {
		t.Fatal(err)
	}
	_, err = lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("adder"), Payload: []byte(`{}`)})
	var throttled *types.TooManyRequestsException
	if !errors.As(err, &throttled) {
		t.Fatalf("invoke at reserved concurrency 0: %v", err)
	}
	if gc, err := lc.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String("adder")}); err != nil || aws.ToInt32(gc.ReservedConcurrentExecutions) != 0 || gc.ReservedConcurrentExecutions == nil {
		t.Fatalf("get concurrency: %+v %v", gc, err)
	}
	if _, err := lc.DeleteFunctionConcurrency(ctx, &lambda.DeleteFunctionConcurrencyInput{FunctionName: aws.String("adder")}); err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:lambda:us-east-1:000000000000:function:adder"
	if _, err := lc.TagResource(ctx, &lambda.TagResourceInput{Resource: aws.String(arn), Tags: map[string]string{"team": "a", "env": "dev"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := lc.UntagResource(ctx, &lambda.UntagResourceInput{Resource: aws.String(arn), TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	if tags, err := lc.ListTags(ctx, &lambda.ListTagsInput{Resource: aws.String(arn)}); err != nil || len(tags.Tags) != 1 || tags.Tags["team"] != "a" {
		t.Fatalf("tags: %+v %v", tags, err)
	}
	if dry, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("adder"), InvocationType: types.InvocationTypeDryRun}); err != nil || dry.StatusCode != 204 {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	// CloudWatch's Invocations, Errors and Throttles, as Prometheus counters.
	resp, err := http.Get(ts.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`rheos_lambda_invocations_total{function="adder",outcome="success"} 4`, `rheos_lambda_invocations_total{function="adder",outcome="error"} 1`,
		`rheos_lambda_duration_seconds_count{function="adder"} 5`, `rheos_lambda_throttles_total{function="adder"} 1`} {
		if !strings.Contains(string(mb), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	got, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("adder")})
	if err != nil || aws.ToInt32(got.Configuration.Timeout) != 10 || aws.ToString(got.Configuration.Handler) != "fail.jq" ||
		got.Configuration.Environment.Variables["K"] != "V" {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("b-other"), Runtime: "rheos.jq",
		Handler: aws.String("transform.jq"), Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &types.FunctionCode{ZipFile: code}}); err != nil {
		t.Fatal(err)
	}
	page, err := lc.ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(1)})
	if err != nil || len(page.Functions) != 1 || aws.ToString(page.Functions[0].FunctionName) != "adder" || aws.ToString(page.NextMarker) == "" {
		t.Fatalf("list page 1: %+v %v", page, err)
	}
	page, err = lc.ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(1), Marker: page.NextMarker})
	if err != nil || len(page.Functions) != 1 || aws.ToString(page.Functions[0].FunctionName) != "b-other" || page.NextMarker != nil {
		t.Fatalf("list page 2: %+v %v", page, err)
	}
	if _, err := lc.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("adder")}); err != nil {
		t.Fatal(err)
	}
	_, err = lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("adder")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || nf.ErrorMessage() != "Function not found: arn:aws:lambda:us-east-1:000000000000:function:adder" {
		t.Fatalf("get after delete: %v", err)
	}
	// Refusals: constraint violations, a bad program, runtimes not served yet.
	_, err = lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("bad name")})
	wantAPIError(t, err, "ValidationException", "Value 'bad name' at 'functionName' failed to satisfy constraint")
	_, err = lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("broken"), Runtime: "rheos.jq",
		Handler: aws.String("x.jq"), Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &types.FunctionCode{ZipFile: zipOf(t, map[string]string{"x.jq": "{"})}})
	wantAPIError(t, err, "InvalidParameterValueException", "does not compile")
	_, err = lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("node"), Runtime: types.RuntimeNodejs20x,
		Handler: aws.String("index.handler"), Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &types.FunctionCode{ZipFile: code}})
	wantAPIError(t, err, "InvalidParameterValueException", "--functions-exec")
}

// TestLambdaURLFunction: a url function forwards the invocation to a
// server speaking the Invoke API (here on the Runtime Interface
// Emulator's path) and times out as Lambda does.
func TestLambdaURLFunction(t *testing.T) {
	asyncGot := make(chan string, 1)
	rie := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/2015-03-31/functions/function/invocations" {
			http.NotFound(w, r)
			return
		}
		b, _ := io.ReadAll(r.Body)
		if bytes.Contains(b, []byte("async")) {
			asyncGot <- string(b)
		}
		if bytes.Contains(b, []byte("slow")) {
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
			return
		}
		w.Write(bytes.ToUpper(b))
	}))
	defer rie.Close()
	ts := newServer(t)
	lc := lambdaClient(ts.url)
	ctx := context.Background()
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("remote"), PackageType: types.PackageTypeImage,
		Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &types.FunctionCode{ImageUri: aws.String(rie.URL)}, Timeout: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	out, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("remote"), Payload: []byte(`{"x":"y"}`)})
	if err != nil || string(out.Payload) != `{"X":"Y"}` || out.FunctionError != nil {
		t.Fatalf("invoke: %+v %v", out, err)
	}
	// An Event invocation is queued durably (202) and delivered.
	if ev, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("remote"), InvocationType: types.InvocationTypeEvent, Payload: []byte(`{"async":1}`)}); err != nil || ev.StatusCode != 202 {
		t.Fatalf("event invoke: %+v %v", ev, err)
	}
	select {
	case got := <-asyncGot:
		if got != `{"async":1}` {
			t.Fatalf("async payload %s", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the Event invocation never reached the function")
	}
	start := time.Now()
	out, err = lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("remote"), Payload: []byte(`"slow"`)})
	if err != nil || aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "Task timed out after 1.00 seconds") {
		t.Fatalf("timeout: %+v %s %v", out, out.Payload, err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("a 1 s timeout took %v", took)
	}
	_, err = lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("img"), PackageType: types.PackageTypeImage,
		Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &types.FunctionCode{ImageUri: aws.String("123.dkr.ecr.us-east-1.amazonaws.com/x:latest")}})
	wantAPIError(t, err, "InvalidParameterValueException", "Code.ImageUri must be http(s)")
}
