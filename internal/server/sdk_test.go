package server_test

// Integration tests that drive a real, in-process Rheos server through the
// AWS SDK for Go v2 (and, for front-end validation texts the SDK would refuse
// to send, through hand-written JSON requests). Expected error texts come
// from kinesalite 3.3.3's tests, which were recorded against AWS; where
// current AWS is known to differ from kinesalite (StreamName became optional
// when StreamARN was added, larger limits), the test says so.

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rheos/rheos/internal/config"
	"github.com/rheos/rheos/internal/sdktest"
	"github.com/rheos/rheos/internal/server"
)

const (
	acct   = "000000000000"
	region = "us-east-1"
)

// testServer is one running server and an SDK client pointed at it.
type testServer struct {
	url   string
	admin string // admin address, if configured
	tls   string // TLS address, if configured
	kc    *kinesis.Client
	stop  func() // graceful shutdown; idempotent, also run by t.Cleanup
}

// startServer serves dir on a loopback port until the test ends or stop is
// called. mut may adjust the configuration.
func startServer(t testing.TB, dir string, mut func(*config.Config)) *testServer {
	t.Helper()
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DataDir = dir
	cfg.CreateDelay = config.Duration(50 * time.Millisecond)
	cfg.DeleteDelay = config.Duration(50 * time.Millisecond)
	cfg.UpdateDelay = config.Duration(50 * time.Millisecond)
	applyStorageMatrix(&cfg)
	if mut != nil {
		mut(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler), server.Options{})
	if err != nil {
		cancel()
		t.Fatalf("server.New: %v", err)
	}
	if err := srv.Listen(); err != nil {
		cancel()
		srv.Close()
		t.Fatalf("Listen: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	ts := &testServer{url: "http://" + srv.Addr(), admin: srv.AdminAddr(), tls: srv.TLSAddr()}
	var once sync.Once
	ts.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(ts.stop)
	ts.kc = kinesis.New(kinesis.Options{
		Region:       region,
		BaseEndpoint: aws.String(ts.url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		Retryer:      aws.NopRetryer{},
		HTTPClient:   sdktest.HTTPClient(nil),
	})
	return ts
}

func newServer(t testing.TB) *testServer { return startServer(t, t.TempDir(), nil) }

// createStream creates a provisioned stream and waits until it is ACTIVE.
func (ts *testServer) createStream(t testing.TB, name string, shards int32) {
	t.Helper()
	_, err := ts.kc.CreateStream(context.Background(), &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(shards)})
	if err != nil {
		t.Fatalf("CreateStream %s: %v", name, err)
	}
	ts.waitActive(t, name)
}

// waitActive polls DescribeStreamSummary until the stream is ACTIVE.
func (ts *testServer) waitActive(t testing.TB, name string) *types.StreamDescriptionSummary {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, err := ts.kc.DescribeStreamSummary(context.Background(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err != nil {
			t.Fatalf("DescribeStreamSummary %s: %v", name, err)
		}
		if s := out.StreamDescriptionSummary; s.StreamStatus == types.StreamStatusActive {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s not ACTIVE after 5s", name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitGone polls DescribeStream until it reports ResourceNotFoundException.
func (ts *testServer) waitGone(t *testing.T, name string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := ts.kc.DescribeStream(context.Background(), &kinesis.DescribeStreamInput{StreamName: aws.String(name)})
		var rnf *types.ResourceNotFoundException
		if errors.As(err, &rnf) {
			return
		}
		if err != nil {
			t.Fatalf("DescribeStream %s: %v", name, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream %s still exists after 5s", name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func streamARN(name string) string {
	return "arn:aws:kinesis:" + region + ":" + acct + ":stream/" + name
}

func notFoundMsg(name string) string {
	return "Stream " + name + " under account " + acct + " not found."
}

// apiError is the method set of smithy-go's APIError, which every SDK
// error (typed or generic) implements; declared here so the test needs no
// direct smithy-go import.
type apiError interface {
	error
	ErrorCode() string
	ErrorMessage() string
}

// wantErr checks that err is an AWS error with the code and, unless msg is
// empty, exactly the message.
func wantErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae apiError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("want %s, got %s: %s", code, ae.ErrorCode(), ae.ErrorMessage())
	}
	if msg != "" && ae.ErrorMessage() != msg {
		t.Fatalf("%s message:\n got %q\nwant %q", code, ae.ErrorMessage(), msg)
	}
}

// wantErrMatch is wantErr with a regular expression for the message.
func wantErrMatch(t *testing.T, err error, code, pattern string) {
	t.Helper()
	wantErr(t, err, code, "")
	var ae apiError
	errors.As(err, &ae)
	if !regexp.MustCompile(pattern).MatchString(ae.ErrorMessage()) {
		t.Fatalf("%s message %q does not match %s", code, ae.ErrorMessage(), pattern)
	}
}

// rawResponse is a decoded JSON error answer.
type rawResponse struct {
	status  int
	typ     string
	message string // "message", or "Message" for SerializationException
	body    map[string]any
}

// raw sends a hand-written JSON request with a well-formed (unverified)
// SigV4 Authorization header.
func (ts *testServer) raw(t *testing.T, op, body string) rawResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.url+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
	req.Header.Set("X-Amz-Date", "20260101T000000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AK/20260101/"+region+"/kinesis/aws4_request, SignedHeaders=host, Signature=x")
	return doRaw(t, req)
}

func doRaw(t *testing.T, req *http.Request) rawResponse {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := rawResponse{status: resp.StatusCode}
	if len(b) > 0 && json.Unmarshal(b, &r.body) == nil {
		r.typ, _ = r.body["__type"].(string)
		if m, ok := r.body["message"].(string); ok {
			r.message = m
		} else {
			r.message, _ = r.body["Message"].(string)
		}
	}
	return r
}

// wantValidation checks a ValidationException listing exactly the given
// constraint failures, in any order (as kinesalite's tests do: AWS's order
// is not stable).
func wantValidation(t *testing.T, r rawResponse, parts ...string) {
	t.Helper()
	if r.status != 400 || r.typ != "ValidationException" {
		t.Fatalf("want 400 ValidationException, got %d %s: %s", r.status, r.typ, r.message)
	}
	prefix := fmt.Sprintf("%d validation errors detected: ", len(parts))
	if len(parts) == 1 {
		prefix = "1 validation error detected: "
	}
	rest, ok := strings.CutPrefix(r.message, prefix)
	if !ok {
		t.Fatalf("message %q does not start with %q", r.message, prefix)
	}
	got := strings.Split(rest, "; ")
	want := slices.Clone(parts)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("validation errors:\n got %q\nwant %q", shorten(got), shorten(want))
	}
}

// shorten elides the middle of long strings in failure output.
func shorten(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		if len(s) > 300 {
			s = s[:150] + "…" + s[len(s)-150:]
		}
		out[i] = s
	}
	return out
}

// Sequence numbers.

var seqHexRE = regexp.MustCompile(`^20[0-9a-f]{8}([0-9a-f])[0-9a-f]{16}000([0-9a-f]{8})([0-9a-f]{8})2$`)

// checkSeq asserts kinesalite's shape of a sequence number (56 decimal
// digits; version-2 hex layout with the shard index in two places and the
// record time within a few seconds of now) and returns it as a number.
func checkSeq(t *testing.T, seq string, shardIx int) *big.Int {
	t.Helper()
	if len(seq) != 56 || strings.Trim(seq, "0123456789") != "" {
		t.Fatalf("sequence number %q: want 56 decimal digits", seq)
	}
	n, _ := new(big.Int).SetString(seq, 10)
	m := seqHexRE.FindStringSubmatch(n.Text(16))
	if m == nil {
		t.Fatalf("sequence number %s has hex %s, not the version-2 layout", seq, n.Text(16))
	}
	if ix, _ := strconv.ParseUint(m[3], 16, 32); int(ix) != shardIx || m[1] != strconv.FormatInt(int64(shardIx%16), 16) {
		t.Fatalf("sequence number %s encodes shard %s/%s, want %d", seq, m[1], m[3], shardIx)
	}
	secs, _ := strconv.ParseInt(m[2], 16, 64)
	if d := secs - time.Now().Unix(); d < -5 || d > 1 {
		t.Fatalf("sequence number %s encodes record time %d, %ds from now", seq, secs, d)
	}
	return n
}

func shardIndex(t *testing.T, id string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimPrefix(id, "shardId-"))
	if err != nil || len(id) != len("shardId-000000000000") {
		t.Fatalf("bad shard id %q", id)
	}
	return n
}

// shardForKey finds the shard whose hash range holds the MD5 of key.
func shardForKey(t *testing.T, shards []types.Shard, key string) string {
	t.Helper()
	sum := md5.Sum([]byte(key))
	h := new(big.Int).SetBytes(sum[:])
	for _, s := range shards {
		lo, _ := new(big.Int).SetString(*s.HashKeyRange.StartingHashKey, 10)
		hi, _ := new(big.Int).SetString(*s.HashKeyRange.EndingHashKey, 10)
		if h.Cmp(lo) >= 0 && h.Cmp(hi) <= 0 {
			return *s.ShardId
		}
	}
	t.Fatalf("no shard holds hash of %q", key)
	return ""
}

func shardIDs(shards []types.Shard) []string {
	out := make([]string, len(shards))
	for i, s := range shards {
		out[i] = *s.ShardId
	}
	return out
}

func ids(ix ...int) []string {
	out := make([]string, len(ix))
	for i, n := range ix {
		out[i] = fmt.Sprintf("shardId-%012d", n)
	}
	return out
}

// Hash key boundaries of a 3-shard stream (kinesalite's createStream test).
const (
	hk3End0   = "113427455640312821154458202477256070484"
	hk3Start1 = "113427455640312821154458202477256070485"
	hk3End1   = "226854911280625642308916404954512140969"
	hk3Start2 = "226854911280625642308916404954512140970"
	hkMax     = "340282366920938463463374607431768211455"
	hkTooBig  = "340282366920938463463374607431768211456" // 2^128
)

func TestSDKStreamLifecycle(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *config.Config) { c.ShardLimit = 10 })
	ctx := context.Background()

	t.Run("provisioned", func(t *testing.T) {
		before := time.Now()
		if _, err := ts.kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("prov"), ShardCount: aws.Int32(3)}); err != nil {
			t.Fatal(err)
		}
		w := kinesis.NewStreamExistsWaiter(ts.kc, func(o *kinesis.StreamExistsWaiterOptions) {
			o.MinDelay, o.MaxDelay = 10*time.Millisecond, 50*time.Millisecond
		})
		if err := w.Wait(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("prov")}, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		out, err := ts.kc.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("prov")})
		if err != nil {
			t.Fatal(err)
		}
		d := out.StreamDescription
		if *d.StreamARN != streamARN("prov") {
			t.Fatalf("ARN %s", *d.StreamARN)
		}
		if d.StreamStatus != types.StreamStatusActive || *d.RetentionPeriodHours != 24 || d.EncryptionType != types.EncryptionTypeNone ||
			d.StreamModeDetails == nil || d.StreamModeDetails.StreamMode != types.StreamModeProvisioned || *d.HasMoreShards {
			t.Fatalf("description %+v", d)
		}
		if len(d.EnhancedMonitoring) != 1 || len(d.EnhancedMonitoring[0].ShardLevelMetrics) != 0 {
			t.Fatalf("EnhancedMonitoring %+v, want one empty entry", d.EnhancedMonitoring)
		}
		if ct := *d.StreamCreationTimestamp; ct.Before(before.Add(-time.Second)) || ct.After(time.Now()) {
			t.Fatalf("creation time %v not around %v", ct, before)
		}
		ranges := [][2]string{{"0", hk3End0}, {hk3Start1, hk3End1}, {hk3Start2, hkMax}}
		if got := shardIDs(d.Shards); !slices.Equal(got, ids(0, 1, 2)) {
			t.Fatalf("shards %v", got)
		}
		var prev *big.Int
		for i, s := range d.Shards {
			if *s.HashKeyRange.StartingHashKey != ranges[i][0] || *s.HashKeyRange.EndingHashKey != ranges[i][1] {
				t.Fatalf("shard %d range %s..%s, want %s..%s", i, *s.HashKeyRange.StartingHashKey, *s.HashKeyRange.EndingHashKey, ranges[i][0], ranges[i][1])
			}
			if s.ParentShardId != nil || s.SequenceNumberRange.EndingSequenceNumber != nil {
				t.Fatalf("shard %d: parent %v, ending seq %v", i, s.ParentShardId, s.SequenceNumberRange.EndingSequenceNumber)
			}
			start := checkSeq(t, *s.SequenceNumberRange.StartingSequenceNumber, i)
			// Consecutive shards' starting numbers differ by 2^144+16 (the
			// shard index is encoded twice), as kinesalite recorded.
			if prev != nil {
				if d := new(big.Int).Sub(start, prev).String(); d != "22300745198530623141535718272648361505980432" {
					t.Fatalf("starting sequence numbers differ by %s", d)
				}
			}
			prev = start
		}
	})

	t.Run("on-demand", func(t *testing.T) {
		_, err := ts.kc.CreateStream(ctx, &kinesis.CreateStreamInput{
			StreamName:        aws.String("ondemand"),
			StreamModeDetails: &types.StreamModeDetails{StreamMode: types.StreamModeOnDemand},
		})
		if err != nil {
			t.Fatal(err)
		}
		s := ts.waitActive(t, "ondemand")
		if s.StreamModeDetails.StreamMode != types.StreamModeOnDemand || *s.OpenShardCount != 4 {
			t.Fatalf("mode %s, %d open shards; want ON_DEMAND with 4", s.StreamModeDetails.StreamMode, *s.OpenShardCount)
		}
		out, err := ts.kc.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("ondemand")})
		if err != nil {
			t.Fatal(err)
		}
		if got := shardIDs(out.Shards); !slices.Equal(got, ids(0, 1, 2, 3)) {
			t.Fatalf("shards %v", got)
		}
	})

	t.Run("duplicate", func(t *testing.T) {
		_, err := ts.kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("prov"), ShardCount: aws.Int32(1)})
		var inUse *types.ResourceInUseException
		if !errors.As(err, &inUse) {
			t.Fatalf("want ResourceInUseException, got %v", err)
		}
		wantErr(t, err, "ResourceInUseException", "Stream prov under account "+acct+" already exists.")
	})

	t.Run("shard limit", func(t *testing.T) {
		_, err := ts.kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("toobig"), ShardCount: aws.Int32(4)})
		var le *types.LimitExceededException
		if !errors.As(err, &le) {
			t.Fatalf("want LimitExceededException, got %v", err)
		}
		wantErr(t, err, "LimitExceededException", "This request would exceed the shard limit for the account "+acct+" in "+region+
			". Current shard count for the account: 7. Limit: 10. Number of additional shards that would have resulted from this request: 4."+
			" Refer to the AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits.")
		// Exactly at the limit is fine.
		ts.createStream(t, "fits", 3)
	})

	t.Run("describe limits", func(t *testing.T) {
		out, err := ts.kc.DescribeLimits(ctx, &kinesis.DescribeLimitsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if *out.ShardLimit != 10 || *out.OpenShardCount != 10 || *out.OnDemandStreamCount != 1 || *out.OnDemandStreamCountLimit != 50 {
			t.Fatalf("limits: shard %d open %d on-demand %d/%d", *out.ShardLimit, *out.OpenShardCount, *out.OnDemandStreamCount, *out.OnDemandStreamCountLimit)
		}
	})

	t.Run("not found", func(t *testing.T) {
		_, err := ts.kc.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("nope")})
		var rnf *types.ResourceNotFoundException
		if !errors.As(err, &rnf) {
			t.Fatalf("want ResourceNotFoundException, got %v", err)
		}
		wantErr(t, err, "ResourceNotFoundException", notFoundMsg("nope"))
		_, err = ts.kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("nope")})
		wantErr(t, err, "ResourceNotFoundException", notFoundMsg("nope"))
		_, err = ts.kc.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("nope")})
		wantErr(t, err, "ResourceNotFoundException", notFoundMsg("nope"))
	})

	t.Run("delete and recreate", func(t *testing.T) {
		if _, err := ts.kc.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("fits")}); err != nil {
			t.Fatal(err)
		}
		out, err := ts.kc.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("fits")})
		if err != nil {
			t.Fatal(err)
		}
		if out.StreamDescription.StreamStatus != types.StreamStatusDeleting {
			t.Fatalf("status %s, want DELETING", out.StreamDescription.StreamStatus)
		}
		ts.waitGone(t, "fits")
		ls, err := ts.kc.ListStreams(ctx, &kinesis.ListStreamsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(ls.StreamNames, "fits") {
			t.Fatalf("deleted stream still listed: %v", ls.StreamNames)
		}
		lim, err := ts.kc.DescribeLimits(ctx, &kinesis.DescribeLimitsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if *lim.OpenShardCount != 7 {
			t.Fatalf("open shards after delete: %d, want 7", *lim.OpenShardCount)
		}
		// A deleted stream's name is free again at once (kinesalite's
		// getRecords test recreates a deleted stream), before any sweep.
		ts.createStream(t, "fits", 1)
		s := ts.waitActive(t, "fits")
		if *s.OpenShardCount != 1 {
			t.Fatalf("recreated stream has %d shards, want 1", *s.OpenShardCount)
		}
	})
}

