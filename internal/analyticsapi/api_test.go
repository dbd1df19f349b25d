package analyticsapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/rheos/rheos/internal/analytics"
	"github.com/rheos/rheos/internal/awsmodel/analyticsmodel"
	"github.com/rheos/rheos/internal/awsmodel/analyticsv2model"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/metastore"
)

// Every exception either model says an operation may return is in the
// catalog, and every domain kind maps to one of them (or InternalFailure).
func TestExceptionsCoverTheModels(t *testing.T) {
	for _, m := range []*struct {
		name string
		ops  map[string][]string
	}{
		{"v1", errorsOf(analyticsmodel.Model.Operations)},
		{"v2", errorsOf(analyticsv2model.Model.Operations)},
	} {
		for op, errs := range m.ops {
			for _, e := range errs {
				if _, ok := Exceptions.Lookup(e); !ok {
					t.Errorf("%s %s may return %s, which the catalog lacks", m.name, op, e)
				}
			}
		}
	}
	for k := analytics.KindNotFound; k <= analytics.KindInternal; k++ {
		if _, ok := exceptionOf[k]; !ok {
			t.Errorf("domain kind %d has no exception", k)
		}
	}
	if ex, _ := Exceptions.Lookup("ServiceUnavailableException"); ex.Status != 503 || !ex.Retryable {
		t.Errorf("ServiceUnavailableException %+v: want a retryable 503", ex)
	}
}

func errorsOf[T any](ops map[string]T) map[string][]string {
	out := map[string][]string{}
	b, _ := json.Marshal(ops)
	var m map[string]struct{ Errors []string }
	json.Unmarshal(b, &m)
	for k, v := range m {
		out[k] = v.Errors
	}
	return out
}

// The v1 API serves all 20 operations; of v2's, these have no meaning for
// SQL applications and answer UnsupportedOperationException.
func TestOperationsServed(t *testing.T) {
	a := &api{}
	if n := len(analyticsmodel.Model.Operations); n != 20 {
		t.Fatalf("the v1 model has %d operations", n)
	}
	for op := range analyticsmodel.Model.Operations {
		if _, ok := a.v1Handlers()[op]; !ok {
			t.Errorf("v1 %s has no handler", op)
		}
	}
	var unsupported []string
	for op := range analyticsv2model.Model.Operations {
		if _, ok := a.v2Handlers()[op]; !ok {
			unsupported = append(unsupported, op)
		}
	}
	sort.Strings(unsupported)
	want := "AddApplicationVpcConfiguration CreateApplicationPresignedUrl CreateApplicationSnapshot DeleteApplicationSnapshot " +
		"DeleteApplicationVpcConfiguration DescribeApplicationOperation DescribeApplicationSnapshot DescribeApplicationVersion " +
		"ListApplicationOperations ListApplicationSnapshots ListApplicationVersions RollbackApplication UpdateApplicationMaintenanceConfiguration"
	if got := strings.Join(unsupported, " "); got != want {
		t.Errorf("unsupported v2 operations:\n%s\nwant\n%s", got, want)
	}
}

type rawResp struct {
	status int
	body   map[string]any
}

func newAPI(t *testing.T) (*analytics.Service, func(target, body string) rawResp) {
	t.Helper()
	meta, err := metastore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	svc := analytics.New(analytics.Config{Account: "000000000000"}, meta)
	ep, err := New(svc, "000000000000")
	if err != nil {
		t.Fatal(err)
	}
	rt := awsproto.NewRouter(&awsproto.Env{DefaultRegion: "us-east-1"})
	rt.Register(ep)
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	return svc, func(target, body string) rawResp {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", target)
		req.Header.Set("X-Amz-Date", "20260101T000000Z")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/kinesisanalytics/aws4_request, SignedHeaders=host, Signature=x")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		json.Unmarshal(b, &m)
		return rawResp{resp.StatusCode, m}
	}
}

