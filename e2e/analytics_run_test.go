package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestAnalyticsApplicationWithAWSCLI: an application created with AWS CLI
// v2 reads a Data Stream and writes a Data Stream and a Firehose delivery
// stream (to the built-in S3); it is started, fed, updated live, stopped,
// fed while stopped and resumed from LAST_STOPPED_POINT: every input row
// that passes the filter comes out once.
func TestAnalyticsApplicationWithAWSCLI(t *testing.T) {
	p := startServer(t, filepath.Join(t.TempDir(), "data"), freePort(t))
	// v1 is the AWS CLI v1 (python3 -m awscli): its newer model allows a
	// Firehose buffering interval of 0, which Debian's AWS CLI v2 (2.9)
	// refuses client-side (min 60).
	cli := []string{"/usr/bin/aws"}
	run := func(args ...string) (string, error) {
		cmd := exec.Command(cli[0], append(append(cli[1:], "--endpoint-url", "http://"+p.addr, "--region", "us-east-1", "--output", "json"), args...)...)
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
	for _, s := range []string{"ticks", "scaled"} {
		must("kinesis", "create-stream", "--stream-name", s, "--shard-count", "1")
		must("kinesis", "wait", "stream-exists", "--stream-name", s)
	}
	must("s3", "mb", "s3://kda-out")
	role := "arn:aws:iam::000000000000:role/kda"
	cli = []string{"python3", "-m", "awscli"}
	must("firehose", "create-delivery-stream", "--delivery-stream-name", "kda-archive", "--extended-s3-destination-configuration",
		`{"RoleARN":"`+role+`","BucketARN":"arn:aws:s3:::kda-out","Prefix":"rows/","BufferingHints":{"SizeInMBs":1,"IntervalInSeconds":0}}`)
	cli = []string{"/usr/bin/aws"}
	code := func(factor int) string {
		return fmt.Sprintf(`CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" (ticker VARCHAR(4), price DOUBLE, n INTEGER);
CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"
  SELECT STREAM ticker, price * %d, n FROM "SOURCE_SQL_STREAM_001" WHERE price > 10;`, factor)
	}
	input := `[{"NamePrefix":"SOURCE_SQL_STREAM","KinesisStreamsInput":{"ResourceARN":"arn:aws:kinesis:us-east-1:000000000000:stream/ticks","RoleARN":"` + role + `"},
		"InputSchema":{"RecordFormat":{"RecordFormatType":"JSON","MappingParameters":{"JSONMappingParameters":{"RecordRowPath":"$"}}},
		"RecordEncoding":"UTF-8","RecordColumns":[{"Name":"TICKER","SqlType":"VARCHAR(4)","Mapping":"$.ticker"},
		{"Name":"PRICE","SqlType":"DOUBLE","Mapping":"$.price"},{"Name":"N","SqlType":"INTEGER","Mapping":"$.n"}]}}]`
	outputs := `[{"Name":"DESTINATION_SQL_STREAM","KinesisStreamsOutput":{"ResourceARN":"arn:aws:kinesis:us-east-1:000000000000:stream/scaled","RoleARN":"` + role + `"},"DestinationSchema":{"RecordFormatType":"JSON"}},
		{"Name":"DESTINATION_SQL_STREAM","KinesisFirehoseOutput":{"ResourceARN":"arn:aws:firehose:us-east-1:000000000000:deliverystream/kda-archive","RoleARN":"` + role + `"},"DestinationSchema":{"RecordFormatType":"CSV"}}]`
	must("kinesisanalytics", "create-application", "--application-name", "scaler", "--application-code", code(2), "--inputs", input, "--outputs", outputs)
	version := func() string {
		var d struct {
			ApplicationDetail struct{ ApplicationVersionId int }
		}
		json.Unmarshal([]byte(must("kinesisanalytics", "describe-application", "--application-name", "scaler")), &d)
		return fmt.Sprint(d.ApplicationDetail.ApplicationVersionId)
	}
	waitStatus := func(want string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			out := must("kinesisanalytics", "describe-application", "--application-name", "scaler")
			if strings.Contains(out, `"ApplicationStatus": "`+want+`"`) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("not %s: %s", want, out)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	put := func(from, to int) {
		t.Helper()
		var recs []map[string]string
		for n := from; n < to; n++ {
			recs = append(recs, map[string]string{"PartitionKey": "k", "Data": fmt.Sprintf(`{"ticker":"T%d","price":%d,"n":%d}`, n%3, 5+n, n)})
		}
		b, _ := json.Marshal(recs)
		must("kinesis", "put-records", "--stream-name", "ticks", "--cli-binary-format", "raw-in-base64-out", "--records", string(b))
	}
	// read returns the n values of the output stream once want arrived.
	read := func(want int) []int {
		t.Helper()
		var it struct{ ShardIterator string }
		json.Unmarshal([]byte(must("kinesis", "get-shard-iterator", "--stream-name", "scaled", "--shard-id", "shardId-000000000000", "--shard-iterator-type", "TRIM_HORIZON")), &it)
		var ns []int
		var prices []float64
		iter := it.ShardIterator
		deadline := time.Now().Add(30 * time.Second)
		for len(ns) < want && time.Now().Before(deadline) {
			var res struct {
				Records           []struct{ Data string }
				NextShardIterator string
			}
			json.Unmarshal([]byte(must("kinesis", "get-records", "--shard-iterator", iter)), &res)
			for _, r := range res.Records {
				b, _ := base64.StdEncoding.DecodeString(r.Data)
				var row struct {
					TICKER string
					PRICE  float64
					N      int
				}
				if err := json.Unmarshal(b, &row); err != nil {
					t.Fatalf("row %s: %v", b, err)
				}
				ns, prices = append(ns, row.N), append(prices, row.PRICE)
			}
			iter = res.NextShardIterator
			if len(res.Records) == 0 {
				time.Sleep(200 * time.Millisecond)
			}
		}
		if len(ns) >= 6 && prices[4] != 45 {
			t.Errorf("after the update, n=10 gives price %v, want 45", prices[4])
		}
		return ns
	}
	put(0, 10)
	must("kinesisanalytics", "start-application", "--application-name", "scaler", "--input-configurations",
		`[{"Id":"1.1","InputStartingPositionConfiguration":{"InputStartingPosition":"TRIM_HORIZON"}}]`)
	waitStatus("RUNNING")
	if ns := read(4); fmt.Sprint(ns) != "[6 7 8 9]" {
		t.Fatalf("first rows: %v", ns)
	}
	must("kinesisanalytics", "update-application", "--application-name", "scaler", "--current-application-version-id", version(),
		"--application-update", `{"ApplicationCodeUpdate":`+strings.ReplaceAll(fmt.Sprintf("%q", code(3)), `\t`, " ")+`}`)
	waitStatus("RUNNING")
	put(10, 12)
	if ns := read(6); len(ns) != 6 {
		t.Fatalf("after the update: %v", ns)
	}
	must("kinesisanalytics", "stop-application", "--application-name", "scaler")
	waitStatus("READY")
	put(12, 20)
	must("kinesisanalytics", "start-application", "--application-name", "scaler", "--input-configurations",
		`[{"Id":"1.1","InputStartingPositionConfiguration":{"InputStartingPosition":"LAST_STOPPED_POINT"}}]`)
	waitStatus("RUNNING")
	ns := read(14)
	sort.Ints(ns)
	if fmt.Sprint(ns) != "[6 7 8 9 10 11 12 13 14 15 16 17 18 19]" {
		t.Fatalf("rows over the stop: %v (want each of 6..19 once)", ns)
	}
	// The Firehose output: the same rows as CSV objects in the built-in S3.
	dir := t.TempDir()
	deadline := time.Now().Add(30 * time.Second)
	for {
		must("s3", "sync", "s3://kda-out/rows/", dir)
		var lines []string
		filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				b, _ := os.ReadFile(path)
				lines = append(lines, strings.Fields(string(b))...)
			}
			return nil
		})
		if len(lines) >= 14 {
			sort.Strings(lines)
			if !strings.Contains(strings.Join(lines, " "), "T1,45,10") {
				t.Errorf("firehose rows: %v", lines)
			}
			if len(lines) != 14 {
				t.Errorf("firehose rows: %d, want 14: %v", len(lines), lines)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("firehose rows: %v", lines)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