// TestSDKCreatingStream checks what a stream shows while it is CREATING
// (the delay is long enough that it never becomes ACTIVE here).
func TestSDKCreatingStream(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *config.Config) { c.CreateDelay = config.Duration(time.Minute) })
	ctx := context.Background()
	if _, err := ts.kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("young"), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}

	t.Run("describe", func(t *testing.T) {
		out, err := ts.kc.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("young")})
		if err != nil {
			t.Fatal(err)
		}
		d := out.StreamDescription
		if d.StreamStatus != types.StreamStatusCreating || len(d.Shards) != 0 || *d.HasMoreShards || *d.StreamARN != streamARN("young") {
			t.Fatalf("status %s, %d shards, more %v, ARN %s; want CREATING with no shards", d.StreamStatus, len(d.Shards), *d.HasMoreShards, *d.StreamARN)
		}
		s, err := ts.kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("young")})
		if err != nil {
			t.Fatal(err)
		}
		if s.StreamDescriptionSummary.StreamStatus != types.StreamStatusCreating {
			t.Fatalf("summary status %s", s.StreamDescriptionSummary.StreamStatus)
		}
		ls, err := ts.kc.ListStreams(ctx, &kinesis.ListStreamsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if len(ls.StreamSummaries) != 1 || ls.StreamSummaries[0].StreamStatus != types.StreamStatusCreating {
			t.Fatalf("ListStreams summaries %+v", ls.StreamSummaries)
		}
	})

	t.Run("list shards", func(t *testing.T) {
		_, err := ts.kc.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("young")})
		var inUse *types.ResourceInUseException
		if !errors.As(err, &inUse) {
			t.Fatalf("want ResourceInUseException, got %v", err)
		}
	})

	t.Run("put", func(t *testing.T) {
		// kinesalite: a stream that is not ACTIVE or UPDATING is "not found" to puts.
		_, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("young"), PartitionKey: aws.String("a"), Data: []byte{}})
		wantErr(t, err, "ResourceNotFoundException", notFoundMsg("young"))
		_, err = ts.kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("young"), Records: []types.PutRecordsRequestEntry{{PartitionKey: aws.String("a"), Data: []byte{}}}})
		wantErr(t, err, "ResourceNotFoundException", notFoundMsg("young"))
	})

	t.Run("shard iterator", func(t *testing.T) {
		// A creating stream has no shards yet (kinesalite adds them on ACTIVE).
		_, err := ts.kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String("young"), ShardId: aws.String("shardId-0"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		wantErr(t, err, "ResourceNotFoundException", "Shard shardId-000000000000 in stream young under account "+acct+" does not exist")
	})

	t.Run("duplicate", func(t *testing.T) {
		_, err := ts.kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("young"), ShardCount: aws.Int32(1)})
		wantErr(t, err, "ResourceInUseException", "Stream young under account "+acct+" already exists.")
	})
}

func TestSDKDescribeStreamPaging(t *testing.T) {
	ts := newServer(t)
	ctx := context.Background()
	ts.createStream(t, "paged", 5)

	tests := []struct {
		name  string
		limit *int32
		start *string
		want  []string
		more  bool
	}{
		{"default limit", nil, nil, ids(0, 1, 2, 3, 4), false},
		{"limit 2", aws.Int32(2), nil, ids(0, 1), true},
		{"after shard 1", aws.Int32(2), aws.String("shardId-000000000001"), ids(2, 3), true},
		{"last page", aws.Int32(2), aws.String("shardId-000000000003"), ids(4), false},
		{"limit equals rest", aws.Int32(3), aws.String("shardId-000000000001"), ids(2, 3, 4), false},
		{"after last", nil, aws.String("shardId-000000000004"), ids(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := ts.kc.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("paged"), Limit: tt.limit, ExclusiveStartShardId: tt.start})
			if err != nil {
				t.Fatal(err)
			}
			if got := shardIDs(out.StreamDescription.Shards); !slices.Equal(got, tt.want) || *out.StreamDescription.HasMoreShards != tt.more {
				t.Fatalf("shards %v more %v, want %v more %v", got, *out.StreamDescription.HasMoreShards, tt.want, tt.more)
			}
		})
	}

	t.Run("summary", func(t *testing.T) {
		out, err := ts.kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("paged")})
		if err != nil {
			t.Fatal(err)
		}
		s := out.StreamDescriptionSummary
		if *s.StreamName != "paged" || *s.StreamARN != streamARN("paged") || s.StreamStatus != types.StreamStatusActive ||
			*s.OpenShardCount != 5 || *s.RetentionPeriodHours != 24 || s.EncryptionType != types.EncryptionTypeNone ||
			*s.ConsumerCount != 0 || *s.MaxRecordSizeInKiB != 1024 || s.StreamModeDetails.StreamMode != types.StreamModeProvisioned ||
			s.StreamCreationTimestamp == nil || len(s.EnhancedMonitoring) != 1 {
			t.Fatalf("summary %+v", s)
		}
	})
}

