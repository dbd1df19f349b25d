package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// TestIsolationOfAccounts is issue 20's point 1 as the attacker tried it:
// bob (account B, kinesis:* on "*") against streams of account A and of the
// root's account; carol (account 333, no policy) against a stream whose
// resource policy says Principal "*".
func TestIsolationOfAccounts(t *testing.T) {
	p := securedServer(t)
	root := func(op string, body any) answer { return signedCall(t, p, "AKIDROOT", "us-east-1", op, body) }
	if a := root("CreateStream", map[string]any{"StreamName": "rootstream", "ShardCount": 1}); a.status != 200 {
		t.Fatal(a.raw)
	}
	if a := signedCall(t, p, "AKIDADMIN", "us-east-1", "CreateStream", map[string]any{"StreamName": "open", "ShardCount": 1}); a.status != 200 {
		t.Fatal(a.raw)
	}
	waitFor(t, func() bool {
		a := root("DescribeStreamSummary", map[string]any{"StreamName": "rootstream"})
		b := signedCall(t, p, "AKIDADMIN", "us-east-1", "DescribeStreamSummary", map[string]any{"StreamName": "open"})
		return strings.Contains(a.raw, `"ACTIVE"`) && strings.Contains(b.raw, `"ACTIVE"`)
	})
	for _, target := range []string{sARN(acctRoot, "rootstream"), sARN(acctA, "open")} {
		for _, op := range []string{"DescribeStreamSummary", "ListTagsForStream", "DeleteStream"} {
			if a := signedCall(t, p, "AKIDBOB", "us-east-1", op, map[string]any{"StreamARN": target}); !a.denied() {
				t.Errorf("bob %s %s: %d %s", op, target, a.status, a.raw)
			}
		}
		for _, op := range []string{"PutResourcePolicy", "TagResource"} {
			in := map[string]any{"ResourceARN": target, "Policy": `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kinesis:*","Resource":"*"}]}`, "Tags": map[string]any{"x": "y"}}
			if op == "TagResource" {
				delete(in, "Policy")
			} else {
				delete(in, "Tags")
			}
			if a := signedCall(t, p, "AKIDBOB", "us-east-1", op, in); !a.denied() {
				t.Errorf("bob %s %s: %d %s", op, target, a.status, a.raw)
			}
		}
	}
	// The root of account 000… is root in its account only.
	if a := root("DescribeStreamSummary", map[string]any{"StreamARN": sARN(acctA, "open")}); !a.denied() {
		t.Errorf("root reached another account: %d %s", a.status, a.raw)
	}
	// A Principal "*" resource policy does not admit a caller whose own
	// account gave it nothing.
	if a := signedCall(t, p, "AKIDADMIN", "us-east-1", "PutResourcePolicy", map[string]any{"ResourceARN": sARN(acctA, "open"),
		"Policy": `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kinesis:*","Resource":"*"}]}`}); a.status != 200 {
		t.Fatal(a.raw)
	}
	if a := signedCall(t, p, "AKIDCAROL", "us-east-1", "DescribeStreamSummary", map[string]any{"StreamARN": sARN(acctA, "open")}); !a.denied() {
		t.Errorf("carol without identity policy: %d %s", a.status, a.raw)
	}
	// With it shared, bob (who has an identity policy) may read, not delete.
	if a := signedCall(t, p, "AKIDBOB", "us-east-1", "DescribeStreamSummary", map[string]any{"StreamARN": sARN(acctA, "open")}); a.status != 200 {
		t.Errorf("bob on a shared stream: %d %s", a.status, a.raw)
	}
	if a := signedCall(t, p, "AKIDBOB", "us-east-1", "DeleteStream", map[string]any{"StreamARN": sARN(acctA, "open")}); !a.denied() {
		t.Errorf("bob deleted a shared stream: %d %s", a.status, a.raw)
	}
	// Names act in the caller's own account: bob's "rootstream" is not the root's.
	if a := signedCall(t, p, "AKIDBOB", "us-east-1", "DescribeStreamSummary", map[string]any{"StreamName": "rootstream"}); a.typ != "ResourceNotFoundException" {
		t.Errorf("bob by name: %d %s", a.status, a.raw)
	}
}

