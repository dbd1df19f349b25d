package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

var keys = map[string]Secret{
	"AKIDROOT":    {SecretAccessKey: "root-secret"},
	"ASIASESSION": {SecretAccessKey: "session-secret", SessionToken: "tok123"},
}

func lookup(id string) (Secret, bool) { s, ok := keys[id]; return s, ok }

func signed(t *testing.T, akid, secret, token string, body []byte, at time.Time) *http.Request {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://localhost:4566/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Kinesis_20131202.ListStreams")
	sum := sha256.Sum256(body)
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret, SessionToken: token},
		req, hex.EncodeToString(sum[:]), "kinesis", "eu-west-1", at)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func wantKind(t *testing.T, err error, k Kind, msgPart string) {
	t.Helper()
	e, ok := err.(*Error)
	if !ok || e.Kind != k || !strings.Contains(e.Msg, msgPart) {
		t.Fatalf("got %v, want kind %d containing %q", err, k, msgPart)
	}
}

func TestVerifySDKSignatures(t *testing.T) {
	now := time.Now()
	body := []byte(`{}`)
	res, err := Verify(signed(t, "AKIDROOT", "root-secret", "", body, now), body, lookup, now)
	if err != nil || res.Region != "eu-west-1" || res.Service != "kinesis" || res.AccessKeyID != "AKIDROOT" {
		t.Fatalf("valid request: %+v %v", res, err)
	}
	_, err = Verify(signed(t, "AKIDROOT", "wrong-secret", "", body, now), body, lookup, now)
	wantKind(t, err, Invalid, "does not match")
	_, err = Verify(signed(t, "AKIDUNKNOWN", "x", "", body, now), body, lookup, now)
	wantKind(t, err, Unrecognized, "security token included in the request is invalid")
	// A body changed after signing.
	_, err = Verify(signed(t, "AKIDROOT", "root-secret", "", body, now), []byte(`{"Limit":1}`), lookup, now)
	wantKind(t, err, Invalid, "")
	// Outside the 5-minute window (a replay).
	_, err = Verify(signed(t, "AKIDROOT", "root-secret", "", body, now.Add(-6*time.Minute)), body, lookup, now)
	wantKind(t, err, Invalid, "Signature expired")
	_, err = Verify(signed(t, "AKIDROOT", "root-secret", "", body, now.Add(6*time.Minute)), body, lookup, now)
	wantKind(t, err, Invalid, "Signature not yet current")
	// Session tokens: required and checked.
	if _, err := Verify(signed(t, "ASIASESSION", "session-secret", "tok123", body, now), body, lookup, now); err != nil {
		t.Fatalf("session credentials: %v", err)
	}
	_, err = Verify(signed(t, "ASIASESSION", "session-secret", "other", body, now), body, lookup, now)
	wantKind(t, err, Unrecognized, "")
	// No authentication at all.
	req, _ := http.NewRequest("POST", "http://localhost/", nil)
	_, err = Verify(req, nil, lookup, now)
	wantKind(t, err, Missing, "Missing Authentication Token")
}

func TestVerifyPresigned(t *testing.T) {
	now := time.Now()
	presign := func(at time.Time, expires string) *http.Request {
		req, _ := http.NewRequest("GET", "http://localhost:4566/?Action=ListStreams&X-Amz-Expires="+expires, nil)
		url, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDROOT", SecretAccessKey: "root-secret"},
			req, "UNSIGNED-PAYLOAD", "kinesis", "us-east-1", at)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := http.NewRequest("GET", url, nil)
		return out
	}
	if _, err := Verify(presign(now, "300"), nil, lookup, now); err != nil {
		t.Fatalf("presigned: %v", err)
	}
	_, err := Verify(presign(now.Add(-10*time.Minute), "300"), nil, lookup, now)
	wantKind(t, err, Invalid, "Signature expired")
}

func FuzzVerify(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDROOT/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", "20260101T000000Z", []byte("{}"))
	f.Add("garbage", "", []byte(nil))
	f.Fuzz(func(t *testing.T, auth, date string, body []byte) {
		req, _ := http.NewRequest("POST", "http://localhost/", bytes.NewReader(body))
		req.Header.Set("Authorization", auth)
		req.Header.Set("X-Amz-Date", date)
		if _, err := Verify(req, body, lookup, time.Now()); err == nil {
			t.Fatalf("an unsigned request verified: %q", auth)
		}
	})
}
