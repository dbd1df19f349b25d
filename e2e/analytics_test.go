package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAnalyticsWithAWSCLI: the Kinesis Data Analytics control plane through
// AWS CLI v2 against the real binary: create, describe, list, update with a
// stale and a current version, add-output, tags, DiscoverInputSchema from a
// stream of JSON records, and delete by CreateTimestamp.
func TestAnalyticsWithAWSCLI(t *testing.T) {
	p := startServer(t, filepath.Join(t.TempDir(), "data"), freePort(t))
	run := func(args ...string) (string, error) {
		cmd := exec.Command("/usr/bin/aws", append([]string{"--endpoint-url", "http://" + p.addr, "--region", "us-east-1", "--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret", "AWS_PAGER=",
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := run(args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	role := "arn:aws:iam::000000000000:role/kda"
	input := `[{"NamePrefix":"SOURCE_SQL_STREAM","KinesisStreamsInput":{"ResourceARN":"arn:aws:kinesis:us-east-1:000000000000:stream/ticks","RoleARN":"` + role + `"},
		"InputParallelism":{"Count":1},"InputSchema":{"RecordFormat":{"RecordFormatType":"JSON","MappingParameters":{"JSONMappingParameters":{"RecordRowPath":"$"}}},
		"RecordEncoding":"UTF-8","RecordColumns":[{"Name":"TICKER_SYMBOL","SqlType":"VARCHAR(4)","Mapping":"$.TICKER_SYMBOL"}]}}]`
	var created struct {
		ApplicationSummary struct{ ApplicationARN, ApplicationStatus string }
	}
	if err := json.Unmarshal([]byte(must("kinesisanalytics", "create-application", "--application-name", "tickers",
		"--application-code", "CREATE OR REPLACE STREAM \"DEST\" (t VARCHAR(4));", "--inputs", input,
		"--tags", "Key=team,Value=data")), &created); err != nil {
		t.Fatal(err)
	}
	if created.ApplicationSummary.ApplicationARN != "arn:aws:kinesisanalytics:us-east-1:000000000000:application/tickers" || created.ApplicationSummary.ApplicationStatus != "READY" {
		t.Fatalf("create: %+v", created)
	}
	if out, err := run("kinesisanalytics", "create-application", "--application-name", "tickers"); err == nil || !strings.Contains(out, "ResourceInUseException") {
		t.Errorf("duplicate: %v\n%s", err, out)
	}
	type detail struct {
		ApplicationDetail struct {
			ApplicationName, ApplicationStatus string
			ApplicationVersionId               int
			CreateTimestamp                    string
			InputDescriptions                  []struct {
				InputId          string
				InAppStreamNames []string
			}
			OutputDescriptions []struct{ OutputId, Name string }
		}
	}
	describe := func() detail {
		t.Helper()
		var d detail
		if err := json.Unmarshal([]byte(must("kinesisanalytics", "describe-application", "--application-name", "tickers")), &d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := describe()
	if d.ApplicationDetail.ApplicationVersionId != 1 || len(d.ApplicationDetail.InputDescriptions) != 1 ||
		d.ApplicationDetail.InputDescriptions[0].InputId != "1.1" || d.ApplicationDetail.InputDescriptions[0].InAppStreamNames[0] != "SOURCE_SQL_STREAM_001" {
		t.Fatalf("describe: %+v", d)
	}
	if out := must("kinesisanalytics", "list-applications"); !strings.Contains(out, `"tickers"`) || !strings.Contains(out, `"HasMoreApplications": false`) {
		t.Errorf("list: %s", out)
	}
	if out, err := run("kinesisanalytics", "update-application", "--application-name", "tickers", "--current-application-version-id", "5",
		"--application-update", `{"ApplicationCodeUpdate":"-- v2"}`); err == nil || !strings.Contains(out, "ConcurrentModificationException") {
		t.Errorf("stale update: %v\n%s", err, out)
	}
	must("kinesisanalytics", "update-application", "--application-name", "tickers", "--current-application-version-id", "1",
		"--application-update", `{"ApplicationCodeUpdate":"-- v2"}`)
	// --output is also the CLI's global option: the output goes in as JSON.
	must("kinesisanalytics", "add-application-output", "--cli-input-json", `{"ApplicationName":"tickers","CurrentApplicationVersionId":2,
		"Output":{"Name":"DEST","DestinationSchema":{"RecordFormatType":"JSON"},"KinesisStreamsOutput":{"ResourceARN":"arn:aws:kinesis:us-east-1:000000000000:stream/out","RoleARN":"`+role+`"}}}`)
	d = describe()
	if d.ApplicationDetail.ApplicationVersionId != 3 || len(d.ApplicationDetail.OutputDescriptions) != 1 || d.ApplicationDetail.OutputDescriptions[0].OutputId != "1.1" {
		t.Fatalf("after add-output: %+v", d)
	}
	arn := created.ApplicationSummary.ApplicationARN
	must("kinesisanalytics", "tag-resource", "--resource-arn", arn, "--tags", "Key=env,Value=test")
	if out := must("kinesisanalytics", "list-tags-for-resource", "--resource-arn", arn); !strings.Contains(out, `"env"`) || !strings.Contains(out, `"team"`) {
		t.Errorf("tags: %s", out)
	}
	must("kinesisanalytics", "untag-resource", "--resource-arn", arn, "--tag-keys", "team")
	if out := must("kinesisanalytics", "list-tags-for-resource", "--resource-arn", arn); strings.Contains(out, `"team"`) {
		t.Errorf("tags after untag: %s", out)
	}

	// DiscoverInputSchema from a stream of JSON records.
	must("kinesis", "create-stream", "--stream-name", "ticks", "--shard-count", "1")
	for i := 0; ; i++ {
		if out := must("kinesis", "describe-stream-summary", "--stream-name", "ticks"); strings.Contains(out, `"ACTIVE"`) {
			break
		}
		if i > 100 {
			t.Fatal("stream never ACTIVE")
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, r := range []string{`{"TICKER_SYMBOL":"AMZN","SECTOR":"TECHNOLOGY","CHANGE":-0.05,"PRICE":84.51}`, `{"TICKER_SYMBOL":"WMT","SECTOR":"RETAIL","CHANGE":0.4,"PRICE":12.25}`} {
		must("kinesis", "put-record", "--stream-name", "ticks", "--partition-key", "k", "--cli-binary-format", "raw-in-base64-out", "--data", r)
	}
	var disc struct {
		InputSchema struct {
			RecordFormat  struct{ RecordFormatType string }
			RecordColumns []struct{ Name, SqlType, Mapping string }
		}
		ParsedInputRecords [][]string
		RawInputRecords    []string
	}
	if err := json.Unmarshal([]byte(must("kinesisanalytics", "discover-input-schema", "--resource-arn", "arn:aws:kinesis:us-east-1:000000000000:stream/ticks",
		"--role-arn", role, "--input-starting-position-configuration", "InputStartingPosition=TRIM_HORIZON")), &disc); err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, c := range disc.InputSchema.RecordColumns {
		cols = append(cols, c.Name+" "+c.SqlType+" "+c.Mapping)
	}
	if got := strings.Join(cols, ", "); got != "TICKER_SYMBOL VARCHAR(4) $.TICKER_SYMBOL, SECTOR VARCHAR(16) $.SECTOR, CHANGE REAL $.CHANGE, PRICE REAL $.PRICE" ||
		disc.InputSchema.RecordFormat.RecordFormatType != "JSON" || len(disc.RawInputRecords) != 2 || len(disc.ParsedInputRecords) != 2 {
		t.Errorf("discover-input-schema: %s\n%+v", got, disc)
	}

	// Delete needs the CreateTimestamp.
	if out, err := run("kinesisanalytics", "delete-application", "--application-name", "tickers", "--create-timestamp", "1"); err == nil || !strings.Contains(out, "ConcurrentModificationException") {
		t.Errorf("delete with a wrong timestamp: %v\n%s", err, out)
	}
	must("kinesisanalytics", "delete-application", "--application-name", "tickers", "--create-timestamp", d.ApplicationDetail.CreateTimestamp)
	if out, err := run("kinesisanalytics", "describe-application", "--application-name", "tickers"); err == nil || !strings.Contains(out, "ResourceNotFoundException") {
		t.Errorf("describe after delete: %v\n%s", err, out)
	}
}
