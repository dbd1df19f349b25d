package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// boto3Script puts and gets records with boto3 (the machine image's Python).
const boto3Script = `
import boto3, sys, time
k = boto3.client("kinesis", endpoint_url=sys.argv[1], region_name="us-east-1",
                 aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
k.create_stream(StreamName="py", ShardCount=2)
k.get_waiter("stream_exists").wait(StreamName="py", WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
out = k.put_records(StreamName="py", Records=[{"Data": b"py-%d" % i, "PartitionKey": "k%d" % i} for i in range(10)])
assert out["FailedRecordCount"] == 0, out
one = k.put_record(StreamName="py", Data=b"single", PartitionKey="s")
got = []
for s in k.list_shards(StreamName="py")["Shards"]:
    it = k.get_shard_iterator(StreamName="py", ShardId=s["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    r = k.get_records(ShardIterator=it)
    got += [x["Data"].decode() for x in r["Records"]]
assert sorted(got) == sorted(["py-%d" % i for i in range(10)] + ["single"]), got
try:
    k.describe_stream(StreamName="missing")
    raise SystemExit("no error for a missing stream")
except k.exceptions.ResourceNotFoundException as e:
    assert "Stream missing under account 000000000000 not found." in str(e), e
print("ok", len(got))
`

// TestBoto3 drives the server with boto3 (HTTP/1.1, botocore's JSON client).
func TestBoto3(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 with boto3 (in the machine image) is required: ", err)
	}
	if err := exec.Command(py, "-c", "import boto3").Run(); err != nil {
		t.Fatal("boto3 is required (the machine image's Python has it; Debian: apt-get install python3-boto3): ", err)
	}
	p := startServer(t, filepath.Join(t.TempDir(), "data"), freePort(t))
	cmd := exec.Command(py, "-c", boto3Script, "http://"+p.addr)
	cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok 11") {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
}
