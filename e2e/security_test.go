package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/rheos/rheos/internal/awsmodel/kinesismodel"
)

// Issue 20: accounts are isolated, every operation authorizes what it acts
// on, ARNs are canonical, tokens are sealed. These tests run the real binary
// with --auth verify, principals in three accounts and hand-signed requests
// (the Go SDK's own signer over bodies written here, so that forged ARNs
// and tokens reach the server as an attacker would send them).

const (
	acctA    = "111111111111" // the owner of the streams
	acctB    = "222222222222" // another account
	acctRoot = "000000000000" // the root credential's account
)

// principals of the security tests: admin and alice in account A (alice is
// denied s2* and s5*), bob in account B with kinesis:* on "*" (which must
// not reach account A by itself), carol in account 333 without any policy.
const securityConfig = `{"auth": {"principals": [
 {"name": "admin", "accessKeyId": "AKIDADMIN", "secretAccessKey": "admin-secret", "account": "111111111111",
  "policies": [{"Statement": [{"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"}]}]},
 {"name": "alice", "accessKeyId": "AKIDALICE", "secretAccessKey": "alice-secret", "account": "111111111111",
  "policies": [{"Statement": [{"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"},
                              {"Effect": "Deny", "Action": "kinesis:*", "Resource": ["arn:aws:kinesis:*:*:stream/s2", "arn:aws:kinesis:*:*:stream/s2/*",
                                                                                      "arn:aws:kinesis:*:*:stream/s5", "arn:aws:kinesis:*:*:stream/s5/*"]}]}]},
 {"name": "bob", "accessKeyId": "AKIDBOB", "secretAccessKey": "bob-secret", "account": "222222222222",
  "policies": [{"Statement": [{"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"}]}]},
 {"name": "carol", "accessKeyId": "AKIDCAROL", "secretAccessKey": "carol-secret", "account": "333333333333"}
]}}`

var secrets = map[string]string{"AKIDADMIN": "admin-secret", "AKIDALICE": "alice-secret", "AKIDBOB": "bob-secret",
	"AKIDCAROL": "carol-secret", "AKIDROOT": "root-secret"}

// securedServer starts the binary with --auth verify and the principals.
func securedServer(t *testing.T) *proc {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "rheos.json")
	if err := os.WriteFile(cfg, []byte(securityConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return startServerWith(t, filepath.Join(dir, "data"), freePort(t),
		[]string{"RHEOS_ROOT_ACCESS_KEY_ID=AKIDROOT", "RHEOS_ROOT_SECRET_ACCESS_KEY=root-secret"},
		"--auth", "verify", "--config", cfg)
}

// answer is a Kinesis response.
type answer struct {
	status int
	typ    string // the exception's short name, "" on success
	body   map[string]any
	raw    string
}

func (a answer) denied() bool { return a.typ == "AccessDeniedException" }

// signedCall sends one hand-signed Kinesis JSON request as akid, scoped to
// region.
func signedCall(t *testing.T, p *proc, akid, region, op string, body any) answer {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", "http://"+p.addr+"/", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
	sum := sha256.Sum256(b)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: akid, SecretAccessKey: secrets[akid]},
		req, hex.EncodeToString(sum[:]), "kinesis", region, time.Now()); err != nil {
		t.Fatal(err)
	}
	return doSigned(t, req)
}

func doSigned(t *testing.T, req *http.Request) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s: %v", req.Header.Get("X-Amz-Target"), err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/vnd.amazon.eventstream") {
		return a // SubscribeToShard started: enough
	}
	raw, _ := io.ReadAll(resp.Body)
	a.raw = string(raw)
	json.Unmarshal(raw, &a.body)
	if resp.StatusCode >= 300 {
		typ, _ := a.body["__type"].(string)
		if i := strings.LastIndexByte(typ, '#'); i >= 0 {
			typ = typ[i+1:]
		}
		a.typ = typ
		if a.typ == "" {
			a.typ = resp.Header.Get("X-Amzn-ErrorType")
		}
	}
	return a
}

