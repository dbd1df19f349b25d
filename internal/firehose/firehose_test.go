package firehose

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"

	"github.com/rheos/rheos/internal/envelope"
	"github.com/rheos/rheos/internal/metastore"
)

// memLog is an in-memory RecordLog for the domain's tests.
type memLog struct {
	mu      sync.Mutex
	recs    map[uint64][]LogRecord
	changed chan struct{}
}

func newMemLog() *memLog {
	return &memLog{recs: map[uint64][]LogRecord{}, changed: make(chan struct{})}
}

func (l *memLog) Append(_ context.Context, key uint64, data [][]byte, flags uint8) ([]LogRecord, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []LogRecord
	for _, d := range data {
		r := LogRecord{Seq: uint64(len(l.recs[key])), Timestamp: time.Now().UnixMilli(), Flags: flags, Data: d}
		l.recs[key] = append(l.recs[key], r)
		out = append(out, r)
	}
	close(l.changed)
	l.changed = make(chan struct{})
	return out, nil
}

func (l *memLog) Read(key, from uint64, maxRecords, maxBytes int) ([]LogRecord, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []LogRecord
	size := 0
	for _, r := range l.recs[key] {
		if r.Seq < from || len(out) == maxRecords || (len(out) > 0 && size+len(r.Data) > maxBytes) {
			continue
		}
		out = append(out, r)
		size += len(r.Data)
	}
	return out, nil
}

func (l *memLog) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

type memKeys struct {
	mu   sync.Mutex
	next uint64
}

func (k *memKeys) Allocate(_ context.Context, n int) (uint64, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.next += uint64(n)
	return k.next - uint64(n), nil
}

// memObjects records the objects written.
type memObjects struct {
	mu      sync.Mutex
	objects map[string][]byte // bucket/key → body
}

func (o *memObjects) PutObject(_ context.Context, _, bucket, key string, body []byte, _ string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.objects[bucket+"/"+key] = append([]byte(nil), body...)
	return nil
}

func (o *memObjects) snapshot() map[string][]byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string][]byte{}
	for k, v := range o.objects {
		out[k] = v
	}
	return out
}

func newTestService(t *testing.T, mut func(*Config)) (*Service, *memObjects) {
	t.Helper()
	meta, err := metastore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	objs := &memObjects{objects: map[string][]byte{}}
	cfg := Config{Account: "111122223333", Region: "us-east-1", Objects: objs}
	if mut != nil {
		mut(&cfg)
	}
	return New(cfg, meta, newMemLog(), &memKeys{}), objs
}

// TestPrefixRules covers the rules of AWS's "Custom Prefixes for Amazon S3
// Objects" page and its documented examples.
func TestPrefixRules(t *testing.T) {
	for _, c := range []struct {
		prefix string
		errPfx any
		ok     bool
	}{
		{"", nil, true},
		{"myPrefix/", nil, true},
		{"myPrefix/!{timestamp:yyyy/MM/dd}/", nil, false}, // expressions need an ErrorOutputPrefix
		{"myPrefix/!{timestamp:yyyy/MM/dd}/", "myErrors/!{firehose:error-output-type}/", true},
		{"myPrefix/!{timestamp:yyyy/MM/dd}/", "myErrors/!{timestamp:yyyy}/", false}, // must use error-output-type
		{"myPrefix/!{firehose:error-output-type}/", "e/", false},                    // not in Prefix
		{"a/!{firehose:random-string}/", "e/!{firehose:error-output-type}/", true},
		{"a/!{unknown:x}/", "e/", false},
		{"a/!{timestamp:yyyy", "e/", false},
		{"a/!{timestamp:yyyy/ww}/", "e/!{firehose:error-output-type}", false}, // unsupported letter
		{"a/!{partitionKeyFromQuery:id}/", "e/!{firehose:error-output-type}", false},
	} {
		err := checkPrefixes(c.prefix, c.errPfx)
		if (err == nil) != c.ok {
			t.Errorf("prefix %q error prefix %v: %v, want ok=%v", c.prefix, c.errPfx, err, c.ok)
		}
	}
}

