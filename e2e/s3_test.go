package e2e

import (
	"bytes"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestS3AWSCLI walks `aws s3` through the built-in S3 of the real binary,
// signatures verified, with AWS CLI v2 and v1 (when the machine has it):
// mb, cp of a small file and of a 20 MiB one (multipart), ls, sync both
// ways (and a second sync that finds nothing to do), cp to stdout, rm, rb;
// a wrong secret is refused.
func TestS3AWSCLI(t *testing.T) {
	for name, cli := range awsCLIs(t) {
		t.Run(name, func(t *testing.T) { s3CLIWalk(t, strings.Fields(cli)) })
	}
}

func s3CLIWalk(t *testing.T, cli []string) {
	dir := t.TempDir()
	p := startServerWith(t, filepath.Join(dir, "data"), freePort(t),
		[]string{"RHEOS_ROOT_ACCESS_KEY_ID=AKIDS3ROOT", "RHEOS_ROOT_SECRET_ACCESS_KEY=s3-root-secret"}, "--auth", "verify")
	env := append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDS3ROOT", "AWS_SECRET_ACCESS_KEY=s3-root-secret", "AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	aws := func(args ...string) *exec.Cmd {
		cmd := exec.Command(cli[0], append(append(cli[1:], "--endpoint-url", "http://"+p.addr, "--region", "us-east-1"), args...)...)
		cmd.Env = env
		return cmd
	}
	run := func(args ...string) []byte {
		t.Helper()
		cmd := aws(args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("aws %s: %v\n%s%s", strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
		}
		return stdout.Bytes()
	}
	rng := rand.New(rand.NewSource(1))
	write := func(path string, n int) []byte {
		t.Helper()
		b := make([]byte, n)
		rng.Read(b)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return b
	}
	small := write(filepath.Join(dir, "small.txt"), 1000)
	big := write(filepath.Join(dir, "big.bin"), 20<<20)

	run("s3", "mb", "s3://cli-bucket")
	run("s3", "cp", filepath.Join(dir, "small.txt"), "s3://cli-bucket/small.txt")
	run("s3", "cp", filepath.Join(dir, "big.bin"), "s3://cli-bucket/dir/big.bin")
	// The CLI cut the 20 MiB file in 8 MiB parts: a multipart ETag.
	head := string(run("s3api", "head-object", "--bucket", "cli-bucket", "--key", "dir/big.bin"))
	if !regexp.MustCompile(`"ETag": "\\"[0-9a-f]{32}-3\\""`).MatchString(head) || !strings.Contains(head, `"ContentLength": 20971520`) {
		t.Fatalf("head-object of the multipart upload:\n%s", head)
	}
	ls := string(run("s3", "ls", "s3://cli-bucket/"))
	if !strings.Contains(ls, "PRE dir/") || !regexp.MustCompile(`\s1000 small\.txt`).MatchString(ls) {
		t.Fatalf("aws s3 ls:\n%s", ls)
	}
	ls = string(run("s3", "ls", "--recursive", "s3://cli-bucket"))
	if !regexp.MustCompile(`\s20971520 dir/big\.bin`).MatchString(ls) || !strings.Contains(ls, "small.txt") {
		t.Fatalf("aws s3 ls --recursive:\n%s", ls)
	}
	if buckets := string(run("s3", "ls")); !strings.Contains(buckets, "cli-bucket") {
		t.Fatalf("aws s3 ls (buckets):\n%s", buckets)
	}
	if got := run("s3", "cp", "s3://cli-bucket/dir/big.bin", "-"); !bytes.Equal(got, big) {
		t.Fatalf("cp to stdout: %d bytes differ from the 20 MiB file", len(got))
	}
	if got := run("s3", "cp", "s3://cli-bucket/small.txt", "-"); !bytes.Equal(got, small) {
		t.Fatal("small file differs")
	}

	// sync up, sync down, compare trees; a second sync has nothing to do.
	src, dst := filepath.Join(dir, "tree"), filepath.Join(dir, "back")
	tree := map[string][]byte{}
	for _, name := range []string{"a.txt", "sub/b.bin", "sub/deeper/c.json", "ünïcødé/日本.txt", "with space/x y.txt"} {
		tree[name] = write(filepath.Join(src, name), 1+rng.Intn(100000))
	}
	tree["sub/large.bin"] = write(filepath.Join(src, "sub/large.bin"), 9<<20)
	run("s3", "sync", src, "s3://cli-bucket/synced/")
	if out := run("s3", "sync", src, "s3://cli-bucket/synced/"); len(bytes.TrimSpace(out)) != 0 {
		t.Fatalf("a second sync uploaded again:\n%s", out)
	}
	run("s3", "sync", "s3://cli-bucket/synced/", dst)
	got := map[string][]byte{}
	filepath.Walk(dst, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(dst, path)
			got[filepath.ToSlash(rel)], _ = os.ReadFile(path)
		}
		return nil
	})
	if len(got) != len(tree) {
		t.Fatalf("synced back %v, want %v", keysOf(got), keysOf(tree))
	}
	for name, want := range tree {
		if !bytes.Equal(got[name], want) {
			t.Fatalf("%s differs after the round trip", name)
		}
	}

	run("s3", "rm", "s3://cli-bucket/small.txt")
	if ls := string(run("s3", "ls", "s3://cli-bucket/")); strings.Contains(ls, "small.txt") {
		t.Fatalf("small.txt still listed:\n%s", ls)
	}
	// Errors come back in S3's shape, which the CLI prints.
	if out, err := aws("s3api", "get-object", "--bucket", "cli-bucket", "--key", "missing", filepath.Join(dir, "out")).CombinedOutput(); err == nil || !strings.Contains(string(out), "NoSuchKey") {
		t.Fatalf("get-object of a missing key: %v\n%s", err, out)
	}
	wrong := aws("s3", "ls", "s3://cli-bucket/")
	wrong.Env = append(wrong.Env, "AWS_SECRET_ACCESS_KEY=wrong")
	if out, err := wrong.CombinedOutput(); err == nil || !strings.Contains(string(out), "SignatureDoesNotMatch") {
		t.Fatalf("a wrong secret was not refused: %v\n%s", err, out)
	}
	run("s3", "rb", "--force", "s3://cli-bucket")
	if buckets := string(run("s3", "ls")); strings.Contains(buckets, "cli-bucket") {
		t.Fatalf("bucket still listed after rb:\n%s", buckets)
	}
	p.terminate(t)
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// s3Boto3Script puts and gets objects with boto3, path style and virtual-host
// style (bucket.localhost, resolved to the server here), and uploads and
// downloads a file in several parts with the transfer manager.
const s3Boto3Script = `
import boto3, hashlib, os, socket, sys
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

_resolve = socket.getaddrinfo
def resolve(host, *args, **kw):
    if isinstance(host, str) and host.endswith(".localhost"):
        host = "127.0.0.1"
    return _resolve(host, *args, **kw)
socket.getaddrinfo = resolve

port = sys.argv[1]
def client(style, host):
    return boto3.client("s3", endpoint_url="http://%s:%s" % (host, port), region_name="us-east-1",
                        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
                        config=Config(s3={"addressing_style": style}))
path, virtual = client("path", "127.0.0.1"), client("virtual", "localhost")
path.create_bucket(Bucket="py-bucket")
for s3, key in ((path, "path/ünï.txt"), (virtual, "virtual/日本 key.txt")):
    put = s3.put_object(Bucket="py-bucket", Key=key, Body=b"hello " + key.encode(), ContentType="text/plain", Metadata={"who": "boto3"})
    got = s3.get_object(Bucket="py-bucket", Key=key)
    body = got["Body"].read()
    assert body == b"hello " + key.encode(), body
    assert got["ETag"] == put["ETag"] == '"%s"' % hashlib.md5(body).hexdigest(), (got["ETag"], put["ETag"])
    assert got["ContentType"] == "text/plain" and got["Metadata"] == {"who": "boto3"}, got
    part = s3.get_object(Bucket="py-bucket", Key=key, Range="bytes=0-4")["Body"].read()
    assert part == b"hello", part
keys = sorted(o["Key"] for o in virtual.list_objects_v2(Bucket="py-bucket")["Contents"])
assert keys == ["path/ünï.txt", "virtual/日本 key.txt"], keys
data = os.urandom(12 * 1024 * 1024 + 5)
with open(sys.argv[2], "wb") as f:
    f.write(data)
cfg = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
virtual.upload_file(sys.argv[2], "py-bucket", "big.bin", Config=cfg)
head = path.head_object(Bucket="py-bucket", Key="big.bin")
assert head["ContentLength"] == len(data) and head["ETag"].endswith('-3"'), head
path.download_file("py-bucket", "big.bin", sys.argv[2] + ".back", Config=cfg)
with open(sys.argv[2] + ".back", "rb") as f:
    assert f.read() == data
try:
    path.get_object(Bucket="py-bucket", Key="missing")
    raise SystemExit("no error for a missing key")
except path.exceptions.NoSuchKey as e:
    assert e.response["Error"]["Code"] == "NoSuchKey", e.response
print("ok s3")
`

// TestS3Boto3 drives the built-in S3 with boto3 (botocore's REST-XML
// client and its transfer manager).
func TestS3Boto3(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 with boto3 (in the machine image) is required: ", err)
	}
	if err := exec.Command(py, "-c", "import boto3").Run(); err != nil {
		t.Fatal("boto3 is required (the machine image's Python has it; Debian: apt-get install python3-boto3): ", err)
	}
	dir := t.TempDir()
	p := startServer(t, filepath.Join(dir, "data"), freePort(t))
	_, port, _ := strings.Cut(p.addr, ":")
	cmd := exec.Command(py, "-c", s3Boto3Script, port, filepath.Join(dir, "big.bin"))
	cmd.Env = append(os.Environ(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok s3") {
		t.Fatalf("boto3: %v\n%s", err, out)
	}
}