// One signing name, two target prefixes: each request reaches its API.
func TestBothAPIsOnOneEndpoint(t *testing.T) {
	_, call := newAPI(t)
	r := call("KinesisAnalytics_20150814.CreateApplication", `{"ApplicationName":"a"}`)
	if r.status != 200 || r.body["ApplicationSummary"] == nil {
		t.Fatalf("v1 create: %+v", r)
	}
	r = call("KinesisAnalytics_20180523.DescribeApplication", `{"ApplicationName":"a"}`)
	d, _ := r.body["ApplicationDetail"].(map[string]any)
	if r.status != 200 || d["RuntimeEnvironment"] != "SQL-1_0" || d["ApplicationVersionId"] != float64(1) {
		t.Fatalf("v2 describe of a v1 application: %+v", r)
	}
	r = call("KinesisAnalytics_20180523.CreateApplication", `{"ApplicationName":"z","RuntimeEnvironment":"ZEPPELIN-FLINK-3_0","ServiceExecutionRole":"arn:aws:iam::000000000000:role/r"}`)
	if r.status != 400 || r.body["__type"] != "UnsupportedOperationException" || !strings.Contains(r.body["message"].(string), "ZEPPELIN-FLINK-3_0") {
		t.Fatalf("zeppelin: %+v", r)
	}
	r = call("KinesisAnalytics_20180523.CreateApplicationSnapshot", `{"ApplicationName":"a","SnapshotName":"s"}`)
	if r.status != 400 || r.body["__type"] != "UnsupportedOperationException" {
		t.Fatalf("snapshot: %+v", r)
	}
	r = call("KinesisAnalytics_20150814.DescribeApplication", `{"ApplicationName":"missing"}`)
	if r.status != 400 || r.body["__type"] != "ResourceNotFoundException" {
		t.Fatalf("missing: %+v", r)
	}
	// The model's constraints are checked before the handler.
	r = call("KinesisAnalytics_20150814.CreateApplication", `{"ApplicationName":"a b"}`)
	if r.status != 400 || !strings.Contains(r.body["message"].(string), "[a-zA-Z0-9_.-]+") {
		t.Fatalf("bad name: %+v", r)
	}
	r = call("KinesisAnalytics_20150814.TagResource", `{"ResourceARN":"arn:aws:kinesis:us-east-1:000000000000:stream/x","Tags":[{"Key":"k"}]}`)
	// The model's ARN pattern refuses it first, in AWS's words.
	if r.status != 400 || r.body["__type"] != "ValidationException" ||
		!strings.Contains(r.body["message"].(string), "Member must satisfy regular expression pattern: arn:aws:kinesisanalytics:") {
		t.Fatalf("tag a non-application ARN: %+v", r)
	}
}

// The describe shapes carry AWS's description member names.
func TestDescriptionShapes(t *testing.T) {
	_, call := newAPI(t)
	in := `{"ApplicationName":"s","Inputs":[{"NamePrefix":"SRC","InputParallelism":{"Count":2},
		"KinesisFirehoseInput":{"ResourceARN":"arn:aws:firehose:us-east-1:000000000000:deliverystream/f","RoleARN":"arn:aws:iam::000000000000:role/r"},
		"InputProcessingConfiguration":{"InputLambdaProcessor":{"ResourceARN":"arn:aws:lambda:us-east-1:000000000000:function:p","RoleARN":"arn:aws:iam::000000000000:role/r"}},
		"InputSchema":{"RecordFormat":{"RecordFormatType":"CSV","MappingParameters":{"CSVMappingParameters":{"RecordRowDelimiter":"\n","RecordColumnDelimiter":","}}},
		"RecordColumns":[{"Name":"A","SqlType":"INTEGER"}]}}],
		"Outputs":[{"Name":"OUT","DestinationSchema":{"RecordFormatType":"CSV"},"LambdaOutput":{"ResourceARN":"arn:aws:lambda:us-east-1:000000000000:function:o","RoleARN":"arn:aws:iam::000000000000:role/r"}}],
		"CloudWatchLoggingOptions":[{"LogStreamARN":"arn:aws:logs:us-east-1:000000000000:log-group:g:log-stream:s","RoleARN":"arn:aws:iam::000000000000:role/r"}]}`
	if r := call("KinesisAnalytics_20150814.CreateApplication", in); r.status != 200 {
		t.Fatalf("create: %+v", r)
	}
	r := call("KinesisAnalytics_20150814.DescribeApplication", `{"ApplicationName":"s"}`)
	b, _ := json.Marshal(r.body)
	for _, want := range []string{`"InAppStreamNames":["SRC_001","SRC_002"]`, `"KinesisFirehoseInputDescription":{`, `"InputLambdaProcessorDescription":{`,
		`"LambdaOutputDescription":{`, `"CloudWatchLoggingOptionId":"1.1"`, `"RecordEncoding":"UTF-8"`, `"InputParallelism":{"Count":2}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("describe lacks %s:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), `"Mapping"`) {
		t.Errorf("a CSV column has a Mapping: %s", b)
	}
}

// The code validator's error (with its position) is the
// CodeValidationException's message.
func TestCodeValidationException(t *testing.T) {
	svc, call := newAPI(t)
	svc.SetCodeValidator(func(code string) error {
		if strings.Contains(code, "SELEC ") {
			return &analytics.CodeError{Line: 1, Column: 1, Msg: "unexpected SELEC"}
		}
		return nil
	})
	r := call("KinesisAnalytics_20150814.CreateApplication", `{"ApplicationName":"c","ApplicationCode":"SELEC STREAM 1"}`)
	if r.status != 400 || r.body["__type"] != "CodeValidationException" || r.body["message"] != "Error at line 1, column 1: unexpected SELEC" {
		t.Fatalf("%+v", r)
	}
	r = call("KinesisAnalytics_20180523.CreateApplication", `{"ApplicationName":"c","RuntimeEnvironment":"SQL-1_0","ServiceExecutionRole":"arn:aws:iam::000000000000:role/r",
		"ApplicationConfiguration":{"ApplicationCodeConfiguration":{"CodeContentType":"PLAINTEXT","CodeContent":{"TextContent":"SELEC STREAM 1"}}}}`)
	if r.status != 400 || r.body["__type"] != "CodeValidationException" {
		t.Fatalf("v2: %+v", r)
	}
}