func TestSDKListStreams(t *testing.T) {
	ts := newServer(t)
	ctx := context.Background()
	names := []string{"ls-a", "ls-b", "ls-c", "ls-d", "ls-e"}
	for _, n := range slices.Backward(names) {
		if _, err := ts.kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(n), ShardCount: aws.Int32(1)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range names {
		ts.waitActive(t, n)
	}

	t.Run("all", func(t *testing.T) {
		out, err := ts.kc.ListStreams(ctx, &kinesis.ListStreamsInput{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(out.StreamNames, names) || *out.HasMoreStreams || out.NextToken != nil {
			t.Fatalf("names %v more %v token %v", out.StreamNames, *out.HasMoreStreams, out.NextToken)
		}
		if len(out.StreamSummaries) != len(names) {
			t.Fatalf("%d summaries", len(out.StreamSummaries))
		}
		for i, s := range out.StreamSummaries {
			if *s.StreamName != names[i] || *s.StreamARN != streamARN(names[i]) || s.StreamStatus != types.StreamStatusActive ||
				s.StreamModeDetails == nil || s.StreamModeDetails.StreamMode != types.StreamModeProvisioned || s.StreamCreationTimestamp == nil {
				t.Fatalf("summary %d: %+v", i, s)
			}
		}
	})

	t.Run("next token paging", func(t *testing.T) {
		var got []string
		var token *string
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("too many pages")
			}
			out, err := ts.kc.ListStreams(ctx, &kinesis.ListStreamsInput{Limit: aws.Int32(2), NextToken: token})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.StreamNames) > 2 || len(out.StreamSummaries) != len(out.StreamNames) {
				t.Fatalf("page of %d names, %d summaries", len(out.StreamNames), len(out.StreamSummaries))
			}
			got = append(got, out.StreamNames...)
			if !*out.HasMoreStreams {
				if out.NextToken != nil {
					t.Fatalf("NextToken on the last page")
				}
				break
			}
			if out.NextToken == nil {
				t.Fatal("HasMoreStreams without NextToken")
			}
			token = out.NextToken
		}
		if !slices.Equal(got, names) {
			t.Fatalf("paged names %v", got)
		}
	})

	t.Run("exclusive start", func(t *testing.T) {
		out, err := ts.kc.ListStreams(ctx, &kinesis.ListStreamsInput{ExclusiveStartStreamName: aws.String("ls-c")})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(out.StreamNames, names[3:]) || *out.HasMoreStreams {
			t.Fatalf("names %v more %v", out.StreamNames, *out.HasMoreStreams)
		}
	})

	t.Run("bad token", func(t *testing.T) {
		_, err := ts.kc.ListStreams(ctx, &kinesis.ListStreamsInput{NextToken: aws.String("not-a-token")})
		var ia *types.InvalidArgumentException
		if !errors.As(err, &ia) {
			t.Fatalf("want InvalidArgumentException, got %v", err)
		}
	})
}

func TestSDKListShards(t *testing.T) {
	ts := newServer(t)
	ctx := context.Background()
	ts.createStream(t, "shards", 5)
	all := ids(0, 1, 2, 3, 4)

	t.Run("next token paging", func(t *testing.T) {
		var got []string
		out, err := ts.kc.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("shards"), MaxResults: aws.Int32(2)})
		for pages := 1; ; pages++ {
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Shards) > 2 {
				t.Fatalf("page of %d shards", len(out.Shards))
			}
			got = append(got, shardIDs(out.Shards)...)
			if out.NextToken == nil {
				break
			}
			if pages > 5 {
				t.Fatal("too many pages")
			}
			out, err = ts.kc.ListShards(ctx, &kinesis.ListShardsInput{NextToken: out.NextToken, MaxResults: aws.Int32(2)})
		}
		if !slices.Equal(got, all) {
			t.Fatalf("paged shards %v", got)
		}
	})

	t.Run("token and name together", func(t *testing.T) {
		out, err := ts.kc.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("shards"), MaxResults: aws.Int32(1)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = ts.kc.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("shards"), NextToken: out.NextToken})
		var ia *types.InvalidArgumentException
		if !errors.As(err, &ia) {
			t.Fatalf("want InvalidArgumentException, got %v", err)
		}
		wantErr(t, err, "InvalidArgumentException", "NextToken and StreamName cannot be provided together.")
	})

	t.Run("neither token nor name", func(t *testing.T) {
		_, err := ts.kc.ListShards(ctx, &kinesis.ListShardsInput{})
		wantErr(t, err, "InvalidArgumentException", "Either NextToken or StreamName should be provided.")
	})

	t.Run("bad token", func(t *testing.T) {
		_, err := ts.kc.ListShards(ctx, &kinesis.ListShardsInput{NextToken: aws.String("bm90IGEgdG9rZW4=")})
		wantErr(t, err, "InvalidArgumentException", "")
	})

	t.Run("not found", func(t *testing.T) {
		_, err := ts.kc.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("nope")})
		wantErr(t, err, "ResourceNotFoundException", notFoundMsg("nope"))
	})

	t.Run("exclusive start shard id", func(t *testing.T) {
		out, err := ts.kc.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("shards"), ExclusiveStartShardId: aws.String("shardId-000000000002")})
		if err != nil {
			t.Fatal(err)
		}
		if got := shardIDs(out.Shards); !slices.Equal(got, ids(3, 4)) || out.NextToken != nil {
			t.Fatalf("shards %v token %v", got, out.NextToken)
		}
	})

	past := time.Now().Add(-time.Hour)
	now := time.Now()
	filters := []struct {
		name   string
		filter types.ShardFilter
		want   []string
	}{
		{"AFTER_SHARD_ID", types.ShardFilter{Type: types.ShardFilterTypeAfterShardId, ShardId: aws.String("shardId-000000000001")}, ids(2, 3, 4)},
		{"AT_TRIM_HORIZON", types.ShardFilter{Type: types.ShardFilterTypeAtTrimHorizon}, all},
		{"FROM_TRIM_HORIZON", types.ShardFilter{Type: types.ShardFilterTypeFromTrimHorizon}, all},
		{"AT_LATEST", types.ShardFilter{Type: types.ShardFilterTypeAtLatest}, all},
		{"AT_TIMESTAMP now", types.ShardFilter{Type: types.ShardFilterTypeAtTimestamp, Timestamp: &now}, all},
		{"AT_TIMESTAMP before creation", types.ShardFilter{Type: types.ShardFilterTypeAtTimestamp, Timestamp: &past}, all},
		{"FROM_TIMESTAMP", types.ShardFilter{Type: types.ShardFilterTypeFromTimestamp, Timestamp: &past}, all},
	}
	for _, tt := range filters {
		t.Run("filter "+tt.name, func(t *testing.T) {
			out, err := ts.kc.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("shards"), ShardFilter: &tt.filter})
			if err != nil {
				t.Fatal(err)
			}
			if got := shardIDs(out.Shards); !slices.Equal(got, tt.want) {
				t.Fatalf("shards %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("filter survives paging", func(t *testing.T) {
		f := &types.ShardFilter{Type: types.ShardFilterTypeAfterShardId, ShardId: aws.String("shardId-000000000002")}
		out, err := ts.kc.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("shards"), ShardFilter: f, MaxResults: aws.Int32(1)})
		if err != nil {
			t.Fatal(err)
		}
		got := shardIDs(out.Shards)
		out, err = ts.kc.ListShards(ctx, &kinesis.ListShardsInput{NextToken: out.NextToken})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, shardIDs(out.Shards)...)
		if !slices.Equal(got, ids(3, 4)) || out.NextToken != nil {
			t.Fatalf("shards %v token %v", got, out.NextToken)
		}
	})

	t.Run("filter missing its parameter", func(t *testing.T) {
		for _, f := range []types.ShardFilter{
			{Type: types.ShardFilterTypeAfterShardId},
			{Type: types.ShardFilterTypeAtTimestamp},
			{Type: types.ShardFilterTypeFromTimestamp},
		} {
			_, err := ts.kc.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String("shards"), ShardFilter: &f})
			wantErr(t, err, "InvalidArgumentException", "")
		}
	})

}