// world is the state the table runs against: streams s1..s6 in account A,
// each with one consumer, s4's stream and consumer shared with account B
// by resource policies.
type world struct {
	p         *proc
	consumers map[string]string // stream → consumer ARN
}

func sARN(acct, name string) string { return "arn:aws:kinesis:us-east-1:" + acct + ":stream/" + name }

func setUpWorld(t *testing.T, p *proc) *world {
	t.Helper()
	w := &world{p: p, consumers: map[string]string{}}
	admin := func(op string, body any) answer {
		t.Helper()
		a := signedCall(t, p, "AKIDADMIN", "us-east-1", op, body)
		if a.status != 200 {
			t.Fatalf("admin %s: %d %s", op, a.status, a.raw)
		}
		return a
	}
	for _, s := range []string{"s1", "s2", "s3", "s4", "s5", "s6"} {
		admin("CreateStream", map[string]any{"StreamName": s, "ShardCount": 2})
	}
	for _, s := range []string{"s1", "s2", "s3", "s4", "s5", "s6"} {
		waitFor(t, func() bool {
			a := signedCall(t, p, "AKIDADMIN", "us-east-1", "DescribeStreamSummary", map[string]any{"StreamName": s})
			st, _ := a.body["StreamDescriptionSummary"].(map[string]any)
			return st != nil && st["StreamStatus"] == "ACTIVE"
		})
		a := admin("RegisterStreamConsumer", map[string]any{"StreamARN": sARN(acctA, s), "ConsumerName": "c"})
		w.consumers[s] = a.body["Consumer"].(map[string]any)["ConsumerARN"].(string)
		admin("PutRecord", map[string]any{"StreamName": s, "PartitionKey": "k", "Data": base64.StdEncoding.EncodeToString([]byte("secret of " + s))})
	}
	for _, s := range []string{"s1", "s2", "s3", "s4", "s5", "s6"} {
		waitFor(t, func() bool {
			a := signedCall(t, p, "AKIDADMIN", "us-east-1", "DescribeStreamConsumer", map[string]any{"ConsumerARN": w.consumers[s]})
			c, _ := a.body["ConsumerDescription"].(map[string]any)
			return c != nil && c["ConsumerStatus"] == "ACTIVE"
		})
	}
	share := `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"` + acctB + `"},"Action":"kinesis:*","Resource":"*"}]}`
	admin("PutResourcePolicy", map[string]any{"ResourceARN": sARN(acctA, "s4"), "Policy": share})
	admin("PutResourcePolicy", map[string]any{"ResourceARN": w.consumers["s4"], "Policy": share})
	return w
}

// waitFor polls cond for up to 30 s (CI runs the suite on two loaded cores).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 1500; i++ {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("condition never held")
}

// iterator returns a TRIM_HORIZON iterator of a stream's first shard, as
// admin.
func (w *world) iterator(t *testing.T, stream string) string {
	t.Helper()
	a := signedCall(t, w.p, "AKIDADMIN", "us-east-1", "GetShardIterator", map[string]any{"StreamARN": sARN(acctA, stream),
		"ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON"})
	it, _ := a.body["ShardIterator"].(string)
	if it == "" {
		t.Fatalf("no iterator for %s: %s", stream, a.raw)
	}
	return it
}

// opCase is one operation of the table: how to name a stream (by ARN, so
// that another account's stream can be named) and whether AWS lets another
// account be granted it by a resource policy.
type opCase struct {
	op     string
	shared bool
	// input names the stream by ARN (consumer ops name its consumer).
	input func(w *world, t *testing.T, streamARN, consumerARN string) map[string]any
	// accountOnly: the operation names no resource of another account
	// (names or nothing), so the cross-account columns do not apply.
	accountOnly bool
}

