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
	res, err := Verify(signed(t, "AKIDROOT", "root-secret", "", body, now), body, lookup, now, Options{})
	if err != nil || res.Region != "eu-west-1" || res.Service != "kinesis" || res.AccessKeyID != "AKIDROOT" {
		t.Fatalf("valid request: %+v %v", res, err)
	}
	_, err = Verify(signed(t, "AKIDROOT", "wrong-secret", "", body, now), body, lookup, now, Options{})
	wantKind(t, err, Invalid, "does not match")
	_, err = Verify(signed(t, "AKIDUNKNOWN", "x", "", body, now), body, lookup, now, Options{})
	wantKind(t, err, Unrecognized, "security token included in the request is invalid")
	// A body changed after signing.
	_, err = Verify(signed(t, "AKIDROOT", "root-secret", "", body, now), []byte(`{"Limit":1}`), lookup, now, Options{})
	wantKind(t, err, Invalid, "")
	// Outside the 5-minute window (a replay).
	_, err = Verify(signed(t, "AKIDROOT", "root-secret", "", body, now.Add(-6*time.Minute)), body, lookup, now, Options{})
	wantKind(t, err, Invalid, "Signature expired")
	_, err = Verify(signed(t, "AKIDROOT", "root-secret", "", body, now.Add(6*time.Minute)), body, lookup, now, Options{})
	wantKind(t, err, Invalid, "Signature not yet current")
	// Session tokens: required and checked.
	if _, err := Verify(signed(t, "ASIASESSION", "session-secret", "tok123", body, now), body, lookup, now, Options{}); err != nil {
		t.Fatalf("session credentials: %v", err)
	}
	_, err = Verify(signed(t, "ASIASESSION", "session-secret", "other", body, now), body, lookup, now, Options{})
	wantKind(t, err, Unrecognized, "")
	// No authentication at all.
	req, _ := http.NewRequest("POST", "http://localhost/", nil)
	_, err = Verify(req, nil, lookup, now, Options{})
	wantKind(t, err, Missing, "Missing Authentication Token")
}

func TestVerifyPresigned(t *testing.T) {
	now := time.Now()
	emptySum := sha256.Sum256(nil)
	empty := hex.EncodeToString(emptySum[:])
	presignAs := func(at time.Time, expires, payloadHash string) *http.Request {
		req, _ := http.NewRequest("GET", "http://localhost:4566/?Action=ListStreams&X-Amz-Expires="+expires, nil)
		url, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDROOT", SecretAccessKey: "root-secret"},
			req, payloadHash, "kinesis", "us-east-1", at)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := http.NewRequest("GET", url, nil)
		return out
	}
	presign := func(at time.Time, expires string) *http.Request { return presignAs(at, expires, empty) }
	// As the Kinesis Video WebRTC JS library presigns: the SHA-256 of the
	// empty payload.
	if _, err := Verify(presign(now, "300"), []byte{}, lookup, now, Options{}); err != nil {
		t.Fatalf("presigned: %v", err)
	}
	_, err := Verify(presign(now.Add(-10*time.Minute), "300"), []byte{}, lookup, now, Options{})
	wantKind(t, err, Invalid, "Signature expired")
	_, err = Verify(presign(now, "604801"), []byte{}, lookup, now, Options{})
	wantKind(t, err, Incomplete, "X-Amz-Expires must be a number of seconds between 1 and 604800")
	// S3's convention, UNSIGNED-PAYLOAD, only where a service allows it:
	// elsewhere a presigned URL would carry any body (issue 20: a URL
	// presigned over host alone ran CreateStream with a body of the
	// bearer's choosing).
	_, err = Verify(presignAs(now, "300", "UNSIGNED-PAYLOAD"), []byte(`{"StreamName":"x","ShardCount":1}`), lookup, now, Options{})
	wantKind(t, err, Invalid, "does not match")
	if _, err := Verify(presignAs(now, "300", "UNSIGNED-PAYLOAD"), nil, lookup, now, Options{UnsignedPayload: true}); err != nil {
		t.Fatalf("S3-style presigned: %v", err)
	}
	// A presigned URL binds the body: another body does not verify.
	_, err = Verify(presign(now, "300"), []byte(`{}`), lookup, now, Options{})
	wantKind(t, err, Invalid, "does not match")
}

// TestVerifyRefusesBearerShapes covers the shapes that would turn a
// signature into a bearer credential (issue 20, point 7).
func TestVerifyRefusesBearerShapes(t *testing.T) {
	now := time.Now()
	body := []byte(`{}`)
	// A long-term key with a session token: forged.
	_, err := Verify(signed(t, "AKIDROOT", "root-secret", "some-token", body, now), body, lookup, now, Options{})
	wantKind(t, err, Unrecognized, "security token included in the request is invalid")
	// A session token outside the signed headers.
	req := signed(t, "ASIASESSION", "session-secret", "tok123", body, now)
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), ";x-amz-security-token", "", 1))
	_, err = Verify(req, body, lookup, now, Options{})
	wantKind(t, err, Invalid, "'X-Amz-Security-Token' must be a signed header.")
	// An operation header outside the signed headers.
	req = signed(t, "AKIDROOT", "root-secret", "", body, now)
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), ";x-amz-target", "", 1))
	_, err = Verify(req, body, lookup, now, Options{})
	wantKind(t, err, Invalid, "'X-Amz-Target' must be a signed header.")
	// An unsigned payload claimed for a buffered body.
	req, _ = http.NewRequest("POST", "http://localhost:4566/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", "Kinesis_20131202.CreateStream")
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDROOT", SecretAccessKey: "root-secret"},
		req, "UNSIGNED-PAYLOAD", "kinesis", "us-east-1", now); err != nil {
		t.Fatal(err)
	}
	_, err = Verify(req, body, lookup, now, Options{})
	wantKind(t, err, Invalid, "must be signed")
	for _, h := range []string{"STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"} {
		req.Header.Set("X-Amz-Content-Sha256", h)
		_, err = Verify(req, body, lookup, now, Options{})
		wantKind(t, err, Invalid, "must be signed")
	}
}

