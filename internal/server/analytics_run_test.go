package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	ka "github.com/aws/aws-sdk-go-v2/service/kinesisanalytics"
	kat "github.com/aws/aws-sdk-go-v2/service/kinesisanalytics/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/rheos/rheos/internal/config"
)

// readRows reads a one-shard stream of JSON rows from TRIM_HORIZON until want records
// arrived (or 20 s passed), then 300 ms more to catch extra ones.
func (ts *testServer) readRows(t *testing.T, stream string, want int) []map[string]any {
	t.Helper()
	ctx := context.Background()
	it, err := ts.kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream),
		ShardId: aws.String("shardId-000000000000"), ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon})
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	iter := it.ShardIterator
	deadline := time.Now().Add(20 * time.Second)
	var settle time.Time
	for {
		res, err := ts.kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res.Records {
			var m map[string]any
			if err := json.Unmarshal(r.Data, &m); err != nil {
				t.Fatalf("output record %q: %v", r.Data, err)
			}
			out = append(out, m)
		}
		iter = res.NextShardIterator
		if len(out) >= want && settle.IsZero() {
			settle = time.Now().Add(300 * time.Millisecond)
		}
		if !settle.IsZero() && time.Now().After(settle) || time.Now().After(deadline) {
			return out
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func waitAppStatus(t *testing.T, c *ka.Client, name string, want kat.ApplicationStatus) *kat.ApplicationDetail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := c.DescribeApplication(context.Background(), &ka.DescribeApplicationInput{ApplicationName: aws.String(name)})
		if err == nil && d.ApplicationDetail.ApplicationStatus == want {
			return d.ApplicationDetail
		}
		if time.Now().After(deadline) {
			t.Fatalf("application %s not %s: %v %v", name, want, d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAnalyticsRunsApplication: an application reads a Data Stream, its
// pump filters and computes, and its output stream's rows arrive in a Data
// Stream as JSON; a live update changes the computation; after a stop,
// records put meanwhile are read from LAST_STOPPED_POINT, none lost or
// repeated.
func TestAnalyticsRunsApplication(t *testing.T) {
	ts := newServer(t)
	ctx := context.Background()
	ts.createStream(t, "ticks", 1)
	ts.createStream(t, "doubled", 1)
	c, _ := ts.analyticsClients()
	code := func(factor int) string {
		return fmt.Sprintf(`CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (ticker VARCHAR(4), price DOUBLE, n INTEGER);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM ticker, price * %d, n FROM "SOURCE_SQL_STREAM_001" WHERE price > 10;`, factor)
	}
	in := kat.Input{NamePrefix: aws.String("SOURCE_SQL_STREAM"),
		KinesisStreamsInput: &kat.KinesisStreamsInput{ResourceARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/ticks"), RoleARN: aws.String("arn:aws:iam::000000000000:role/r")},
		InputSchema: &kat.SourceSchema{
			RecordFormat: &kat.RecordFormat{RecordFormatType: kat.RecordFormatTypeJson,
				MappingParameters: &kat.MappingParameters{JSONMappingParameters: &kat.JSONMappingParameters{RecordRowPath: aws.String("$")}}},
			RecordColumns: []kat.RecordColumn{
				{Name: aws.String("TICKER"), SqlType: aws.String("VARCHAR(4)"), Mapping: aws.String("$.ticker")},
				{Name: aws.String("PRICE"), SqlType: aws.String("DOUBLE"), Mapping: aws.String("$.price")},
				{Name: aws.String("N"), SqlType: aws.String("INTEGER"), Mapping: aws.String("$.n")}},
		}}
	out := kat.Output{Name: aws.String("DESTINATION_SQL_STREAM"), DestinationSchema: &kat.DestinationSchema{RecordFormatType: kat.RecordFormatTypeJson},
		KinesisStreamsOutput: &kat.KinesisStreamsOutput{ResourceARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/doubled"), RoleARN: aws.String("arn:aws:iam::000000000000:role/r")}}
	if _, err := c.CreateApplication(ctx, &ka.CreateApplicationInput{ApplicationName: aws.String("doubler"), ApplicationCode: aws.String(code(2)),
		Inputs: []kat.Input{in}, Outputs: []kat.Output{out}}); err != nil {
		t.Fatal(err)
	}
	put := func(from, to int) {
		t.Helper()
		var entries []ktypes.PutRecordsRequestEntry
		for n := from; n < to; n++ {
			entries = append(entries, ktypes.PutRecordsRequestEntry{PartitionKey: aws.String("k"),
				Data: fmt.Appendf(nil, `{"ticker":"T%d","price":%d,"n":%d}`, n%3, 5+n, n)})
		}
		if _, err := ts.kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("ticks"), Records: entries}); err != nil {
			t.Fatal(err)
		}
	}
	put(0, 10) // prices 5..14: n 6..9 pass the filter
	if _, err := c.StartApplication(ctx, &ka.StartApplicationInput{ApplicationName: aws.String("doubler"),
		InputConfigurations: []kat.InputConfiguration{{Id: aws.String("1.1"),
			InputStartingPositionConfiguration: &kat.InputStartingPositionConfiguration{InputStartingPosition: kat.InputStartingPositionTrimHorizon}}}}); err != nil {
		t.Fatal(err)
	}
	waitAppStatus(t, c, "doubler", kat.ApplicationStatusRunning)
	got := ts.readRows(t, "doubled", 4)
	if len(got) != 4 || got[0]["TICKER"] != "T0" || got[0]["PRICE"] != 22.0 || got[0]["N"] != 6.0 {
		t.Fatalf("first output %v", got)
	}
	// A live update: the factor becomes 3 for what is read next.
	d := waitAppStatus(t, c, "doubler", kat.ApplicationStatusRunning)
	if _, err := c.UpdateApplication(ctx, &ka.UpdateApplicationInput{ApplicationName: aws.String("doubler"), CurrentApplicationVersionId: d.ApplicationVersionId,
		ApplicationUpdate: &kat.ApplicationUpdate{ApplicationCodeUpdate: aws.String(code(3))}}); err != nil {
		t.Fatal(err)
	}
	waitAppStatus(t, c, "doubler", kat.ApplicationStatusRunning)
	put(10, 12)
	got = ts.readRows(t, "doubled", 6)
	if len(got) != 6 || got[4]["PRICE"] != 45.0 || got[5]["N"] != 11.0 {
		t.Fatalf("after the update %v", got)
	}
	// Stop, put while stopped, resume from LAST_STOPPED_POINT.
	if _, err := c.StopApplication(ctx, &ka.StopApplicationInput{ApplicationName: aws.String("doubler")}); err != nil {
		t.Fatal(err)
	}
	waitAppStatus(t, c, "doubler", kat.ApplicationStatusReady)
	put(12, 20)
	if _, err := c.StartApplication(ctx, &ka.StartApplicationInput{ApplicationName: aws.String("doubler"),
		InputConfigurations: []kat.InputConfiguration{{Id: aws.String("1.1"),
			InputStartingPositionConfiguration: &kat.InputStartingPositionConfiguration{InputStartingPosition: kat.InputStartingPositionLastStoppedPoint}}}}); err != nil {
		t.Fatal(err)
	}
	got = ts.readRows(t, "doubled", 14)
	var ns []int
	for _, r := range got {
		ns = append(ns, int(r["N"].(float64)))
	}
	sort.Ints(ns)
	if fmt.Sprint(ns) != "[6 7 8 9 10 11 12 13 14 15 16 17 18 19]" {
		t.Fatalf("n over the stop: %v (want each of 6..19 once)", ns)
	}
}

// TestAnalyticsLambdaPreprocessorAndOutput: a Lambda preprocessor (a jq
// function) rewrites and drops input records before the schema maps them,
// and a Lambda output (a Python handler) receives the rows with AWS's
// event shape; its DeliveryFailed answers are retried with a retryHint.
func TestAnalyticsLambdaPreprocessorAndOutput(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *config.Config) { c.FunctionsExec = true })
	ctx := context.Background()
	ts.createStream(t, "raw", 1)
	lc := lambdaClient(ts.url)
	pre := `{records: [.records[] | (.data | @base64d | fromjson) as $r |
		if $r.drop then {recordId, result: "Dropped"}
		else {recordId, result: "Ok", data: ($r | .ticker |= ascii_upcase | tojson | @base64)} end]}`
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("pre"), Runtime: "rheos.jq",
		Handler: aws.String("t.jq"), Role: aws.String("arn:aws:iam::000000000000:role/r"), Code: &lambdatypes.FunctionCode{ZipFile: zipOf(t, map[string]string{"t.jq": pre})}}); err != nil {
		t.Fatal(err)
	}
	sink := filepath.Join(t.TempDir(), "delivered.jsonl")
	handler := `import base64, json, os
def handler(event, context):
    out = []
    with open(os.environ["SINK"], "a") as f:
        for r in event["records"]:
            hint = r["lambdaDeliveryRecordMetadata"]["retryHint"]
            if hint == 0 and r["recordId"] == "0":
                out.append({"recordId": r["recordId"], "result": "DeliveryFailed"})
                continue
            f.write(json.dumps({"app": event["applicationArn"], "hint": hint, "row": json.loads(base64.b64decode(r["data"]))}) + "\n")
            out.append({"recordId": r["recordId"], "result": "Ok"})
    return {"records": out}
`
	if _, err := lc.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("out"), Runtime: lambdatypes.RuntimePython311,
		Handler: aws.String("h.handler"), Role: aws.String("arn:aws:iam::000000000000:role/r"), Timeout: aws.Int32(10),
		Code: &lambdatypes.FunctionCode{ZipFile: zipOf(t, map[string]string{"h.py": handler})}, Environment: &lambdatypes.Environment{Variables: map[string]string{"SINK": sink}}}); err != nil {
		t.Fatal(err)
	}
	c, _ := ts.analyticsClients()
	role := aws.String("arn:aws:iam::000000000000:role/r")
	code := `CREATE OR REPLACE STREAM "DEST" (ticker VARCHAR(4), price DOUBLE);
CREATE OR REPLACE PUMP "P" AS INSERT INTO "DEST" SELECT STREAM TICKER, PRICE FROM "SOURCE_SQL_STREAM_001";`
	if _, err := c.CreateApplication(ctx, &ka.CreateApplicationInput{ApplicationName: aws.String("lam"), ApplicationCode: aws.String(code),
		Inputs: []kat.Input{{NamePrefix: aws.String("SOURCE_SQL_STREAM"),
			KinesisStreamsInput: &kat.KinesisStreamsInput{ResourceARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/raw"), RoleARN: role},
			InputProcessingConfiguration: &kat.InputProcessingConfiguration{InputLambdaProcessor: &kat.InputLambdaProcessor{
				ResourceARN: aws.String("arn:aws:lambda:us-east-1:000000000000:function:pre"), RoleARN: role}},
			InputSchema: &kat.SourceSchema{RecordFormat: &kat.RecordFormat{RecordFormatType: kat.RecordFormatTypeJson,
				MappingParameters: &kat.MappingParameters{JSONMappingParameters: &kat.JSONMappingParameters{RecordRowPath: aws.String("$")}}},
				RecordColumns: []kat.RecordColumn{{Name: aws.String("TICKER"), SqlType: aws.String("VARCHAR(4)"), Mapping: aws.String("$.ticker")},
					{Name: aws.String("PRICE"), SqlType: aws.String("DOUBLE"), Mapping: aws.String("$.price")}}}}},
		Outputs: []kat.Output{{Name: aws.String("DEST"), DestinationSchema: &kat.DestinationSchema{RecordFormatType: kat.RecordFormatTypeJson},
			LambdaOutput: &kat.LambdaOutput{ResourceARN: aws.String("arn:aws:lambda:us-east-1:000000000000:function:out"), RoleARN: role}}}}); err != nil {
		t.Fatal(err)
	}
	var entries []ktypes.PutRecordsRequestEntry
	for i, r := range []string{`{"ticker":"amzn","price":1}`, `{"ticker":"x","drop":true}`, `{"ticker":"goog","price":2}`} {
		entries = append(entries, ktypes.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint(i)), Data: []byte(r)})
	}
	if _, err := ts.kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("raw"), Records: entries}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartApplication(ctx, &ka.StartApplicationInput{ApplicationName: aws.String("lam"), InputConfigurations: []kat.InputConfiguration{{Id: aws.String("1.1"),
		InputStartingPositionConfiguration: &kat.InputStartingPositionConfiguration{InputStartingPosition: kat.InputStartingPositionTrimHorizon}}}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	var lines []string
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(sink)
		if lines = strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) >= 2 && strings.HasSuffix(string(b), "\n") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var got []string
	for _, l := range lines {
		var d struct {
			App  string
			Hint int
			Row  struct {
				TICKER string
				PRICE  float64
			}
		}
		if err := json.Unmarshal([]byte(l), &d); err != nil || d.App != "arn:aws:kinesisanalytics:us-east-1:000000000000:application/lam" {
			t.Fatalf("delivered %s: %v", l, err)
		}
		got = append(got, fmt.Sprintf("%s=%v/%d", d.Row.TICKER, d.Row.PRICE, d.Hint))
	}
	sort.Strings(got)
	if fmt.Sprint(got) != "[AMZN=1/1 GOOG=2/0]" && fmt.Sprint(got) != "[AMZN=1/1 GOOG=2/1]" {
		t.Errorf("delivered %v (want AMZN retried with retryHint 1, GOOG once, the dropped record absent)", got)
	}
}