// TestConsumerPoliciesAndLifetimes is point 5: a consumer resource-policy
// Deny holds whatever names the consumer; the root obeys a resource-policy
// Deny (but may still repair the policy); a policy dies with its stream.
func TestConsumerPoliciesAndLifetimes(t *testing.T) {
	p := securedServer(t)
	admin := func(op string, body any) answer { return signedCall(t, p, "AKIDADMIN", "us-east-1", op, body) }
	admin("CreateStream", map[string]any{"StreamName": "cs", "ShardCount": 1})
	waitFor(t, func() bool {
		return strings.Contains(admin("DescribeStreamSummary", map[string]any{"StreamName": "cs"}).raw, `"ACTIVE"`)
	})
	reg := admin("RegisterStreamConsumer", map[string]any{"StreamARN": sARN(acctA, "cs"), "ConsumerName": "c"})
	consumer := reg.body["Consumer"].(map[string]any)["ConsumerARN"].(string)
	deny := `{"Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111111111111:user/alice"},"Action":"kinesis:*","Resource":"*"}]}`
	if a := admin("PutResourcePolicy", map[string]any{"ResourceARN": consumer, "Policy": deny}); a.status != 200 {
		t.Fatal(a.raw)
	}
	alice := func(op string, body any) answer { return signedCall(t, p, "AKIDALICE", "us-east-1", op, body) }
	if a := alice("DescribeStreamConsumer", map[string]any{"ConsumerARN": consumer}); !a.denied() {
		t.Errorf("consumer Deny by ARN: %d %s", a.status, a.raw)
	}
	if a := alice("DescribeStreamConsumer", map[string]any{"StreamARN": sARN(acctA, "cs"), "ConsumerName": "c"}); !a.denied() {
		t.Errorf("consumer Deny by StreamARN + ConsumerName: %d %s", a.status, a.raw)
	}
	// Another creation timestamp names no consumer at all.
	i := strings.LastIndexByte(consumer, ':')
	for _, forged := range []string{consumer[:i+1] + "1", consumer[:i+1] + "9999999999"} {
		if a := alice("DescribeStreamConsumer", map[string]any{"ConsumerARN": forged}); a.status == 200 {
			t.Errorf("consumer reached with a changed timestamp %s: %s", forged, a.raw)
		}
		if a := alice("DeregisterStreamConsumer", map[string]any{"ConsumerARN": forged}); a.status == 200 {
			t.Errorf("consumer deregistered with a changed timestamp: %s", a.raw)
		}
	}
	if a := alice("DeregisterStreamConsumer", map[string]any{"StreamARN": sARN(acctA, "cs"), "ConsumerName": "c"}); !a.denied() {
		t.Errorf("consumer deregistered past its Deny: %d %s", a.status, a.raw)
	}
	// The root obeys a resource-policy Deny * …
	rootDeny := `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"kinesis:*","Resource":"*"}]}`
	admin("CreateStream", map[string]any{"StreamName": "locked", "ShardCount": 1})
	root := func(op string, body any) answer { return signedCall(t, p, "AKIDROOT", "us-east-1", op, body) }
	root("CreateStream", map[string]any{"StreamName": "locked", "ShardCount": 1})
	waitFor(t, func() bool {
		return strings.Contains(root("DescribeStreamSummary", map[string]any{"StreamName": "locked"}).raw, `"ACTIVE"`)
	})
	if a := root("PutResourcePolicy", map[string]any{"ResourceARN": sARN(acctRoot, "locked"), "Policy": rootDeny}); a.status != 200 {
		t.Fatal(a.raw)
	}
	if a := root("PutRecord", map[string]any{"StreamName": "locked", "PartitionKey": "k", "Data": "eA=="}); !a.denied() {
		t.Errorf("root ignored a resource-policy Deny: %d %s", a.status, a.raw)
	}
	// … but may repair the policy, as on AWS.
	if a := root("DeleteResourcePolicy", map[string]any{"ResourceARN": sARN(acctRoot, "locked")}); a.status != 200 {
		t.Errorf("root could not remove its own policy: %s", a.raw)
	}
	if a := root("PutRecord", map[string]any{"StreamName": "locked", "PartitionKey": "k", "Data": "eA=="}); a.status != 200 {
		t.Errorf("after removing the Deny: %s", a.raw)
	}
	// A policy dies with its stream: a stream re-created under the name
	// starts without one.
	allowAll := `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"kinesis:*","Resource":"*"}]}`
	if a := root("PutResourcePolicy", map[string]any{"ResourceARN": sARN(acctRoot, "locked"), "Policy": allowAll}); a.status != 200 {
		t.Fatal(a.raw)
	}
	root("DeleteStream", map[string]any{"StreamName": "locked"})
	waitFor(t, func() bool {
		return root("DescribeStreamSummary", map[string]any{"StreamName": "locked"}).typ == "ResourceNotFoundException"
	})
	root("CreateStream", map[string]any{"StreamName": "locked", "ShardCount": 1})
	waitFor(t, func() bool {
		return strings.Contains(root("DescribeStreamSummary", map[string]any{"StreamName": "locked"}).raw, `"ACTIVE"`)
	})
	if a := root("GetResourcePolicy", map[string]any{"ResourceARN": sARN(acctRoot, "locked")}); a.body["Policy"] != "{}" {
		t.Errorf("the re-created stream inherited a policy: %s", a.raw)
	}
	if a := signedCall(t, p, "AKIDBOB", "us-east-1", "DescribeStreamSummary", map[string]any{"StreamARN": sARN(acctRoot, "locked")}); !a.denied() {
		t.Errorf("the old policy still shares the new stream: %d %s", a.status, a.raw)
	}
}