// TestVerifyStreamedClaimedHash: a streamed body (nil) signed with its
// SHA-256 verifies on the claimed hash where the caller checks the body as
// it reads (UnsignedPayload); a buffered body is still hashed, and a claim
// that is not a SHA-256 is not taken.
func TestVerifyStreamedClaimedHash(t *testing.T) {
	now := time.Now()
	body := []byte("object bytes")
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req, _ := http.NewRequest("PUT", "http://localhost:4566/bucket/key", bytes.NewReader(body))
	req.Header.Set("X-Amz-Content-Sha256", hash)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDROOT", SecretAccessKey: "root-secret"},
		req, hash, "s3", "us-east-1", now); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(req, nil, lookup, now, Options{UnsignedPayload: true}); err != nil {
		t.Fatalf("streamed body with its claimed hash: %v", err)
	}
	if _, err := Verify(req, body, lookup, now, Options{UnsignedPayload: true}); err != nil {
		t.Fatalf("buffered body: %v", err)
	}
	_, err := Verify(req, []byte("other bytes"), lookup, now, Options{UnsignedPayload: true})
	wantKind(t, err, Invalid, "does not match what was computed")
	_, err = Verify(req, nil, lookup, now, Options{})
	wantKind(t, err, Invalid, "does not match what was computed")
	req.Header.Set("X-Amz-Content-Sha256", hash[:63]+"g")
	_, err = Verify(req, nil, lookup, now, Options{UnsignedPayload: true})
	wantKind(t, err, Invalid, "does not match what was computed")
}

func FuzzVerify(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDROOT/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=00", "20260101T000000Z", []byte("{}"))
	f.Add("garbage", "", []byte(nil))
	f.Fuzz(func(t *testing.T, auth, date string, body []byte) {
		req, _ := http.NewRequest("POST", "http://localhost/", bytes.NewReader(body))
		req.Header.Set("Authorization", auth)
		req.Header.Set("X-Amz-Date", date)
		if _, err := Verify(req, body, lookup, time.Now(), Options{}); err == nil {
			t.Fatalf("an unsigned request verified: %q", auth)
		}
	})
}

// TestVerifyPresignedSignalingURL: the WebSocket URL of a Kinesis Video
// signaling channel as the AWS WebRTC JS library presigns it (a GET to "/"
// with X-Amz-ChannelARN and X-Amz-ClientId, only the host header signed,
// X-Amz-Expires=299, and the SHA-256 of the empty payload where the SDK
// presigners put UNSIGNED-PAYLOAD). Both conventions verify whether the
// caller hands the (empty) body or none (nil, as for a streamed body);
// neither lets a body go unsigned.
func TestVerifyPresignedSignalingURL(t *testing.T) {
	now := time.Now()
	emptySum := sha256.Sum256(nil)
	empty := hex.EncodeToString(emptySum[:])
	const channel = "arn:aws:kinesisvideo:us-east-1:000000000000:channel/cam/1767225600000"
	presign := func(secret, payloadHash string) *http.Request {
		req, _ := http.NewRequest("GET", "http://127.0.0.1:4566/?X-Amz-ChannelARN="+channel+"&X-Amz-ClientId=viewer-1&X-Amz-Expires=299", nil)
		url, _, err := v4.NewSigner().PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDROOT", SecretAccessKey: secret},
			req, payloadHash, "kinesisvideo", "us-east-1", now)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := http.NewRequest("GET", url, nil)
		if q := out.URL.Query(); q.Get("X-Amz-SignedHeaders") != "host" || q.Get("X-Amz-Expires") != "299" {
			t.Fatalf("presigned URL shape: %s", url)
		}
		return out
	}
	for _, hash := range []string{empty, "UNSIGNED-PAYLOAD"} {
		for _, body := range [][]byte{nil, {}} {
			for _, unsigned := range []bool{false, true} {
				res, err := Verify(presign("root-secret", hash), body, lookup, now, Options{UnsignedPayload: unsigned})
				if err != nil || res.Service != "kinesisvideo" {
					t.Errorf("hash %s body %v unsigned %v: %+v %v", hash, body, unsigned, res, err)
				}
				_, err = Verify(presign("wrong-secret", hash), body, lookup, now, Options{UnsignedPayload: unsigned})
				wantKind(t, err, Invalid, "does not match")
			}
		}
	}
	// A body the signature does not cover is still refused: the empty
	// hash with a body, and a streamed body of unknown length.
	_, err := Verify(presign("root-secret", empty), []byte(`{}`), lookup, now, Options{})
	wantKind(t, err, Invalid, "does not match")
	streamed := presign("root-secret", empty)
	streamed.ContentLength = -1
	_, err = Verify(streamed, nil, lookup, now, Options{UnsignedPayload: true})
	wantKind(t, err, Invalid, "does not match")
	_, err = Verify(presign("root-secret", "UNSIGNED-PAYLOAD"), []byte(`{}`), lookup, now, Options{})
	wantKind(t, err, Invalid, "does not match")
}
