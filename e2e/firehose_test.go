package e2e

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// firehoseBoto3 walks every Firehose operation with boto3 against the real
// binary, errors included, and puts records that an HTTP endpoint (the
// test) receives.
const firehoseBoto3 = `
import boto3, sys, time, base64
f = boto3.client("firehose", endpoint_url=sys.argv[1], region_name="us-east-1",
                 aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
http = {"EndpointConfiguration": {"Url": sys.argv[2], "Name": "recv", "AccessKey": "k"},
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
        "S3Configuration": {"RoleARN": "arn:aws:iam::000000000000:role/f", "BucketARN": "arn:aws:s3:::backup"}}
arn = f.create_delivery_stream(DeliveryStreamName="py", DeliveryStreamType="DirectPut",
                               HttpEndpointDestinationConfiguration=http,
                               Tags=[{"Key": "team", "Value": "data"}])["DeliveryStreamARN"]
assert arn == "arn:aws:firehose:us-east-1:000000000000:deliverystream/py", arn
try:
    f.create_delivery_stream(DeliveryStreamName="py", HttpEndpointDestinationConfiguration=http)
    raise SystemExit("duplicate accepted")
except f.exceptions.ResourceInUseException:
    pass
for _ in range(100):
    d = f.describe_delivery_stream(DeliveryStreamName="py")["DeliveryStreamDescription"]
    if d["DeliveryStreamStatus"] == "ACTIVE":
        break
    time.sleep(0.05)
assert d["DeliveryStreamStatus"] == "ACTIVE" and d["VersionId"] == "1", d
dest = d["Destinations"][0]
assert dest["DestinationId"] == "destinationId-000000000001", dest
assert "AccessKey" not in dest["HttpEndpointDestinationDescription"]["EndpointConfiguration"], dest
assert f.list_delivery_streams()["DeliveryStreamNames"] == ["py"]
assert f.list_delivery_streams(DeliveryStreamType="KinesisStreamAsSource")["DeliveryStreamNames"] == []
r = f.put_record(DeliveryStreamName="py", Record={"Data": b"one"})
assert r["RecordId"] and r["Encrypted"] is False, r
r = f.put_record_batch(DeliveryStreamName="py", Records=[{"Data": b"b%d" % i} for i in range(10)])
assert r["FailedPutCount"] == 0 and len(r["RequestResponses"]) == 10, r
try:
    f.put_record(DeliveryStreamName="missing", Record={"Data": b"x"})
    raise SystemExit("put to a missing stream accepted")
except f.exceptions.ResourceNotFoundException as e:
    assert "Firehose missing under account 000000000000 not found." in str(e), e
try:
    f.put_record_batch(DeliveryStreamName="py", Records=[{"Data": b"x"}] * 501)
    raise SystemExit("501 records accepted")
except Exception as e:
    assert "ValidationException" in str(type(e)) or "ValidationException" in str(e) or "501" in str(e), e
try:
    f.update_destination(DeliveryStreamName="py", CurrentDeliveryStreamVersionId="9", DestinationId="destinationId-000000000001",
                         HttpEndpointDestinationUpdate={"BufferingHints": {"SizeInMBs": 2, "IntervalInSeconds": 0}})
    raise SystemExit("stale version accepted")
except f.exceptions.ConcurrentModificationException:
    pass
f.update_destination(DeliveryStreamName="py", CurrentDeliveryStreamVersionId="1", DestinationId="destinationId-000000000001",
                     HttpEndpointDestinationUpdate={"BufferingHints": {"SizeInMBs": 2, "IntervalInSeconds": 0}})
d = f.describe_delivery_stream(DeliveryStreamName="py")["DeliveryStreamDescription"]
h = d["Destinations"][0]["HttpEndpointDestinationDescription"]
assert d["VersionId"] == "2" and h["BufferingHints"]["SizeInMBs"] == 2 and h["EndpointConfiguration"]["Url"] == sys.argv[2], d
f.tag_delivery_stream(DeliveryStreamName="py", Tags=[{"Key": "env", "Value": "test"}])
tags = f.list_tags_for_delivery_stream(DeliveryStreamName="py")
assert [t["Key"] for t in tags["Tags"]] == ["env", "team"] and tags["HasMoreTags"] is False, tags
f.untag_delivery_stream(DeliveryStreamName="py", TagKeys=["env"])
assert [t["Key"] for t in f.list_tags_for_delivery_stream(DeliveryStreamName="py")["Tags"]] == ["team"]
f.start_delivery_stream_encryption(DeliveryStreamName="py", DeliveryStreamEncryptionConfigurationInput={"KeyType": "AWS_OWNED_CMK"})
enc = f.describe_delivery_stream(DeliveryStreamName="py")["DeliveryStreamDescription"]["DeliveryStreamEncryptionConfiguration"]
assert enc["Status"] == "ENABLED" and enc["KeyType"] == "AWS_OWNED_CMK", enc
assert f.put_record(DeliveryStreamName="py", Record={"Data": b"sealed"})["Encrypted"] is True
f.stop_delivery_stream_encryption(DeliveryStreamName="py")
assert f.describe_delivery_stream(DeliveryStreamName="py")["DeliveryStreamDescription"]["DeliveryStreamEncryptionConfiguration"]["Status"] == "DISABLED"
print("ok")
`