// TestSignatureScope is point 6: a signature scoped to another service or
// to a region that does not exist is refused, so made-up regions cannot
// open fresh namespaces with fresh limits.
func TestSignatureScope(t *testing.T) {
	p := securedServer(t)
	for _, svc := range []string{"s3", "kms", "sts", "x"} {
		a := scopedCall(t, p, svc, "us-east-1")
		if a.typ != "InvalidSignatureException" || !strings.Contains(a.raw, "Credential should be scoped to correct service: 'kinesis'") {
			t.Errorf("service %s: %d %s", svc, a.status, a.raw)
		}
	}
	for _, region := range []string{"xx-fake-1", "us-east-99", "US-EAST-1", "cn-north-1"} {
		a := scopedCall(t, p, "kinesis", region)
		if a.typ != "InvalidSignatureException" || !strings.Contains(a.raw, "Credential should be scoped to a valid region, not '"+region+"'") {
			t.Errorf("region %s: %d %s", region, a.status, a.raw)
		}
	}
	for _, region := range []string{"us-east-1", "eu-west-1", "ap-southeast-7"} {
		if a := scopedCall(t, p, "kinesis", region); a.status != 200 {
			t.Errorf("real region %s: %d %s", region, a.status, a.raw)
		}
	}
}

func scopedCall(t *testing.T, p *proc, service, region string) answer {
	t.Helper()
	body := []byte(`{}`)
	req, _ := http.NewRequest("POST", "http://"+p.addr+"/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Kinesis_20131202.ListStreams")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDADMIN", SecretAccessKey: "admin-secret"},
		req, hex.EncodeToString(sum[:]), service, region, time.Now()); err != nil {
		t.Fatal(err)
	}
	return doSigned(t, req)
}

// TestPresignedAndUnsignedPayloads is point 7: a URL presigned over host
// alone is no bearer credential, the payload is always signed, tokens are
// checked both ways.
func TestPresignedAndUnsignedPayloads(t *testing.T) {
	p := securedServer(t)
	creds := aws.Credentials{AccessKeyID: "AKIDADMIN", SecretAccessKey: "admin-secret"}
	body := []byte(`{"StreamName":"bearer","ShardCount":1}`)
	presigned := func(expires, payloadHash string) *http.Request {
		req, _ := http.NewRequest("POST", "http://"+p.addr+"/?X-Amz-Expires="+expires, nil)
		url, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, payloadHash, "kinesis", "us-east-1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		out, _ := http.NewRequest("POST", url, bytes.NewReader(body))
		out.Header.Set("Content-Type", "application/x-amz-json-1.1")
		out.Header.Set("X-Amz-Target", "Kinesis_20131202.CreateStream")
		return out
	}
	// Host alone, UNSIGNED-PAYLOAD, six days: the attacker's URL.
	if a := doSigned(t, presigned("518400", "UNSIGNED-PAYLOAD")); a.status == 200 {
		t.Fatalf("a URL presigned over host alone created a stream: %s", a.raw)
	}
	if a := doSigned(t, presigned("604801", "UNSIGNED-PAYLOAD")); a.typ != "IncompleteSignatureException" {
		t.Errorf("X-Amz-Expires over 7 days: %d %s", a.status, a.raw)
	}
	// Header auth claiming an unsigned payload for a signed-body operation.
	req, _ := http.NewRequest("POST", "http://"+p.addr+"/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Kinesis_20131202.CreateStream")
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, "UNSIGNED-PAYLOAD", "kinesis", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if a := doSigned(t, req); a.typ != "InvalidSignatureException" {
		t.Errorf("UNSIGNED-PAYLOAD: %d %s", a.status, a.raw)
	}
	// A long-term key with a session token.
	req, _ = http.NewRequest("POST", "http://"+p.addr+"/", bytes.NewReader([]byte(`{}`)))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Kinesis_20131202.ListStreams")
	sum := sha256.Sum256([]byte(`{}`))
	withToken := creds
	withToken.SessionToken = "made-up"
	if err := v4.NewSigner().SignHTTP(context.Background(), withToken, req, hex.EncodeToString(sum[:]), "kinesis", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if a := doSigned(t, req); a.typ != "UnrecognizedClientException" {
		t.Errorf("session token with a long-term key: %d %s", a.status, a.raw)
	}
	// Nothing was created.
	a := signedCall(t, p, "AKIDADMIN", "us-east-1", "ListStreams", map[string]any{})
	var out struct{ StreamNames []string }
	json.Unmarshal([]byte(a.raw), &out)
	if len(out.StreamNames) != 0 {
		t.Errorf("streams created by refused requests: %v", out.StreamNames)
	}
}