func TestPrefixEvaluation(t *testing.T) {
	at := time.Date(2018, 8, 27, 10, 30, 5, 123e6, time.UTC)
	for _, c := range []struct{ prefix, want string }{
		// AWS's documented examples.
		{"", "2018/08/27/10/"},
		{"myPrefix/", "myPrefix/2018/08/27/10/"},
		{"myPrefix/!{timestamp:yyyy/MM/dd}", "myPrefix/2018/08/27"},
		{"myPrefix/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/",
			"myPrefix/year=2018/month=08/day=27/hour=10/"},
		{"!{timestamp:'year='yyyy'/month='MM}/", "year=2018/month=08/"},
		{"t/!{timestamp:HH:mm:ss.SSS}", "t/10:30:05.123"},
	} {
		if got := objectPrefix(c.prefix, at); got != c.want {
			t.Errorf("%q: %q, want %q", c.prefix, got, c.want)
		}
	}
	if got := errorObjectPrefix("myPrefix/", nil, at, "processing-failed"); got != "myPrefix/processing-failed/2018/08/27/10/" {
		t.Errorf("default error prefix: %q", got)
	}
	if got := errorObjectPrefix("p/!{timestamp:yyyy}/", "errors/!{firehose:error-output-type}/!{timestamp:yyyy}/", at, "http-endpoint-failed"); got != "errors/http-endpoint-failed/2018/" {
		t.Errorf("error prefix: %q", got)
	}
	r := objectPrefix("r/!{firehose:random-string}/!{firehose:random-string}/", at)
	parts := strings.Split(r, "/")
	if len(parts[1]) != 11 || len(parts[2]) != 11 || parts[1] == parts[2] {
		t.Errorf("random strings %q", r)
	}
}

func TestCompressionFormats(t *testing.T) {
	records := [][]byte{[]byte("one\n"), []byte("two\n"), bytes.Repeat([]byte("x"), 300<<10)}
	want := bytes.Join(records, nil)
	for _, f := range []string{"UNCOMPRESSED", "GZIP", "ZIP", "Snappy", "HADOOP_SNAPPY"} {
		body, ext, _, err := compress(f, records)
		if err != nil {
			t.Fatal(f, err)
		}
		var got []byte
		switch f {
		case "UNCOMPRESSED":
			got = body
		case "GZIP":
			zr, _ := gzip.NewReader(bytes.NewReader(body))
			got, _ = io.ReadAll(zr)
		case "ZIP":
			zr, _ := zip.NewReader(bytes.NewReader(body), int64(len(body)))
			f, _ := zr.File[0].Open()
			got, _ = io.ReadAll(f)
		case "Snappy":
			got, _ = io.ReadAll(snappy.NewReader(bytes.NewReader(body)))
		case "HADOOP_SNAPPY":
			for b := body; len(b) > 0; {
				raw := int(binary.BigEndian.Uint32(b))
				n := int(binary.BigEndian.Uint32(b[4:]))
				d, err := snappy.Decode(nil, b[8:8+n])
				if err != nil || len(d) != raw {
					t.Fatalf("hadoop block: %v %d/%d", err, len(d), raw)
				}
				got = append(got, d...)
				b = b[8+n:]
			}
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s (%s): %d bytes back, want %d", f, ext, len(got), len(want))
		}
	}
}