func TestSDKPutRecord(t *testing.T) {
	ts := newServer(t)
	ctx := context.Background()
	ts.createStream(t, "put", 3)
	desc, err := ts.kc.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("put")})
	if err != nil {
		t.Fatal(err)
	}
	shards := desc.StreamDescription.Shards

	t.Run("explicit hash key routing", func(t *testing.T) {
		tests := []struct{ key, shard string }{
			{"0", "shardId-000000000000"},
			{hk3End0, "shardId-000000000000"},
			{hk3Start1, "shardId-000000000001"},
			{hk3End1, "shardId-000000000001"},
			{hk3Start2, "shardId-000000000002"},
			{hkMax, "shardId-000000000002"},
		}
		for _, tt := range tests {
			out, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("put"), PartitionKey: aws.String("pk"),
				ExplicitHashKey: aws.String(tt.key), Data: []byte("x")})
			if err != nil {
				t.Fatal(err)
			}
			if *out.ShardId != tt.shard {
				t.Fatalf("hash key %s went to %s, want %s", tt.key, *out.ShardId, tt.shard)
			}
			checkSeq(t, *out.SequenceNumber, shardIndex(t, tt.shard))
		}
	})

	t.Run("partition key routing", func(t *testing.T) {
		seen := map[string]bool{}
		for i := range 30 {
			pk := fmt.Sprintf("key-%d", i)
			out, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("put"), PartitionKey: aws.String(pk), Data: []byte(pk)})
			if err != nil {
				t.Fatal(err)
			}
			if want := shardForKey(t, shards, pk); *out.ShardId != want {
				t.Fatalf("partition key %s went to %s, want %s", pk, *out.ShardId, want)
			}
			seen[*out.ShardId] = true
		}
		if len(seen) != 3 {
			t.Fatalf("30 keys reached only %d shards", len(seen))
		}
	})

	t.Run("sequence numbers increase per shard", func(t *testing.T) {
		last := map[string]*big.Int{}
		for i := range 40 {
			out, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("put"), PartitionKey: aws.String(strconv.Itoa(i % 7)), Data: []byte{byte(i)}})
			if err != nil {
				t.Fatal(err)
			}
			n := checkSeq(t, *out.SequenceNumber, shardIndex(t, *out.ShardId))
			if p := last[*out.ShardId]; p != nil && n.Cmp(p) <= 0 {
				t.Fatalf("shard %s: %s after %s", *out.ShardId, n, p)
			}
			last[*out.ShardId] = n
		}
	})

	t.Run("sequence number for ordering", func(t *testing.T) {
		first, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("put"), PartitionKey: aws.String("o"), Data: []byte("1")})
		if err != nil {
			t.Fatal(err)
		}
		second, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("put"), PartitionKey: aws.String("o"), Data: []byte("2"),
			SequenceNumberForOrdering: first.SequenceNumber})
		if err != nil {
			t.Fatal(err)
		}
		a, _ := new(big.Int).SetString(*first.SequenceNumber, 10)
		b, _ := new(big.Int).SetString(*second.SequenceNumber, 10)
		if *second.ShardId != *first.ShardId || b.Cmp(a) <= 0 {
			t.Fatalf("ordered put: %s/%s after %s/%s", *second.ShardId, b, *first.ShardId, a)
		}
		// Version 0 and version 3 numbers (kinesalite's putRecord tests).
		for _, hex := range []string{"20000000000000000000000000000000000000000000000", "20000000000000000000000000000000000000000000003"} {
			n, _ := new(big.Int).SetString(hex, 16)
			_, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("put"), PartitionKey: aws.String("a"), Data: []byte{},
				SequenceNumberForOrdering: aws.String(n.String())})
			wantErr(t, err, "InvalidArgumentException", "ExclusiveMinimumSequenceNumber "+n.String()+" used in PutRecord on stream put under account "+acct+" is invalid.")
		}
	})

	t.Run("hash key out of range", func(t *testing.T) {
		msg := "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was " + hkTooBig
		_, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("put"), PartitionKey: aws.String("a"), Data: []byte{}, ExplicitHashKey: aws.String(hkTooBig)})
		var ia *types.InvalidArgumentException
		if !errors.As(err, &ia) {
			t.Fatalf("want InvalidArgumentException, got %v", err)
		}
		wantErr(t, err, "InvalidArgumentException", msg)
		_, err = ts.kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("put"), Records: []types.PutRecordsRequestEntry{
			{PartitionKey: aws.String("a"), Data: []byte{}, ExplicitHashKey: aws.String(hkTooBig)},
			{PartitionKey: aws.String("a"), Data: []byte{}},
		}})
		wantErr(t, err, "InvalidArgumentException", msg)
	})

	t.Run("put records", func(t *testing.T) {
		var entries []types.PutRecordsRequestEntry
		var want []string
		for i := range 12 {
			e := types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprintf("batch-%d", i)), Data: []byte(fmt.Sprintf("data-%d", i))}
			w := shardForKey(t, shards, *e.PartitionKey)
			if i%4 == 0 {
				e.ExplicitHashKey = aws.String(hkMax)
				w = "shardId-000000000002"
			}
			entries = append(entries, e)
			want = append(want, w)
		}
		out, err := ts.kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("put"), Records: entries})
		if err != nil {
			t.Fatal(err)
		}
		if *out.FailedRecordCount != 0 || len(out.Records) != len(entries) {
			t.Fatalf("FailedRecordCount %d, %d results for %d records", *out.FailedRecordCount, len(out.Records), len(entries))
		}
		last := map[string]*big.Int{}
		for i, r := range out.Records {
			if r.ErrorCode != nil || r.ErrorMessage != nil {
				t.Fatalf("record %d failed: %v %v", i, *r.ErrorCode, *r.ErrorMessage)
			}
			if *r.ShardId != want[i] {
				t.Fatalf("record %d went to %s, want %s", i, *r.ShardId, want[i])
			}
			n := checkSeq(t, *r.SequenceNumber, shardIndex(t, *r.ShardId))
			if p := last[*r.ShardId]; p != nil && n.Cmp(p) <= 0 {
				t.Fatalf("record %d: %s after %s in %s", i, n, p, *r.ShardId)
			}
			last[*r.ShardId] = n
		}
	})

	t.Run("not found", func(t *testing.T) {
		_, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("nope"), PartitionKey: aws.String("a"), Data: []byte{}})
		wantErr(t, err, "ResourceNotFoundException", notFoundMsg("nope"))
		_, err = ts.kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("nope"), Records: []types.PutRecordsRequestEntry{{PartitionKey: aws.String("a"), Data: []byte{}}}})
		wantErr(t, err, "ResourceNotFoundException", notFoundMsg("nope"))
	})

	t.Run("missing partition key", func(t *testing.T) {
		// The SDK checks only Data client-side; the server names the member.
		_, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("put"), Data: []byte("x")})
		wantErr(t, err, "ValidationException", "1 validation error detected: Value null at 'partitionKey' failed to satisfy constraint: Member must not be null")
	})

	t.Run("record too large", func(t *testing.T) {
		_, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("put"), PartitionKey: aws.String("a"), Data: make([]byte, 1<<20)})
		wantErr(t, err, "InvalidArgumentException", "")
		_, err = ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("put"), PartitionKey: aws.String("a"), Data: make([]byte, 1<<20-1)})
		if err != nil {
			t.Fatalf("1 MiB record (data plus key): %v", err)
		}
	})
}

// putTo puts records with the given data to shard 0 of a stream (by
// explicit hash key "0") and returns their sequence numbers.
func putTo(t *testing.T, ts *testServer, stream string, data ...[]byte) []string {
	t.Helper()
	var seqs []string
	for i, d := range data {
		out, err := ts.kc.PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String(stream),
			PartitionKey: aws.String(fmt.Sprintf("pk-%d", i)), ExplicitHashKey: aws.String("0"), Data: d})
		if err != nil {
			t.Fatal(err)
		}
		if *out.ShardId != "shardId-000000000000" {
			t.Fatalf("hash key 0 went to %s", *out.ShardId)
		}
		seqs = append(seqs, *out.SequenceNumber)
	}
	return seqs
}

func (ts *testServer) iterator(t *testing.T, in *kinesis.GetShardIteratorInput) string {
	t.Helper()
	out, err := ts.kc.GetShardIterator(context.Background(), in)
	if err != nil {
		t.Fatalf("GetShardIterator %s %s: %v", aws.ToString(in.ShardId), in.ShardIteratorType, err)
	}
	if out.ShardIterator == nil || *out.ShardIterator == "" {
		t.Fatal("empty shard iterator")
	}
	return *out.ShardIterator
}

// readAll reads from it until an empty page and returns the records.
func (ts *testServer) readAll(t *testing.T, it string) []types.Record {
	t.Helper()
	var recs []types.Record
	for range 100 {
		out, err := ts.kc.GetRecords(context.Background(), &kinesis.GetRecordsInput{ShardIterator: aws.String(it)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Records) == 0 {
			return recs
		}
		recs = append(recs, out.Records...)
		if out.NextShardIterator == nil {
			t.Fatal("open shard returned no NextShardIterator")
		}
		it = *out.NextShardIterator
	}
	t.Fatal("too many pages")
	return nil
}

func seqsOf(recs []types.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = *r.SequenceNumber
	}
	return out
}