// naming returns an input naming the stream (member StreamARN or
// ResourceARN) or the consumer (ConsumerARN), plus extra members.
func naming(member string, extra map[string]any) func(*world, *testing.T, string, string) map[string]any {
	return func(_ *world, _ *testing.T, stream, consumer string) map[string]any {
		m := map[string]any{member: stream}
		if member == "ConsumerARN" {
			m[member] = consumer
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
}

func byStream(extra map[string]any) func(*world, *testing.T, string, string) map[string]any {
	return naming("StreamARN", extra)
}

func byResource(extra map[string]any) func(*world, *testing.T, string, string) map[string]any {
	return naming("ResourceARN", extra)
}

func byConsumer(extra map[string]any) func(*world, *testing.T, string, string) map[string]any {
	return naming("ConsumerARN", extra)
}

// opTable is every Kinesis operation. Destructive ones come last, so that
// earlier rows still find their stream.
func opTable() []opCase {
	return []opCase{
		{op: "DescribeStream", shared: true, input: byStream(nil)},
		{op: "DescribeStreamSummary", shared: true, input: byStream(nil)},
		{op: "ListShards", shared: true, input: byStream(nil)},
		{op: "GetShardIterator", shared: true, input: byStream(map[string]any{"ShardId": "shardId-000000000000", "ShardIteratorType": "LATEST"})},
		{op: "GetRecords", shared: true, input: func(w *world, t *testing.T, s, _ string) map[string]any {
			return map[string]any{"ShardIterator": w.iterator(t, s[strings.LastIndex(s, "/")+1:]), "StreamARN": s}
		}},
		{op: "PutRecord", shared: true, input: byStream(map[string]any{"PartitionKey": "k", "Data": "eA=="})},
		{op: "PutRecords", shared: true, input: byStream(map[string]any{"Records": []any{map[string]any{"PartitionKey": "k", "Data": "eA=="}}})},
		{op: "ListStreamConsumers", shared: true, input: byStream(nil)},
		{op: "DescribeStreamConsumer", shared: true, input: byConsumer(nil)},
		{op: "SubscribeToShard", shared: true, input: byConsumer(map[string]any{"ShardId": "shardId-000000000000", "StartingPosition": map[string]any{"Type": "LATEST"}})},
		{op: "ListTagsForStream", input: byStream(nil)},
		{op: "ListTagsForResource", input: byResource(nil)},
		{op: "AddTagsToStream", input: byStream(map[string]any{"Tags": map[string]any{"k": "v"}})},
		{op: "TagResource", input: byResource(map[string]any{"Tags": map[string]any{"k2": "v"}})},
		{op: "RemoveTagsFromStream", input: byStream(map[string]any{"TagKeys": []any{"k"}})},
		{op: "UntagResource", input: byResource(map[string]any{"TagKeys": []any{"k2"}})},
		{op: "GetResourcePolicy", input: byResource(nil)},
		{op: "IncreaseStreamRetentionPeriod", input: byStream(map[string]any{"RetentionPeriodHours": 48})},
		{op: "DecreaseStreamRetentionPeriod", input: byStream(map[string]any{"RetentionPeriodHours": 24})},
		{op: "EnableEnhancedMonitoring", input: byStream(map[string]any{"ShardLevelMetrics": []any{"IncomingBytes"}})},
		{op: "DisableEnhancedMonitoring", input: byStream(map[string]any{"ShardLevelMetrics": []any{"IncomingBytes"}})},
		{op: "UpdateMaxRecordSize", input: byStream(map[string]any{"MaxRecordSizeInKiB": 2048})},
		{op: "UpdateStreamWarmThroughput", input: byStream(map[string]any{"WarmThroughputMiBps": 0})},
		{op: "StartStreamEncryption", input: byStream(map[string]any{"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"})},
		{op: "StopStreamEncryption", input: byStream(map[string]any{"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"})},
		{op: "PutResourcePolicy", input: byResource(map[string]any{"Policy": `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kinesis:*","Resource":"*"}]}`})},
		{op: "DeleteResourcePolicy", input: byResource(nil)},
		{op: "RegisterStreamConsumer", shared: true, input: byStream(map[string]any{"ConsumerName": "extra"})},
		{op: "SplitShard", input: byStream(map[string]any{"ShardToSplit": "shardId-000000000000", "NewStartingHashKey": "1000"})},
		{op: "MergeShards", input: byStream(map[string]any{"ShardToMerge": "shardId-000000000000", "AdjacentShardToMerge": "shardId-000000000001"})},
		{op: "UpdateShardCount", input: byStream(map[string]any{"TargetShardCount": 4, "ScalingType": "UNIFORM_SCALING"})},
		{op: "UpdateStreamMode", input: byStream(map[string]any{"StreamModeDetails": map[string]any{"StreamMode": "ON_DEMAND"}})},
		{op: "DeregisterStreamConsumer", shared: true, input: byConsumer(nil)},
		{op: "DeleteStream", input: byStream(map[string]any{"EnforceConsumerDeletion": true})},
		// Operations on the caller's own account: nothing of another
		// account can be named.
		{op: "ListStreams", accountOnly: true, input: func(*world, *testing.T, string, string) map[string]any { return map[string]any{} }},
		{op: "CreateStream", accountOnly: true, input: func(*world, *testing.T, string, string) map[string]any {
			return map[string]any{"StreamName": "fresh", "ShardCount": 1}
		}},
		{op: "DescribeLimits", accountOnly: true, input: func(*world, *testing.T, string, string) map[string]any { return map[string]any{} }},
		{op: "DescribeAccountSettings", accountOnly: true, input: func(*world, *testing.T, string, string) map[string]any { return map[string]any{} }},
		{op: "UpdateAccountSettings", accountOnly: true, input: func(*world, *testing.T, string, string) map[string]any {
			return map[string]any{"MinimumThroughputBillingCommitment": map[string]any{"Status": "DISABLED"}}
		}},
		{op: "UpdateStreamRecordDistributionStrategy", input: byStream(map[string]any{"RecordDistributionStrategy": "USER_PARTITION_KEY"})},
	}
}

// TestAuthorizationTable runs every operation × {same account allowed, same
// account denied, other account without resource policy, other account
// with resource policy, foreign partition, forged token}.
func TestAuthorizationTable(t *testing.T) {
	p := securedServer(t)
	w := setUpWorld(t, p)
	ops := opTable()
	seen := map[string]bool{}
	for _, oc := range ops {
		seen[oc.op] = true
	}
	// The table is complete: every operation Rheos serves for Kinesis
	// (the channel operations answer "not supported" to everyone).
	for _, op := range kinesisOperations(t) {
		if !seen[op] && !strings.HasSuffix(op, "Channel") && !strings.HasSuffix(op, "Channels") {
			t.Errorf("operation %s is missing from the authorization table", op)
		}
	}
	for _, oc := range ops {
		t.Run(oc.op, func(t *testing.T) {
			if oc.accountOnly {
				// Same account: alice may; carol (no policy) may not.
				if a := signedCall(t, p, "AKIDALICE", "us-east-1", oc.op, oc.input(w, t, "", "")); a.denied() {
					t.Errorf("same account, allowed: %s", a.raw)
				}
				if a := signedCall(t, p, "AKIDCAROL", "us-east-1", oc.op, oc.input(w, t, "", "")); !a.denied() {
					t.Errorf("no policy: got %d %s", a.status, a.raw)
				}
				return
			}
			// 1. Same account, allowed (alice on s1).
			if a := signedCall(t, p, "AKIDALICE", "us-east-1", oc.op, oc.input(w, t, sARN(acctA, "s1"), w.consumers["s1"])); a.denied() {
				t.Errorf("same account, allowed: %s", a.raw)
			}
			// 2. Same account, denied (alice on s2).
			if a := signedCall(t, p, "AKIDALICE", "us-east-1", oc.op, oc.input(w, t, sARN(acctA, "s2"), w.consumers["s2"])); !a.denied() {
				t.Errorf("same account, denied: got %d %s", a.status, a.raw)
			}
			// 3. Another account without a resource policy (bob, kinesis:*
			// on "*", on s3).
			if a := signedCall(t, p, "AKIDBOB", "us-east-1", oc.op, oc.input(w, t, sARN(acctA, "s3"), w.consumers["s3"])); !a.denied() {
				t.Errorf("other account, no resource policy: got %d %s", a.status, a.raw)
			}
			// 4. Another account with a resource policy sharing s4 (and its
			// consumer): only what AWS lets an account share.
			a := signedCall(t, p, "AKIDBOB", "us-east-1", oc.op, oc.input(w, t, sARN(acctA, "s4"), w.consumers["s4"]))
			if oc.shared && a.denied() {
				t.Errorf("other account, shared by resource policy: %s", a.raw)
			}
			if !oc.shared && !a.denied() {
				t.Errorf("other account, resource policy, unshareable action: got %d %s", a.status, a.raw)
			}
			// 4b. Carol, in a third account, has no identity policy: the
			// resource policy alone does not let her in.
			if a := signedCall(t, p, "AKIDCAROL", "us-east-1", oc.op, oc.input(w, t, sARN(acctA, "s4"), w.consumers["s4"])); !a.denied() {
				t.Errorf("third account without identity policy: got %d %s", a.status, a.raw)
			}
			// 5. A foreign partition naming s5, which alice is denied:
			// refused, never served.
			in := oc.input(w, t, strings.Replace(sARN(acctA, "s5"), "arn:aws:", "arn:aws-cn:", 1),
				strings.Replace(w.consumers["s5"], "arn:aws:", "arn:aws-cn:", 1))
			if a := signedCall(t, p, "AKIDALICE", "us-east-1", oc.op, in); a.status == 200 {
				t.Errorf("foreign partition served: %s", a.raw)
			}
			// 6. Forged tokens and mismatched iterators (where the operation
			// takes one).
			switch oc.op {
			case "ListShards":
				forged := base64.StdEncoding.EncodeToString([]byte(`{"a":"","s":"s2","c":"111111111111","r":"us-east-1","i":` + nowMs() + `}`))
				a := signedCall(t, p, "AKIDALICE", "us-east-1", "ListShards", map[string]any{"NextToken": forged})
				if a.status == 200 {
					t.Errorf("forged ListShards token served: %s", a.raw)
				}
				a = signedCall(t, p, "AKIDBOB", "us-east-1", "ListShards", map[string]any{"NextToken": forged})
				if a.status == 200 {
					t.Errorf("forged ListShards token served to another account: %s", a.raw)
				}
			case "GetRecords":
				// s2's iterator with s1's ARN (alice may read s1, not s2).
				a := signedCall(t, p, "AKIDALICE", "us-east-1", "GetRecords", map[string]any{"ShardIterator": w.iterator(t, "s2"), "StreamARN": sARN(acctA, "s1")})
				if a.status == 200 {
					t.Errorf("iterator of a denied stream read under another StreamARN: %s", a.raw)
				}
				a = signedCall(t, p, "AKIDALICE", "us-east-1", "GetRecords", map[string]any{"ShardIterator": w.iterator(t, "s2")})
				if !a.denied() {
					t.Errorf("iterator of a denied stream: got %d %s", a.status, a.raw)
				}
			case "ListStreamConsumers":
				forged := base64.StdEncoding.EncodeToString([]byte(`{"a":"","s":"s3","i":` + nowMs() + `}`))
				if a := signedCall(t, p, "AKIDALICE", "us-east-1", "ListStreamConsumers", map[string]any{"StreamARN": sARN(acctA, "s1"), "NextToken": forged}); a.status == 200 {
					t.Errorf("forged consumers token served: %s", a.raw)
				}
			}
		})
	}
	// The forged ListStreams token.
	forged := base64.StdEncoding.EncodeToString([]byte(`{"a":"","i":` + nowMs() + `}`))
	if a := signedCall(t, p, "AKIDBOB", "us-east-1", "ListStreams", map[string]any{"NextToken": forged}); a.status == 200 {
		t.Errorf("forged ListStreams token served: %s", a.raw)
	}
}

func nowMs() string { b, _ := json.Marshal(time.Now().UnixMilli()); return string(b) }

// kinesisOperations lists the operations of the Kinesis API model.
func kinesisOperations(t *testing.T) []string {
	t.Helper()
	var ops []string
	for name := range kinesismodel.Model.Operations {
		ops = append(ops, name)
	}
	return ops
}