// TestS3DeliveryNamesAndBuffers: records buffered by size are delivered as
// objects named as AWS names them, and the checkpoint moves past them.
func TestS3DeliveryNamesAndBuffers(t *testing.T) {
	svc, objs := newTestService(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	_, err := svc.Create(ctx, Scope{}, CreateInput{Name: "orders", Destinations: map[string]map[string]any{
		"ExtendedS3": {"RoleARN": "arn:aws:iam::111122223333:role/r", "BucketARN": "arn:aws:s3:::lake", "Prefix": "raw/",
			"BufferingHints": map[string]any{"SizeInMBs": int64(1), "IntervalInSeconds": int64(0)}, "CompressionFormat": "GZIP",
			"ProcessingConfiguration": map[string]any{"Enabled": true, "Processors": []any{map[string]any{"Type": "AppendDelimiterToRecord"}}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Put(ctx, Scope{}, "orders", [][]byte{[]byte("a"), []byte("b")}); err != nil {
		t.Fatal(err)
	}
	var key string
	var body []byte
	for range 200 {
		for k, v := range objs.snapshot() {
			key, body = k, v
		}
		if key != "" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.HasPrefix(key, "lake/raw/") || !strings.Contains(key, "/orders-1-") || !strings.HasSuffix(key, ".gz") {
		t.Fatalf("object key %q", key)
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(zr); string(got) != "a\nb\n" {
		t.Errorf("object body %q", got)
	}
	var ck checkpoint
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ck, _, _ = svc.loadCheckpoint(ctx, Scope{Account: "111122223333", Region: "us-east-1"}, "orders"); ck.Next == 2 {
			break
		}
	}
	if ck.Next != 2 {
		t.Errorf("checkpoint %+v", ck)
	}
	cancel()
	<-done
}

func TestThrottlingPerRecord(t *testing.T) {
	svc, _ := newTestService(t, func(c *Config) { c.Throughput = "aws" })
	ctx := context.Background()
	_, err := svc.Create(ctx, Scope{}, CreateInput{Name: "t", Destinations: map[string]map[string]any{
		"ExtendedS3": {"RoleARN": "arn:aws:iam::111122223333:role/r", "BucketARN": "arn:aws:s3:::lake"}}})
	if err != nil {
		t.Fatal(err)
	}
	var m *streamMeta
	for range 100 {
		if m, _, err = svc.get(ctx, Scope{}, "t"); err == nil && m.effectiveStatus(time.Now()) == StatusActive {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// 5 MiB per second: three 1,000 KiB records … the sixth is over.
	big := bytes.Repeat([]byte("x"), MaxRecordBytes)
	res, _, err := svc.Put(ctx, Scope{}, "t", [][]byte{big, big, big, big})
	if err != nil {
		t.Fatal(err)
	}
	res2, _, err := svc.Put(ctx, Scope{}, "t", [][]byte{big, big, []byte("small")})
	if err != nil {
		t.Fatal(err)
	}
	all := append(res, res2...)
	refused := 0
	for _, r := range all {
		if r.ErrorCode == "ServiceUnavailableException" {
			refused++
		} else if r.RecordID == "" {
			t.Errorf("neither id nor error: %+v", r)
		}
	}
	if refused == 0 || all[len(all)-1].RecordID == "" {
		t.Errorf("results %+v", all)
	}
}

type failingObjects struct{}

func (failingObjects) PutObject(context.Context, string, string, string, []byte, string) error {
	return io.ErrUnexpectedEOF
}

// TestRetentionExpiry: records that cannot be written are kept and retried
// until they are older than the retention, then given up (the buffer moves
// on).
func TestRetentionExpiry(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	svc, _ := newTestService(t, func(c *Config) { c.Objects = failingObjects{}; c.Now = clock; c.Retention = time.Hour })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := svc.Create(ctx, Scope{}, CreateInput{Name: "dead", Destinations: map[string]map[string]any{
		"ExtendedS3": {"RoleARN": "arn:aws:iam::111122223333:role/r", "BucketARN": "arn:aws:s3:::gone",
			"BufferingHints": map[string]any{"SizeInMBs": int64(1), "IntervalInSeconds": int64(0)}}}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	if _, _, err := svc.Put(ctx, Scope{}, "dead", [][]byte{[]byte("x")}); err != nil {
		t.Fatal(err)
	}
	sc := Scope{Account: "111122223333", Region: "us-east-1"}
	time.Sleep(300 * time.Millisecond)
	if ck, _, _ := svc.loadCheckpoint(ctx, sc, "dead"); ck.Next != 0 {
		t.Fatalf("moved past an undelivered record within the retention: %+v", ck)
	}
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if ck, _, _ := svc.loadCheckpoint(ctx, sc, "dead"); ck.Next == 1 {
			cancel()
			<-done
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("records past the retention were never given up")
}

// TestEncryptionAtRest: after StartDeliveryStreamEncryption, records are
// sealed in the buffer (the log never holds their plaintext) and delivered
// in the clear.
func TestEncryptionAtRest(t *testing.T) {
	kr, err := envelope.OpenKeyring(t.TempDir() + "/keyring.json")
	if err != nil {
		t.Fatal(err)
	}
	log := newMemLog()
	meta, err := metastore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Close()
	objs := &memObjects{objects: map[string][]byte{}}
	svc := New(Config{Account: "111122223333", Region: "us-east-1", Objects: objs, Keys: kr}, meta, log, &memKeys{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err = svc.Create(ctx, Scope{}, CreateInput{Name: "sealed", KeyType: "AWS_OWNED_CMK", Destinations: map[string]map[string]any{
		"ExtendedS3": {"RoleARN": "arn:aws:iam::111122223333:role/r", "BucketARN": "arn:aws:s3:::lake",
			"BufferingHints": map[string]any{"SizeInMBs": int64(1), "IntervalInSeconds": int64(0)}}}})
	if err != nil {
		t.Fatal(err)
	}
	_, encrypted, err := svc.Put(ctx, Scope{}, "sealed", [][]byte{[]byte("top secret payload")})
	if err != nil || !encrypted {
		t.Fatalf("put: %v encrypted=%v", err, encrypted)
	}
	for _, r := range log.recs[0] {
		if r.Flags&FlagEncrypted == 0 || bytes.Contains(r.Data, []byte("top secret")) {
			t.Fatalf("buffered in the clear: %+v", r)
		}
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	waitObject := func() []byte {
		for range 300 {
			for _, v := range objs.snapshot() {
				return v
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatal("nothing delivered")
		return nil
	}
	if got := waitObject(); string(got) != "top secret payload" {
		t.Errorf("delivered %q", got)
	}
	cancel()
	<-done
}

// TestBuffersOwnedBeforeWorkersRun: the log's sweep drops keys nobody owns,
// so a delivery stream owns its buffer from creation and, after a restart,
// before any worker runs.
func TestBuffersOwnedBeforeWorkersRun(t *testing.T) {
	meta, err := metastore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Close()
	log, keys := newMemLog(), &memKeys{next: 7}
	cfg := Config{Account: "111122223333", Region: "us-east-1", Objects: &memObjects{objects: map[string][]byte{}}}
	svc := New(cfg, meta, log, keys)
	ctx := context.Background()
	if _, err := svc.Create(ctx, Scope{}, CreateInput{Name: "b", Destinations: map[string]map[string]any{
		"ExtendedS3": {"RoleARN": "arn:aws:iam::111122223333:role/r", "BucketARN": "arn:aws:s3:::lake"}}}); err != nil {
		t.Fatal(err)
	}
	if ts, ok := svc.RetainedFrom(7); !ok || ts != 0 {
		t.Fatalf("new stream's key: %d %v", ts, ok)
	}
	restarted := New(cfg, meta, log, keys)
	if ts, ok := restarted.RetainedFrom(7); !ok || ts != 0 {
		t.Fatalf("after a restart, before any worker: %d %v", ts, ok)
	}
	if _, ok := restarted.RetainedFrom(8); ok {
		t.Fatal("a key no stream owns is owned")
	}
}

// TestEncryptionStartedWhileDelivering: records sealed under a data key
// created after the worker started are still delivered.
func TestEncryptionStartedWhileDelivering(t *testing.T) {
	kr, err := envelope.OpenKeyring(t.TempDir() + "/keyring.json")
	if err != nil {
		t.Fatal(err)
	}
	svc, objs := newTestService(t, func(c *Config) { c.Keys = kr })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	if _, err := svc.Create(ctx, Scope{}, CreateInput{Name: "late", Destinations: map[string]map[string]any{
		"ExtendedS3": {"RoleARN": "arn:aws:iam::111122223333:role/r", "BucketARN": "arn:aws:s3:::lake",
			"BufferingHints": map[string]any{"SizeInMBs": int64(1), "IntervalInSeconds": int64(0)}}}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.Put(ctx, Scope{}, "late", [][]byte{[]byte("plain")}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the worker runs with the key list it started with
	if err := svc.SetEncryption(ctx, Scope{}, "late", true, "", ""); err != nil {
		t.Fatal(err)
	}
	if _, enc, err := svc.Put(ctx, Scope{}, "late", [][]byte{[]byte("sealed")}); err != nil || !enc {
		t.Fatal(err, enc)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var all []string
		for _, v := range objs.snapshot() {
			all = append(all, string(v))
		}
		if strings.Contains(strings.Join(all, ","), "sealed") {
			cancel()
			<-done
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the record sealed under the new key was never delivered")
}

// TestSizeHintFillsWithoutNewPuts: a buffer reaching its size hint is
// delivered without waiting for the interval or another put, also when
// filling it takes several reads.
func TestSizeHintFillsWithoutNewPuts(t *testing.T) {
	svc, objs := newTestService(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := svc.Create(ctx, Scope{}, CreateInput{Name: "full", Destinations: map[string]map[string]any{
		"ExtendedS3": {"RoleARN": "arn:aws:iam::111122223333:role/r", "BucketARN": "arn:aws:s3:::lake",
			"BufferingHints": map[string]any{"SizeInMBs": int64(1), "IntervalInSeconds": int64(900)}}}}); err != nil {
		t.Fatal(err)
	}
	// Small records: filling the 1 MiB hint takes more than one read
	// (a read returns at most 10,000 records).
	rec := bytes.Repeat([]byte("x"), 50)
	var batch [][]byte
	for range 500 {
		batch = append(batch, rec)
	}
	for range 90 { // 2.15 MiB: two full objects, the rest waits for the interval
		if _, _, err := svc.Put(ctx, Scope{}, "full", batch); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(objs.snapshot()) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(objs.snapshot()); n != 2 {
		t.Errorf("%d objects, want 2", n)
	}
	cancel()
	<-done
}

// TestUpdateMergesS3Update: a same-kind UpdateDestination merges S3Update
// into the S3Configuration (a Prefix alone keeps the bucket).
func TestUpdateMergesS3Update(t *testing.T) {
	svc, _ := newTestService(t, nil)
	ctx := context.Background()
	_, err := svc.Create(ctx, Scope{}, CreateInput{Name: "h", Destinations: map[string]map[string]any{"HttpEndpoint": {
		"EndpointConfiguration": map[string]any{"Url": "http://127.0.0.1:1/x"},
		"S3Configuration":       map[string]any{"RoleARN": "arn:aws:iam::111122223333:role/r", "BucketARN": "arn:aws:s3:::backup"}}}})
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if m, _, _ := svc.get(ctx, Scope{}, "h"); m.effectiveStatus(time.Now()) == StatusActive {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := svc.UpdateDestination(ctx, Scope{}, "h", "1", DestinationID, "HttpEndpoint", map[string]any{"S3Update": map[string]any{"Prefix": "failed/"}}); err != nil {
		t.Fatal(err)
	}
	m, _, _ := svc.get(ctx, Scope{}, "h")
	s3 := mapOf(m.Dest, "S3Configuration")
	if str(s3, "BucketARN") != "arn:aws:s3:::backup" || str(s3, "Prefix") != "failed/" {
		t.Errorf("S3Configuration after the update: %v", s3)
	}
}

// TestDescribeExtendedS3Backup: an ExtendedS3 destination's backup is
// described as S3BackupDescription (as AWS's model names it), not as the
// configuration member it was created with.
func TestDescribeExtendedS3Backup(t *testing.T) {
	svc, _ := newTestService(t, nil)
	ctx := context.Background()
	backup := map[string]any{"RoleARN": "arn:aws:iam::111122223333:role/r", "BucketARN": "arn:aws:s3:::raw", "Prefix": "backup/"}
	if _, err := svc.Create(ctx, Scope{}, CreateInput{Name: "b", Destinations: map[string]map[string]any{DestExtendedS3: {
		"RoleARN": "arn:aws:iam::111122223333:role/r", "BucketARN": "arn:aws:s3:::lake",
		"S3BackupMode": "Enabled", "S3BackupConfiguration": backup}}}); err != nil {
		t.Fatal(err)
	}
	d, err := svc.Describe(ctx, Scope{}, "b")
	if err != nil {
		t.Fatal(err)
	}
	desc := d["Destinations"].([]any)[0].(map[string]any)["ExtendedS3DestinationDescription"].(map[string]any)
	if _, ok := desc["S3BackupConfiguration"]; ok {
		t.Errorf("described with S3BackupConfiguration: %v", desc)
	}
	if b := mapOf(desc, "S3BackupDescription"); str(b, "BucketARN") != "arn:aws:s3:::raw" || str(b, "Prefix") != "backup/" {
		t.Errorf("S3BackupDescription %v", desc["S3BackupDescription"])
	}
}