func TestSDKGetRecords(t *testing.T) {
	ts := newServer(t)
	ctx := context.Background()
	ts.createStream(t, "read", 2)
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	data := [][]byte{[]byte("zero"), allBytes, {}, []byte("three"), bytes.Repeat([]byte("four"), 1000)}
	batch1 := putTo(t, ts, "read", data[:3]...)
	time.Sleep(20 * time.Millisecond)
	mid := time.Now()
	time.Sleep(20 * time.Millisecond)
	batch2 := putTo(t, ts, "read", data[3:]...)
	seqs := append(slices.Clone(batch1), batch2...)
	afterPuts := time.Now()
	time.Sleep(20 * time.Millisecond) // so the first pages are measurably behind
	in := func(shard string, typ types.ShardIteratorType) *kinesis.GetShardIteratorInput {
		return &kinesis.GetShardIteratorInput{StreamName: aws.String("read"), ShardId: aws.String(shard), ShardIteratorType: typ}
	}

	t.Run("trim horizon with limit", func(t *testing.T) {
		it := ts.iterator(t, in("shardId-000000000000", types.ShardIteratorTypeTrimHorizon))
		var got []types.Record
		for page := 0; ; page++ {
			out, err := ts.kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(it), Limit: aws.Int32(2)})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Records) > 2 {
				t.Fatalf("page %d has %d records, limit 2", page, len(out.Records))
			}
			if out.NextShardIterator == nil || out.MillisBehindLatest == nil {
				t.Fatalf("page %d: NextShardIterator %v MillisBehindLatest %v", page, out.NextShardIterator, out.MillisBehindLatest)
			}
			behind := *out.MillisBehindLatest
			if len(got)+len(out.Records) < len(seqs) {
				if behind < 20 {
					t.Fatalf("page %d: MillisBehindLatest %d, want >= 20 with records still unread", page, behind)
				}
			} else if behind != 0 {
				t.Fatalf("page %d: MillisBehindLatest %d at the tip, want 0", page, behind)
			}
			got = append(got, out.Records...)
			it = *out.NextShardIterator
			if len(out.Records) == 0 {
				break
			}
		}
		if !slices.Equal(seqsOf(got), seqs) {
			t.Fatalf("sequence numbers %v, want %v", seqsOf(got), seqs)
		}
		for i, r := range got {
			key := fmt.Sprintf("pk-%d", i) // putTo numbers keys per call
			if i >= len(batch1) {
				key = fmt.Sprintf("pk-%d", i-len(batch1))
			}
			if !bytes.Equal(r.Data, data[i]) || *r.PartitionKey != key {
				t.Fatalf("record %d: data %q key %s", i, r.Data, *r.PartitionKey)
			}
			if at := *r.ApproximateArrivalTimestamp; at.Before(afterPuts.Add(-5*time.Second)) || at.After(afterPuts.Add(time.Second)) {
				t.Fatalf("record %d arrived at %v, puts ended %v", i, at, afterPuts)
			}
		}
		// The tip iterator keeps working and sees new records.
		more := putTo(t, ts, "read", []byte("later"))
		out, err := ts.kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(it)})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seqsOf(out.Records), more) {
			t.Fatalf("after the tip: %v, want %v", seqsOf(out.Records), more)
		}
		seqs = append(seqs, more...)
		data = append(data, []byte("later"))
	})

	t.Run("at and after sequence number", func(t *testing.T) {
		at := in("shardId-000000000000", types.ShardIteratorTypeAtSequenceNumber)
		at.StartingSequenceNumber = aws.String(seqs[2])
		if got := seqsOf(ts.readAll(t, ts.iterator(t, at))); !slices.Equal(got, seqs[2:]) {
			t.Fatalf("AT_SEQUENCE_NUMBER: %v, want %v", got, seqs[2:])
		}
		after := in("shardId-000000000000", types.ShardIteratorTypeAfterSequenceNumber)
		after.StartingSequenceNumber = aws.String(seqs[2])
		if got := seqsOf(ts.readAll(t, ts.iterator(t, after))); !slices.Equal(got, seqs[3:]) {
			t.Fatalf("AFTER_SEQUENCE_NUMBER: %v, want %v", got, seqs[3:])
		}
		last := in("shardId-000000000000", types.ShardIteratorTypeAfterSequenceNumber)
		last.StartingSequenceNumber = aws.String(seqs[len(seqs)-1])
		if got := ts.readAll(t, ts.iterator(t, last)); len(got) != 0 {
			t.Fatalf("after the last record: %v", seqsOf(got))
		}
	})

	t.Run("latest", func(t *testing.T) {
		it := ts.iterator(t, in("shardId-000000000000", types.ShardIteratorTypeLatest))
		out, err := ts.kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(it)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Records) != 0 || *out.MillisBehindLatest != 0 {
			t.Fatalf("LATEST read %d records, %d ms behind", len(out.Records), *out.MillisBehindLatest)
		}
		fresh := putTo(t, ts, "read", []byte("fresh"))
		out, err = ts.kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: out.NextShardIterator})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seqsOf(out.Records), fresh) || string(out.Records[0].Data) != "fresh" {
			t.Fatalf("LATEST then put: %v", seqsOf(out.Records))
		}
		seqs = append(seqs, fresh...)
	})

	t.Run("at timestamp", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			ts   time.Time
			want []string
		}{
			{"before the first record", mid.Add(-time.Hour), seqs},
			{"between the batches", mid, seqs[len(batch1):]},
		} {
			req := in("shardId-000000000000", types.ShardIteratorTypeAtTimestamp)
			req.Timestamp = aws.Time(tt.ts)
			if got := seqsOf(ts.readAll(t, ts.iterator(t, req))); !slices.Equal(got, tt.want) {
				t.Fatalf("%s: %v, want %v", tt.name, got, tt.want)
			}
		}
		req := in("shardId-000000000000", types.ShardIteratorTypeAtTimestamp)
		_, err := ts.kc.GetShardIterator(ctx, req)
		wantErr(t, err, "InvalidArgumentException", "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.")
		req.Timestamp = aws.Time(time.Now().Add(time.Hour))
		_, err = ts.kc.GetShardIterator(ctx, req)
		wantErrMatch(t, err, "InvalidArgumentException", `^The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: \d+, currentTimestampInMillis: \d+$`)
	})

	t.Run("lenient shard ids", func(t *testing.T) {
		// AWS resolves the text after the first '-' as the index (kinesalite).
		for _, id := range []string{"shardId-000000000000", "shardId-0", "shard-0", "anything-0", "-0", "0", "shardId-00"} {
			got := ts.readAll(t, ts.iterator(t, in(id, types.ShardIteratorTypeTrimHorizon)))
			if len(got) == 0 || *got[0].SequenceNumber != seqs[0] {
				t.Fatalf("shard id %q did not resolve to shard 0", id)
			}
		}
		if got := ts.readAll(t, ts.iterator(t, in("shard-1", types.ShardIteratorTypeTrimHorizon))); len(got) != 0 {
			t.Fatalf("shard-1 read %d records, want the empty shard 1", len(got))
		}
	})

	t.Run("shard and stream errors", func(t *testing.T) {
		tests := []struct {
			stream, shard, code, msg string
		}{
			{"read", "shardId-5", "ResourceNotFoundException", "Shard shardId-000000000005 in stream read under account " + acct + " does not exist"},
			{"read", "ABKLFD8", "ResourceNotFoundException", "Could not find shard ABKLFD8 in stream read under account " + acct + "."},
			{"nope", "2147483647", "ResourceNotFoundException", "Shard shardId-002147483647 in stream nope under account " + acct + " does not exist"},
			{"nope", "a-00002147483647", "ResourceNotFoundException", "Shard shardId-002147483647 in stream nope under account " + acct + " does not exist"},
			{"nope", "2147483648", "ResourceNotFoundException", "Could not find shard 2147483648 in stream nope under account " + acct + "."},
			{"nope", "shardId-002147483648", "ResourceNotFoundException", "Could not find shard shardId-002147483648 in stream nope under account " + acct + "."},
			{"nope", "2.14E4", "ResourceNotFoundException", "Could not find shard 2.14E4 in stream nope under account " + acct + "."},
		}
		for _, tt := range tests {
			_, err := ts.kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(tt.stream), ShardId: aws.String(tt.shard), ShardIteratorType: types.ShardIteratorTypeLatest})
			wantErr(t, err, tt.code, tt.msg)
		}
	})

	t.Run("starting sequence number errors", func(t *testing.T) {
		other, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("read"), PartitionKey: aws.String("x"), ExplicitHashKey: aws.String(hkMax), Data: []byte("1")})
		if err != nil {
			t.Fatal(err)
		}
		const either = "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. "
		seqIndex8, _ := new(big.Int).SetString("20000000000800000000000000000000000000000000002", 16)
		seqIndexNeg, _ := new(big.Int).SetString("20000000000000000000000000000000000000800000002", 16)
		tests := []struct {
			typ types.ShardIteratorType
			seq *string
			msg string
		}{
			{types.ShardIteratorTypeAtSequenceNumber, nil, either + "Request specified AT_SEQUENCE_NUMBER and no StartingSequenceNumber."},
			{types.ShardIteratorTypeAfterSequenceNumber, nil, either + "Request specified AFTER_SEQUENCE_NUMBER and no StartingSequenceNumber."},
			{types.ShardIteratorTypeLatest, aws.String(seqs[0]), either + "Request specified LATEST and also a StartingSequenceNumber."},
			{types.ShardIteratorTypeTrimHorizon, aws.String(seqs[0]), either + "Request specified TRIM_HORIZON and also a StartingSequenceNumber."},
			{types.ShardIteratorTypeAtSequenceNumber, other.SequenceNumber, "Invalid StartingSequenceNumber. It encodes shardId-000000000001, while it was used in a call to a shard with shardId-000000000000"},
			{types.ShardIteratorTypeAtSequenceNumber, aws.String(seqIndex8.String()),
				"StartingSequenceNumber " + seqIndex8.String() + " used in GetShardIterator on shard shardId-000000000000 in stream read under account " + acct + " is invalid."},
			{types.ShardIteratorTypeAtSequenceNumber, aws.String(seqIndexNeg.String()),
				"Invalid StartingSequenceNumber. It encodes shardId--02147483648, while it was used in a call to a shard with shardId-000000000000"},
		}
		for _, tt := range tests {
			req := in("shardId-0", tt.typ)
			req.StartingSequenceNumber = tt.seq
			_, err := ts.kc.GetShardIterator(ctx, req)
			wantErr(t, err, "InvalidArgumentException", tt.msg)
		}
	})

	t.Run("bad iterator", func(t *testing.T) {
		_, err := ts.kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String("AAAAAAAAAAGK9EEG0sJqVhCUS2JsgigQ5dcpB4q9PYswrH2oK44Skq3")})
		var ia *types.InvalidArgumentException
		if !errors.As(err, &ia) {
			t.Fatalf("want InvalidArgumentException, got %v", err)
		}
		wantErr(t, err, "InvalidArgumentException", "Invalid ShardIterator.")
	})

	t.Run("iterator of a deleted stream", func(t *testing.T) {
		ts.createStream(t, "doomed", 2)
		it1 := ts.iterator(t, &kinesis.GetShardIteratorInput{StreamName: aws.String("doomed"), ShardId: aws.String("shardId-1"), ShardIteratorType: types.ShardIteratorTypeLatest})
		if _, err := ts.kc.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("doomed")}); err != nil {
			t.Fatal(err)
		}
		ts.waitGone(t, "doomed")
		msg := "Shard shardId-000000000001 in stream doomed under account " + acct + " does not exist"
		_, err := ts.kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(it1)})
		wantErr(t, err, "ResourceNotFoundException", msg)
		// Still gone for a recreated stream of the same name.
		ts.createStream(t, "doomed", 1)
		_, err = ts.kc.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(it1)})
		wantErr(t, err, "ResourceNotFoundException", msg)
	})
}

func TestSDKRetention(t *testing.T) {
	ts := newServer(t)
	ctx := context.Background()
	ts.createStream(t, "ret", 1)
	inc := func(h int32) error {
		_, err := ts.kc.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: aws.String("ret"), RetentionPeriodHours: aws.Int32(h)})
		return err
	}
	dec := func(h int32) error {
		_, err := ts.kc.DecreaseStreamRetentionPeriod(ctx, &kinesis.DecreaseStreamRetentionPeriodInput{StreamName: aws.String("ret"), RetentionPeriodHours: aws.Int32(h)})
		return err
	}
	hours := func() int32 {
		t.Helper()
		return *ts.waitActive(t, "ret").RetentionPeriodHours
	}

	if err := inc(48); err != nil {
		t.Fatal(err)
	}
	if h := hours(); h != 48 {
		t.Fatalf("retention %d after increase to 48", h)
	}
	if err := inc(48); err != nil {
		t.Fatalf("increase to the same value: %v", err)
	}
	wantErr(t, inc(30), "InvalidArgumentException",
		"Requested retention period (30 hours) for stream ret can not be shorter than existing retention period (48 hours). Use DecreaseRetentionPeriod API.")
	wantErr(t, dec(72), "InvalidArgumentException",
		"Requested retention period (72 hours) for stream ret can not be longer than existing retention period (48 hours). Use IncreaseRetentionPeriod API.")
	for _, f := range []func(int32) error{inc, dec} {
		wantErr(t, f(23), "InvalidArgumentException", "Minimum allowed retention period is 24 hours. Requested retention period (23 hours) is too short.")
	}
	// The upper bound is the service's current 8760 hours (kinesalite: 168).
	wantErr(t, inc(8761), "ValidationException",
		"1 validation error detected: Value '8761' at 'retentionPeriodHours' failed to satisfy constraint: Member must have value less than or equal to 8760")
	if err := dec(36); err != nil {
		t.Fatal(err)
	}
	if h := hours(); h != 36 {
		t.Fatalf("retention %d after decrease to 36", h)
	}
	if err := inc(8760); err != nil {
		t.Fatal(err)
	}
	if h := hours(); h != 8760 {
		t.Fatalf("retention %d after increase to 8760", h)
	}
	_, err := ts.kc.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: aws.String("nope"), RetentionPeriodHours: aws.Int32(25)})
	wantErr(t, err, "ResourceNotFoundException", notFoundMsg("nope"))
	_, err = ts.kc.DecreaseStreamRetentionPeriod(ctx, &kinesis.DecreaseStreamRetentionPeriodInput{StreamName: aws.String("nope"), RetentionPeriodHours: aws.Int32(25)})
	wantErr(t, err, "ResourceNotFoundException", notFoundMsg("nope"))
}

func tagMap(tags []types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[*t.Key] = aws.ToString(t.Value)
	}
	return m
}

func tagKeys(tags []types.Tag) []string {
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = *t.Key
	}
	return out
}