// TestFirehoseBoto3AndCLI: every Firehose operation through boto3 and the
// AWS CLI against the real binary, and the records at an HTTP endpoint.
func TestFirehoseBoto3AndCLI(t *testing.T) {
	var mu sync.Mutex
	got := map[string]bool{}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			RequestID string `json:"requestId"`
			Records   []struct{ Data string }
		}
		raw, _ := io.ReadAll(r.Body)
		json.Unmarshal(raw, &body)
		mu.Lock()
		for _, rec := range body.Records {
			d, _ := base64.StdEncoding.DecodeString(rec.Data)
			got[string(d)] = true
		}
		mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"requestId": body.RequestID, "timestamp": time.Now().UnixMilli()})
	}))
	defer recv.Close()
	p := startServer(t, filepath.Join(t.TempDir(), "data"), freePort(t))
	cmd := exec.Command("python3", "-c", firehoseBoto3, "http://"+p.addr, recv.URL)
	cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return got["one"] && got["b9"] && got["sealed"]
	})
	// The AWS CLI (v2 and v1).
	for name, command := range awsCLIs(t) {
		cli := strings.Fields(command)
		run := func(args ...string) (string, error) {
			full := append(append(append([]string{}, cli[1:]...), "--endpoint-url", "http://"+p.addr, "--region", "us-east-1", "--output", "json", "firehose"), args...)
			c := exec.Command(cli[0], full...)
			c.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret", "AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
			out, err := c.CombinedOutput()
			return string(out), err
		}
		out, err := run("describe-delivery-stream", "--delivery-stream-name", "py")
		if err != nil || !strings.Contains(out, `"DeliveryStreamStatus": "ACTIVE"`) {
			t.Fatalf("%s describe: %v\n%s", name, err, out)
		}
		out, err = run("describe-delivery-stream", "--delivery-stream-name", "nope")
		if err == nil || !strings.Contains(out, "ResourceNotFoundException") {
			t.Errorf("%s describe missing: %v\n%s", name, err, out)
		}
		// v2 takes blobs in JSON as base64; v1 takes them as base64 too
		// (it has no --cli-binary-format).
		out, err = run("put-record", "--delivery-stream-name", "py", "--record", `{"Data":"Y2xp"}`)
		if err != nil || !strings.Contains(out, "RecordId") {
			t.Errorf("%s put-record: %v\n%s", name, err, out)
		}
		out, err = run("list-delivery-streams")
		if err != nil || !strings.Contains(out, `"py"`) {
			t.Errorf("%s list: %v\n%s", name, err, out)
		}
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return got["cli"] })
	// Rheos's own CLI view.
	out, err := exec.Command(rheosBinary(t), "firehose", "list", "--endpoint", "http://"+p.addr).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "py\tACTIVE\tDirectPut\thttp "+recv.URL) {
		t.Errorf("rheos firehose list: %v\n%s", err, out)
	}
	out, err = exec.Command(rheosBinary(t), "firehose", "put", "py", "from-rheos-cli", "--endpoint", "http://"+p.addr).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "put 1 records, 0 failed") {
		t.Errorf("rheos firehose put: %v\n%s", err, out)
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return got["from-rheos-cli\n"] })
	// Deletion: DELETING, then gone.
	cmd = exec.Command("python3", "-c", `
import boto3, sys, time
f = boto3.client("firehose", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id="A", aws_secret_access_key="s")
f.delete_delivery_stream(DeliveryStreamName="py")
for _ in range(100):
    try:
        f.describe_delivery_stream(DeliveryStreamName="py")
    except f.exceptions.ResourceNotFoundException:
        print("gone"); break
    time.sleep(0.05)
`, "http://"+p.addr)
	cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "gone") {
		t.Fatalf("delete: %v\n%s", err, out)
	}
}