func TestSDKTags(t *testing.T) {
	ts := newServer(t)
	ctx := context.Background()
	ts.createStream(t, "tags", 1)
	name := aws.String("tags")
	list := func(t *testing.T, in *kinesis.ListTagsForStreamInput) *kinesis.ListTagsForStreamOutput {
		t.Helper()
		in.StreamName = name
		out, err := ts.kc.ListTagsForStream(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	t.Run("add list remove", func(t *testing.T) {
		out := list(t, &kinesis.ListTagsForStreamInput{})
		if len(out.Tags) != 0 || *out.HasMoreTags {
			t.Fatalf("new stream tags %v", tagMap(out.Tags))
		}
		if _, err := ts.kc.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: name, Tags: map[string]string{"c": "3", "a": "1", "b": "2", "e": ""}}); err != nil {
			t.Fatal(err)
		}
		out = list(t, &kinesis.ListTagsForStreamInput{})
		if got := tagKeys(out.Tags); !slices.Equal(got, []string{"a", "b", "c", "e"}) || *out.HasMoreTags || tagMap(out.Tags)["b"] != "2" {
			t.Fatalf("tags %v more %v", tagMap(out.Tags), *out.HasMoreTags)
		}
		out = list(t, &kinesis.ListTagsForStreamInput{Limit: aws.Int32(2)})
		if got := tagKeys(out.Tags); !slices.Equal(got, []string{"a", "b"}) || !*out.HasMoreTags {
			t.Fatalf("limit 2: %v more %v", got, *out.HasMoreTags)
		}
		out = list(t, &kinesis.ListTagsForStreamInput{ExclusiveStartTagKey: aws.String("b")})
		if got := tagKeys(out.Tags); !slices.Equal(got, []string{"c", "e"}) || *out.HasMoreTags {
			t.Fatalf("after b: %v more %v", got, *out.HasMoreTags)
		}
		if _, err := ts.kc.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: name, Tags: map[string]string{"a": "one"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.kc.RemoveTagsFromStream(ctx, &kinesis.RemoveTagsFromStreamInput{StreamName: name, TagKeys: []string{"b", "absent"}}); err != nil {
			t.Fatal(err)
		}
		if got := tagMap(list(t, &kinesis.ListTagsForStreamInput{}).Tags); len(got) != 3 || got["a"] != "one" || got["c"] != "3" || got["e"] != "" {
			t.Fatalf("after overwrite and remove: %v", got)
		}
	})

	t.Run("invalid characters", func(t *testing.T) {
		const invalid = "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @."
		const illegal = " because some tags contained illegal characters. The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@'."
		tests := []struct {
			tags map[string]string
			msg  string
		}{
			{map[string]string{"abc;def": "1"}, invalid},
			{map[string]string{"abc\tdef": "1"}, invalid},
			{map[string]string{"abc\ndef": "1"}, invalid},
			{map[string]string{"a": "abc,def"}, invalid},
			{map[string]string{"abc%def": "1"}, "Failed to add tags to stream tags under account " + acct + illegal},
			{map[string]string{"a": "abc%def"}, "Failed to add tags to stream tags under account " + acct + illegal},
		}
		for _, tt := range tests {
			_, err := ts.kc.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: name, Tags: tt.tags})
			wantErr(t, err, "InvalidArgumentException", tt.msg)
		}
		_, err := ts.kc.RemoveTagsFromStream(ctx, &kinesis.RemoveTagsFromStreamInput{StreamName: name, TagKeys: []string{"abc;def"}})
		wantErr(t, err, "InvalidArgumentException", invalid)
		_, err = ts.kc.RemoveTagsFromStream(ctx, &kinesis.RemoveTagsFromStreamInput{StreamName: name, TagKeys: []string{"abc%def"}})
		wantErr(t, err, "InvalidArgumentException", "Failed to remove tags from stream tags under account "+acct+illegal)
		// Valid characters, including non-ASCII letters.
		if _, err := ts.kc.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: name, Tags: map[string]string{"ok _./=+-@": "Ünïcødé"}}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("not found", func(t *testing.T) {
		_, err := ts.kc.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: aws.String("nope"), Tags: map[string]string{"a": "b"}})
		wantErr(t, err, "ResourceNotFoundException", notFoundMsg("nope"))
		// The stream is looked up before the keys are checked (kinesalite).
		_, err = ts.kc.RemoveTagsFromStream(ctx, &kinesis.RemoveTagsFromStreamInput{StreamName: aws.String("nope"), TagKeys: []string{";"}})
		wantErr(t, err, "ResourceNotFoundException", notFoundMsg("nope"))
		_, err = ts.kc.ListTagsForStream(ctx, &kinesis.ListTagsForStreamInput{StreamName: aws.String("nope"), ExclusiveStartTagKey: aws.String("a"), Limit: aws.Int32(1)})
		wantErr(t, err, "ResourceNotFoundException", notFoundMsg("nope"))
	})

	t.Run("too many tags", func(t *testing.T) {
		many := map[string]string{}
		for i := range 50 {
			many[fmt.Sprintf("k%02d", i)] = "v"
		}
		_, err := ts.kc.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: name, Tags: many})
		// The message's limit is uncertain (kinesalite's recording says 10,
		// from when that was the limit); only the type is checked.
		wantErr(t, err, "InvalidArgumentException", "")
	})

	t.Run("create with tags", func(t *testing.T) {
		if _, err := ts.kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("tagged"), ShardCount: aws.Int32(1), Tags: map[string]string{"team": "rheos"}}); err != nil {
			t.Fatal(err)
		}
		ts.waitActive(t, "tagged")
		out, err := ts.kc.ListTagsForStream(ctx, &kinesis.ListTagsForStreamInput{StreamName: aws.String("tagged")})
		if err != nil {
			t.Fatal(err)
		}
		if got := tagMap(out.Tags); len(got) != 1 || got["team"] != "rheos" {
			t.Fatalf("tags %v", got)
		}
	})

	t.Run("resource tagging", func(t *testing.T) {
		arn := aws.String(streamARN("tags"))
		if _, err := ts.kc.TagResource(ctx, &kinesis.TagResourceInput{ResourceARN: arn, Tags: map[string]string{"env": "test", "x": "y"}}); err != nil {
			t.Fatal(err)
		}
		out, err := ts.kc.ListTagsForResource(ctx, &kinesis.ListTagsForResourceInput{ResourceARN: arn})
		if err != nil {
			t.Fatal(err)
		}
		if got := tagMap(out.Tags); got["env"] != "test" || got["x"] != "y" || got["a"] != "one" {
			t.Fatalf("resource tags %v", got)
		}
		if _, err := ts.kc.UntagResource(ctx, &kinesis.UntagResourceInput{ResourceARN: arn, TagKeys: []string{"x"}}); err != nil {
			t.Fatal(err)
		}
		// Both APIs see the same tags.
		got := tagMap(list(t, &kinesis.ListTagsForStreamInput{}).Tags)
		if _, ok := got["x"]; ok || got["env"] != "test" {
			t.Fatalf("stream tags after UntagResource: %v", got)
		}
		for _, bad := range []string{streamARN("nope"), streamARN("tags") + "/consumer/c:1700000000"} {
			_, err := ts.kc.ListTagsForResource(ctx, &kinesis.ListTagsForResourceInput{ResourceARN: aws.String(bad)})
			wantErr(t, err, "ResourceNotFoundException", "")
		}
		_, err = ts.kc.TagResource(ctx, &kinesis.TagResourceInput{ResourceARN: aws.String(streamARN("nope")), Tags: map[string]string{"a": "b"}})
		wantErr(t, err, "ResourceNotFoundException", notFoundMsg("nope"))
		_, err = ts.kc.UntagResource(ctx, &kinesis.UntagResourceInput{ResourceARN: aws.String(streamARN("nope")), TagKeys: []string{"a"}})
		wantErr(t, err, "ResourceNotFoundException", notFoundMsg("nope"))
	})
}

func TestSDKUpdateMaxRecordSize(t *testing.T) {
	ts := newServer(t)
	ctx := context.Background()
	ts.createStream(t, "big", 1)
	arn := aws.String(streamARN("big"))
	record := make([]byte, 1536<<10)
	for i := range record {
		record[i] = byte(i * 7)
	}
	put := func() error {
		_, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("big"), PartitionKey: aws.String("k"), Data: record})
		return err
	}
	wantErr(t, put(), "InvalidArgumentException", "")
	if _, err := ts.kc.UpdateMaxRecordSize(ctx, &kinesis.UpdateMaxRecordSizeInput{StreamARN: arn, MaxRecordSizeInKiB: aws.Int32(2048)}); err != nil {
		t.Fatal(err)
	}
	if s := ts.waitActive(t, "big"); *s.MaxRecordSizeInKiB != 2048 {
		t.Fatalf("MaxRecordSizeInKiB %d, want 2048", *s.MaxRecordSizeInKiB)
	}
	if err := put(); err != nil {
		t.Fatal(err)
	}
	got := ts.readAll(t, ts.iterator(t, &kinesis.GetShardIteratorInput{StreamName: aws.String("big"), ShardId: aws.String("shardId-0"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon}))
	if len(got) != 1 || !bytes.Equal(got[0].Data, record) {
		t.Fatalf("read %d records back", len(got))
	}

	_, err := ts.kc.UpdateMaxRecordSize(ctx, &kinesis.UpdateMaxRecordSizeInput{StreamARN: arn, MaxRecordSizeInKiB: aws.Int32(1023)})
	wantErr(t, err, "ValidationException",
		"1 validation error detected: Value '1023' at 'maxRecordSizeInKiB' failed to satisfy constraint: Member must have value greater than or equal to 1024")
	_, err = ts.kc.UpdateMaxRecordSize(ctx, &kinesis.UpdateMaxRecordSizeInput{StreamARN: arn, MaxRecordSizeInKiB: aws.Int32(10241)})
	wantErr(t, err, "ValidationException",
		"1 validation error detected: Value '10241' at 'maxRecordSizeInKiB' failed to satisfy constraint: Member must have value less than or equal to 10240")
	_, err = ts.kc.UpdateMaxRecordSize(ctx, &kinesis.UpdateMaxRecordSizeInput{MaxRecordSizeInKiB: aws.Int32(2048)})
	wantErr(t, err, "ValidationException", "1 validation error detected: Value null at 'streamARN' failed to satisfy constraint: Member must not be null")
	_, err = ts.kc.UpdateMaxRecordSize(ctx, &kinesis.UpdateMaxRecordSizeInput{StreamARN: aws.String(streamARN("nope")), MaxRecordSizeInKiB: aws.Int32(2048)})
	wantErr(t, err, "ResourceNotFoundException", notFoundMsg("nope"))
}

func TestSDKStreamARN(t *testing.T) {
	ts := newServer(t)
	ctx := context.Background()
	ts.createStream(t, "byarn", 2)
	arn := aws.String(streamARN("byarn"))

	t.Run("describe", func(t *testing.T) {
		d, err := ts.kc.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamARN: arn})
		if err != nil {
			t.Fatal(err)
		}
		if *d.StreamDescription.StreamName != "byarn" || len(d.StreamDescription.Shards) != 2 {
			t.Fatalf("DescribeStream by ARN: %s with %d shards", *d.StreamDescription.StreamName, len(d.StreamDescription.Shards))
		}
		s, err := ts.kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamARN: arn})
		if err != nil {
			t.Fatal(err)
		}
		if *s.StreamDescriptionSummary.StreamName != "byarn" {
			t.Fatalf("summary of %s", *s.StreamDescriptionSummary.StreamName)
		}
		ls, err := ts.kc.ListShards(ctx, &kinesis.ListShardsInput{StreamARN: arn})
		if err != nil {
			t.Fatal(err)
		}
		if len(ls.Shards) != 2 {
			t.Fatalf("ListShards by ARN: %d shards", len(ls.Shards))
		}
	})

	t.Run("data plane", func(t *testing.T) {
		pr, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamARN: arn, PartitionKey: aws.String("a"), ExplicitHashKey: aws.String("0"), Data: []byte("one")})
		if err != nil {
			t.Fatal(err)
		}
		prs, err := ts.kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamARN: arn, Records: []types.PutRecordsRequestEntry{
			{PartitionKey: aws.String("b"), ExplicitHashKey: aws.String("0"), Data: []byte("two")},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if *prs.FailedRecordCount != 0 {
			t.Fatalf("FailedRecordCount %d", *prs.FailedRecordCount)
		}
		it, err := ts.kc.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamARN: arn, ShardId: aws.String("shardId-0"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		out, err := ts.kc.GetRecords(ctx, &kinesis.GetRecordsInput{StreamARN: arn, ShardIterator: it.ShardIterator})
		if err != nil {
			t.Fatal(err)
		}
		if got := seqsOf(out.Records); !slices.Equal(got, []string{*pr.SequenceNumber, *prs.Records[0].SequenceNumber}) {
			t.Fatalf("read %v", got)
		}
	})

	t.Run("control plane", func(t *testing.T) {
		if _, err := ts.kc.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{StreamARN: arn, RetentionPeriodHours: aws.Int32(72)}); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.kc.DecreaseStreamRetentionPeriod(ctx, &kinesis.DecreaseStreamRetentionPeriodInput{StreamARN: arn, RetentionPeriodHours: aws.Int32(48)}); err != nil {
			t.Fatal(err)
		}
		if h := *ts.waitActive(t, "byarn").RetentionPeriodHours; h != 48 {
			t.Fatalf("retention %d", h)
		}
		if _, err := ts.kc.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamARN: arn, Tags: map[string]string{"a": "1", "b": "2"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.kc.RemoveTagsFromStream(ctx, &kinesis.RemoveTagsFromStreamInput{StreamARN: arn, TagKeys: []string{"a"}}); err != nil {
			t.Fatal(err)
		}
		out, err := ts.kc.ListTagsForStream(ctx, &kinesis.ListTagsForStreamInput{StreamARN: arn})
		if err != nil {
			t.Fatal(err)
		}
		if got := tagMap(out.Tags); len(got) != 1 || got["b"] != "2" {
			t.Fatalf("tags %v", got)
		}
	})

	t.Run("errors", func(t *testing.T) {
		_, err := ts.kc.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamARN: aws.String(streamARN("nope"))})
		wantErr(t, err, "ResourceNotFoundException", notFoundMsg("nope"))
		_, err = ts.kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamARN: arn, StreamName: aws.String("other")})
		wantErr(t, err, "InvalidArgumentException", "")
		// The same name with its own ARN is fine.
		if _, err := ts.kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamARN: arn, StreamName: aws.String("byarn")}); err != nil {
			t.Fatal(err)
		}
		_, err = ts.kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{})
		wantErr(t, err, "InvalidArgumentException", "")
	})

	t.Run("delete", func(t *testing.T) {
		if _, err := ts.kc.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamARN: arn}); err != nil {
			t.Fatal(err)
		}
		ts.waitGone(t, "byarn")
	})
}

func TestSDKRestartDurability(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	ts := startServer(t, dir, nil)
	ts.createStream(t, "durable", 2)
	if _, err := ts.kc.AddTagsToStream(ctx, &kinesis.AddTagsToStreamInput{StreamName: aws.String("durable"), Tags: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.kc.IncreaseStreamRetentionPeriod(ctx, &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: aws.String("durable"), RetentionPeriodHours: aws.Int32(100)}); err != nil {
		t.Fatal(err)
	}

	type rec struct{ shard, seq, key, data string }
	var want []rec
	for i := range 5 {
		key, data := fmt.Sprintf("single-%d", i), fmt.Sprintf("single data %d", i)
		out, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("durable"), PartitionKey: aws.String(key), Data: []byte(data)})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, rec{*out.ShardId, *out.SequenceNumber, key, data})
	}
	var entries []types.PutRecordsRequestEntry
	for i := range 50 {
		entries = append(entries, types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprintf("batch-%d", i)), Data: []byte(fmt.Sprintf("batch data %d", i))})
	}
	out, err := ts.kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("durable"), Records: entries})
	if err != nil || *out.FailedRecordCount != 0 {
		t.Fatalf("PutRecords: %v", err)
	}
	for i, r := range out.Records {
		want = append(want, rec{*r.ShardId, *r.SequenceNumber, *entries[i].PartitionKey, string(entries[i].Data)})
	}
	// An iterator from before the restart stays valid after it.
	oldIt := ts.iterator(t, &kinesis.GetShardIteratorInput{StreamName: aws.String("durable"), ShardId: aws.String("shardId-000000000001"), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
	ts.stop()

	ts = startServer(t, dir, nil)
	s := ts.waitActive(t, "durable")
	if *s.RetentionPeriodHours != 100 || *s.OpenShardCount != 2 {
		t.Fatalf("after restart: retention %d, %d shards", *s.RetentionPeriodHours, *s.OpenShardCount)
	}
	tags, err := ts.kc.ListTagsForStream(ctx, &kinesis.ListTagsForStreamInput{StreamName: aws.String("durable")})
	if err != nil || tagMap(tags.Tags)["k"] != "v" {
		t.Fatalf("tags after restart: %v %v", err, tags)
	}
	last := map[string]*big.Int{}
	for _, shard := range ids(0, 1) {
		var wantShard []rec
		for _, r := range want {
			if r.shard == shard {
				wantShard = append(wantShard, r)
			}
		}
		got := ts.readAll(t, ts.iterator(t, &kinesis.GetShardIteratorInput{StreamName: aws.String("durable"), ShardId: aws.String(shard), ShardIteratorType: types.ShardIteratorTypeTrimHorizon}))
		if len(got) != len(wantShard) {
			t.Fatalf("%s: read %d records after restart, want %d", shard, len(got), len(wantShard))
		}
		for i, r := range got {
			w := wantShard[i]
			if *r.SequenceNumber != w.seq || *r.PartitionKey != w.key || string(r.Data) != w.data {
				t.Fatalf("%s record %d: %s %s %q, want %s %s %q", shard, i, *r.SequenceNumber, *r.PartitionKey, r.Data, w.seq, w.key, w.data)
			}
		}
		if len(got) > 0 {
			last[shard], _ = new(big.Int).SetString(*got[len(got)-1].SequenceNumber, 10)
		}
		if shard == "shardId-000000000001" {
			if old := ts.readAll(t, oldIt); !slices.Equal(seqsOf(old), seqsOf(got)) {
				t.Fatalf("pre-restart iterator read %d records, want %d", len(old), len(got))
			}
		}
	}
	// New records continue the per-shard order.
	for i := range 10 {
		out, err := ts.kc.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("durable"), PartitionKey: aws.String(fmt.Sprintf("after-%d", i)), Data: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
		n := checkSeq(t, *out.SequenceNumber, shardIndex(t, *out.ShardId))
		if p := last[*out.ShardId]; p != nil && n.Cmp(p) <= 0 {
			t.Fatalf("%s: %s after restart is not above %s", *out.ShardId, n, p)
		}
		last[*out.ShardId] = n
	}
}

// TestValidationMessages sends hand-written bodies the SDK would not, and
// checks the Coral-style texts. Lists are compared in any order.
func TestValidationMessages(t *testing.T) {
	ts := newServer(t)
	long := strings.Repeat("a", 129)
	streamRegex := "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
	minLen1 := "Member must have length greater than or equal to 1"
	at := func(value, member, constraint string) string {
		if value != "null" {
			value = "'" + value + "'"
		}
		return "Value " + value + " at '" + member + "' failed to satisfy constraint: " + constraint
	}
	entry := "com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@c965e310"
	many := make([]string, 501)
	manyStr := make([]string, 501)
	for i := range many {
		many[i] = `{"PartitionKey":"","Data":""}`
		manyStr[i] = entry
	}

	tests := []struct {
		name, op, body string
		want           []string
	}{
		// StreamName is the only required member of CreateStream today
		// (ShardCount became optional with ON_DEMAND; kinesalite recorded
		// two errors when it was required).
		{"create empty", "CreateStream", `{}`, []string{at("null", "streamName", "Member must not be null")}},
		{"create empty name zero shards", "CreateStream", `{"StreamName":"","ShardCount":0}`, []string{
			at("0", "shardCount", "Member must have value greater than or equal to 1"),
			at("", "streamName", streamRegex),
			at("", "streamName", minLen1),
		}},
		{"create bad chars", "CreateStream", `{"StreamName":"a;b","ShardCount":1}`, []string{at("a;b", "streamName", streamRegex)}},
		{"create long name", "CreateStream", `{"StreamName":"` + long + `","ShardCount":1}`, []string{
			at(long, "streamName", "Member must have length less than or equal to 128"),
		}},
		{"create too many shards", "CreateStream", `{"StreamName":"x","ShardCount":100001}`, []string{
			at("100001", "shardCount", "Member must have value less than or equal to 100000"),
		}},
		{"create bad mode", "CreateStream", `{"StreamName":"x","StreamModeDetails":{"StreamMode":"FAST"}}`, []string{
			at("FAST", "streamModeDetails.streamMode", "Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]"),
		}},
		{"describe empty", "DescribeStream", `{"StreamName":"","Limit":0,"ExclusiveStartShardId":""}`, []string{
			at("0", "limit", "Member must have value greater than or equal to 1"),
			at("", "exclusiveStartShardId", streamRegex),
			at("", "exclusiveStartShardId", minLen1),
			at("", "streamName", streamRegex),
			at("", "streamName", minLen1),
		}},
		{"describe long", "DescribeStream", `{"StreamName":"` + long + `","Limit":100000,"ExclusiveStartShardId":"` + long + `"}`, []string{
			at("100000", "limit", "Member must have value less than or equal to 10000"),
			at(long, "exclusiveStartShardId", "Member must have length less than or equal to 128"),
			at(long, "streamName", "Member must have length less than or equal to 128"),
		}},
		{"summary empty name", "DescribeStreamSummary", `{"StreamName":""}`, []string{at("", "streamName", streamRegex), at("", "streamName", minLen1)}},
		{"delete long name", "DeleteStream", `{"StreamName":"` + long + `"}`, []string{at(long, "streamName", "Member must have length less than or equal to 128")}},
		{"list streams low", "ListStreams", `{"ExclusiveStartStreamName":"","Limit":0}`, []string{
			at("0", "limit", "Member must have value greater than or equal to 1"),
			at("", "exclusiveStartStreamName", streamRegex),
			at("", "exclusiveStartStreamName", minLen1),
		}},
		{"list streams high", "ListStreams", `{"ExclusiveStartStreamName":"` + long + `","Limit":1000000}`, []string{
			at("1000000", "limit", "Member must have value less than or equal to 10000"),
			at(long, "exclusiveStartStreamName", "Member must have length less than or equal to 128"),
		}},
		{"list shards empty", "ListShards", `{"StreamName":"","NextToken":"","MaxResults":0,"ExclusiveStartShardId":""}`, []string{
			at("0", "maxResults", "Member must have value greater than or equal to 1"),
			at("", "exclusiveStartShardId", streamRegex),
			at("", "exclusiveStartShardId", minLen1),
			at("", "streamName", streamRegex),
			at("", "streamName", minLen1),
			at("", "nextToken", minLen1),
		}},
		{"list shards long", "ListShards", `{"StreamName":"` + long + `","MaxResults":100000,"ExclusiveStartShardId":"` + long + `"}`, []string{
			at("100000", "maxResults", "Member must have value less than or equal to 10000"),
			at(long, "exclusiveStartShardId", "Member must have length less than or equal to 128"),
			at(long, "streamName", "Member must have length less than or equal to 128"),
		}},
		{"list shards bad filter", "ListShards", `{"StreamName":"x","ShardFilter":{"Type":"SIDEWAYS"}}`, []string{
			at("SIDEWAYS", "shardFilter.type", "Member must satisfy enum value set: [AFTER_SHARD_ID, AT_TRIM_HORIZON, FROM_TRIM_HORIZON, AT_LATEST, AT_TIMESTAMP, FROM_TIMESTAMP]"),
		}},
		// StreamName is optional today (StreamARN); kinesalite also listed it.
		{"iterator empty", "GetShardIterator", `{}`, []string{
			at("null", "shardId", "Member must not be null"),
			at("null", "shardIteratorType", "Member must not be null"),
		}},
		{"iterator empty strings", "GetShardIterator", `{"StreamName":"","ShardIteratorType":"","ShardId":"","StartingSequenceNumber":""}`, []string{
			at("", "shardId", streamRegex),
			at("", "shardId", minLen1),
			at("", "shardIteratorType", "Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]"),
			at("", "startingSequenceNumber", `Member must satisfy regular expression pattern: 0|([1-9]\d{0,128})`),
			at("", "streamName", streamRegex),
			at("", "streamName", minLen1),
		}},
		{"iterator long", "GetShardIterator", `{"StreamName":"` + long + `","ShardId":"` + long + `","ShardIteratorType":"LATEST"}`, []string{
			at(long, "shardId", "Member must have length less than or equal to 128"),
			at(long, "streamName", "Member must have length less than or equal to 128"),
		}},
		{"records empty", "GetRecords", `{}`, []string{at("null", "shardIterator", "Member must not be null")}},
		{"records empty iterator", "GetRecords", `{"ShardIterator":"","Limit":0}`, []string{
			at("0", "limit", "Member must have value greater than or equal to 1"),
			at("", "shardIterator", minLen1),
		}},
		{"records long iterator", "GetRecords", `{"ShardIterator":"` + strings.Repeat("a", 513) + `","Limit":100000}`, []string{
			at("100000", "limit", "Member must have value less than or equal to 10000"),
			at(strings.Repeat("a", 513), "shardIterator", "Member must have length less than or equal to 512"),
		}},
		{"put empty", "PutRecord", `{}`, []string{
			at("null", "partitionKey", "Member must not be null"),
			at("null", "data", "Member must not be null"),
		}},
		{"put empty strings", "PutRecord", `{"StreamName":"","PartitionKey":"","Data":"","ExplicitHashKey":"","SequenceNumberForOrdering":""}`, []string{
			at("", "sequenceNumberForOrdering", `Member must satisfy regular expression pattern: 0|([1-9]\d{0,128})`),
			at("", "partitionKey", minLen1),
			at("", "explicitHashKey", `Member must satisfy regular expression pattern: 0|([1-9]\d{0,38})`),
			at("", "streamName", streamRegex),
			at("", "streamName", minLen1),
		}},
		{"put long key", "PutRecord", `{"StreamName":"x","PartitionKey":"` + strings.Repeat("a", 257) + `","Data":""}`, []string{
			at(strings.Repeat("a", 257), "partitionKey", "Member must have length less than or equal to 256"),
		}},
		{"put records no records", "PutRecords", `{"StreamName":"","Records":[]}`, []string{
			at("[]", "records", minLen1),
			at("", "streamName", streamRegex),
			at("", "streamName", minLen1),
		}},
		{"put records empty entry", "PutRecords", `{"StreamName":"","Records":[{"PartitionKey":"","Data":"","ExplicitHashKey":""}]}`, []string{
			at("", "records.1.member.partitionKey", minLen1),
			at("", "records.1.member.explicitHashKey", `Member must satisfy regular expression pattern: 0|([1-9]\d{0,38})`),
			at("", "streamName", streamRegex),
			at("", "streamName", minLen1),
		}},
		{"put records missing members", "PutRecords", `{"StreamName":"x","Records":[{"Data":"AAAA"},{"PartitionKey":"a"}]}`, []string{
			at("null", "records.1.member.partitionKey", "Member must not be null"),
			at("null", "records.2.member.data", "Member must not be null"),
		}},
		{"put records too many", "PutRecords", `{"StreamName":"","Records":[` + strings.Join(many, ",") + `]}`, append([]string{
			at("["+strings.Join(manyStr, ", ")+"]", "records", "Member must have length less than or equal to 500"),
		}, func() []string {
			var out []string
			for i := 1; i <= 9; i++ {
				out = append(out, at("", fmt.Sprintf("records.%d.member.partitionKey", i), minLen1))
			}
			return out
		}()...)},
		{"increase empty", "IncreaseStreamRetentionPeriod", `{}`, []string{at("null", "retentionPeriodHours", "Member must not be null")}},
		{"increase negative", "IncreaseStreamRetentionPeriod", `{"StreamName":"","RetentionPeriodHours":-1}`, []string{
			at("-1", "retentionPeriodHours", "Member must have value greater than or equal to 1"),
			at("", "streamName", streamRegex),
			at("", "streamName", minLen1),
		}},
		{"decrease empty", "DecreaseStreamRetentionPeriod", `{}`, []string{at("null", "retentionPeriodHours", "Member must not be null")}},
		{"add tags empty", "AddTagsToStream", `{"StreamName":"","Tags":{}}`, []string{
			at("{}", "tags", minLen1),
			at("", "streamName", streamRegex),
			at("", "streamName", minLen1),
		}},
		{"add tags missing", "AddTagsToStream", `{}`, []string{at("null", "tags", "Member must not be null")}},
		{"remove tags empty", "RemoveTagsFromStream", `{"StreamName":"","TagKeys":[]}`, []string{
			at("[]", "tagKeys", minLen1),
			at("", "streamName", streamRegex),
			at("", "streamName", minLen1),
		}},
		{"remove tags long key", "RemoveTagsFromStream", `{"StreamName":"x","TagKeys":["a","` + long + `","b"]}`, []string{
			at("[a, "+long+", b]", "tagKeys", "Member must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]"),
		}},
		{"list tags empty", "ListTagsForStream", `{"StreamName":"","ExclusiveStartTagKey":"","Limit":0}`, []string{
			at("0", "limit", "Member must have value greater than or equal to 1"),
			at("", "exclusiveStartTagKey", minLen1),
			at("", "streamName", streamRegex),
			at("", "streamName", minLen1),
		}},
		{"tag resource missing", "TagResource", `{}`, []string{
			at("null", "resourceARN", "Member must not be null"),
			at("null", "tags", "Member must not be null"),
		}},
		{"max record size missing", "UpdateMaxRecordSize", `{}`, []string{at("null", "maxRecordSizeInKiB", "Member must not be null")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantValidation(t, ts.raw(t, tt.op, tt.body), tt.want...)
		})
	}

	t.Run("long tag key", func(t *testing.T) {
		r := ts.raw(t, "AddTagsToStream", `{"StreamName":"x","Tags":{"a":"1","b":"2","`+long+`":"3"}}`)
		if r.typ != "ValidationException" || !regexp.MustCompile(`^1 validation error detected: Value '\{[ab12, =]*`+long+`=3[ab12, =]*\}' at 'tags' failed to satisfy constraint: `+
			`Map keys must satisfy constraint: \[Member must have length less than or equal to 128, Member must have length greater than or equal to 1\]$`).MatchString(r.message) {
			t.Fatalf("%s: %s", r.typ, r.message)
		}
	})

	serialization := []struct {
		name, op, body, msg string
	}{
		{"string for integer", "CreateStream", `{"StreamName":"x","ShardCount":"1"}`, "class java.lang.String can not be converted to an Integer"},
		{"boolean for string", "CreateStream", `{"StreamName":true,"ShardCount":1}`, "class java.lang.Boolean can not be converted to an String"},
		{"number for string", "DescribeStream", `{"StreamName":12}`, "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String"},
		{"list for structure", "PutRecords", `{"StreamName":"x","Records":[[]]}`, "Start of list found where not expected"},
		{"string for list", "PutRecords", `{"StreamName":"x","Records":"a"}`, "Expected list or null"},
		{"string for map", "AddTagsToStream", `{"StreamName":"x","Tags":"a"}`, "Expected map or null"},
		{"bad base64 length", "PutRecord", `{"StreamName":"x","PartitionKey":"a","Data":"abc"}`, "'abc' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 3"},
		{"bad base64 char", "PutRecord", `{"StreamName":"x","PartitionKey":"a","Data":"ab;d"}`, "'ab;d' can not be converted to a Blob: Invalid Base64 character: ';'"},
		{"string for timestamp", "GetShardIterator", `{"StreamName":"x","ShardId":"0","ShardIteratorType":"AT_TIMESTAMP","Timestamp":"now"}`, "class java.lang.String can not be converted to milliseconds since epoch"},
	}
	for _, tt := range serialization {
		t.Run("serialization "+tt.name, func(t *testing.T) {
			r := ts.raw(t, tt.op, tt.body)
			if r.status != 400 || r.typ != "SerializationException" || r.message != tt.msg {
				t.Fatalf("got %d %s %q, want SerializationException %q", r.status, r.typ, r.message, tt.msg)
			}
			if _, ok := r.body["Message"]; !ok {
				t.Fatalf("SerializationException body %v lacks the capitalised Message key", r.body)
			}
		})
	}

	t.Run("invalid argument after validation", func(t *testing.T) {
		r := ts.raw(t, "ListShards", `{}`)
		if r.typ != "InvalidArgumentException" || r.message != "Either NextToken or StreamName should be provided." {
			t.Fatalf("got %s %q", r.typ, r.message)
		}
	})

	t.Run("unknown operation", func(t *testing.T) {
		r := ts.raw(t, "Frobnicate", `{}`)
		if r.status != 400 || r.typ != "UnknownOperationException" {
			t.Fatalf("got %d %s", r.status, r.typ)
		}
	})

	t.Run("missing authentication", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, ts.url+"/", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "Kinesis_20131202.ListStreams")
		r := doRaw(t, req)
		if r.status != 400 || r.typ != "MissingAuthenticationTokenException" || r.message != "Missing Authentication Token" {
			t.Fatalf("got %d %s %q", r.status, r.typ, r.message)
		}
	})
}
