package jsonrpc

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsproto"
)

// TestFrontMalformedAuthorization: an Authorization header made only of
// separators (once a slice-bounds panic in checkAuth, which net/http turned
// into a dropped connection) is an IncompleteSignatureException like any
// other malformed signature, and never reaches the handler.
func TestFrontMalformedAuthorization(t *testing.T) {
	called := false
	front := newFront(&Service{
		SigningName: "kinesis", TargetPrefix: "Test_1",
		Operations: map[string]*Operation{"Op": {
			Input:  testSchema(),
			Handle: func(context.Context, *awsproto.Call) (any, error) { called = true; return nil, nil },
		}},
	})
	for _, auth := range []string{",", ", , ,", strings.Repeat(",", 1000), "= = =", "garbage", "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA256 Credential=, SignedHeaders=, Signature="} {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"Records":[{"PartitionKey":"p","Data":"AA=="}]}`))
		req.Header.Set("Content-Type", ContentJSON)
		req.Header.Set("X-Amz-Target", "Test_1.Op")
		req.Header.Set("X-Amz-Date", "20260101T000000Z")
		req.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		front.ServeHTTP(w, req)
		b, _ := io.ReadAll(w.Result().Body)
		var env map[string]string
		json.Unmarshal(b, &env)
		if w.Code != 400 || env["__type"] != awserr.IncompleteSignature.Name {
			t.Errorf("Authorization %.20q: %d %s", auth, w.Code, b)
		}
	}
	if called {
		t.Error("a request with a malformed signature reached the handler")
	}
}

// TestFrontBodyTimeout: a client that sends its headers and then stalls
// mid-body gets a SerializationException once BodyTimeout has passed and the
// connection is closed; a slow handler (an event stream) is not cut by the
// body deadline once the body is in.
func TestFrontBodyTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	front := newFrontEnv(&awsproto.Env{BodyTimeout: timeout}, &Service{
		SigningName: "kinesis", TargetPrefix: "Test_1",
		Operations: map[string]*Operation{"Op": {
			Input: testSchema(),
			Handle: func(context.Context, *awsproto.Call) (any, error) {
				time.Sleep(3 * timeout)
				return map[string]string{"ok": "yes"}, nil
			},
		}},
	})
	srv := httptest.NewServer(front)
	defer srv.Close()
	head := "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: " + ContentJSON + "\r\nX-Amz-Target: Test_1.Op\r\nX-Amz-Date: 20260101T000000Z\r\n" +
		"Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=abc\r\n"

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	io.WriteString(conn, head+"Content-Length: 1000\r\n\r\n{\"Records\":")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("stalled body: no answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if took := time.Since(start); resp.StatusCode != 400 || !strings.Contains(string(b), awserr.Serialization.Name) || took < timeout || took > 10*timeout {
		t.Errorf("stalled body: %d %s after %v", resp.StatusCode, b, took)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("connection still open after a timed-out body: %v", err)
	}

	body := `{"Records":[{"PartitionKey":"p","Data":"AA=="}]}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
	for k, v := range map[string]string{"Content-Type": ContentJSON, "X-Amz-Target": "Test_1.Op", "X-Amz-Date": "20260101T000000Z",
		"Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=abc"} {
		req.Header.Set(k, v)
	}
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "yes") {
		t.Errorf("a handler slower than BodyTimeout: %d %s", resp.StatusCode, b)
	}
}

// TestFrontRejectsOversizedAndDeepBodies checks the limits at the HTTP front
// end: a body over the operation's MaxBody is refused, unread, with 413
// RequestEntityTooLarge; a body nested deeper than MaxDepth is a 400
// SerializationException; numbers too large for their shape are a
// SerializationException. None reaches the handler.
func TestFrontRejectsOversizedAndDeepBodies(t *testing.T) {
	called := false
	front := newFront(&Service{
		SigningName: "kinesis", TargetPrefix: "Test_1",
		Operations: map[string]*Operation{"Op": {
			Input:   testSchema(),
			MaxBody: 1 << 10,
			Handle:  func(context.Context, *awsproto.Call) (any, error) { called = true; return nil, nil },
		}},
	})
	post := func(body string) (int, string) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("Content-Type", ContentJSON)
		req.Header.Set("X-Amz-Target", "Test_1.Op")
		req.Header.Set("X-Amz-Date", "20260101T000000Z")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=abc")
		w := httptest.NewRecorder()
		front.ServeHTTP(w, req)
		b, _ := io.ReadAll(w.Result().Body)
		var env map[string]string
		json.Unmarshal(b, &env)
		return w.Code, env["__type"]
	}
	for _, tc := range []struct {
		name   string
		body   string
		status int
		typ    string
	}{
		{"oversized", `{"StreamName":"` + strings.Repeat("x", 2<<10) + `"}`, 413, awserr.RequestEntityTooLarge.Name},
		{"deep", `{"a":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`, 400, awserr.Serialization.Name},
		{"huge-integer", `{"ShardCount":1e400,"Records":[{"PartitionKey":"p","Data":"AA=="}]}`, 400, awserr.Serialization.Name},
		{"not-an-object", `[{"Records":[]}]`, 400, awserr.Serialization.Name},
	} {
		if status, typ := post(tc.body); status != tc.status || typ != tc.typ {
			t.Errorf("%s: %d %s, want %d %s", tc.name, status, typ, tc.status, tc.typ)
		}
	}
	if called {
		t.Error("a rejected body reached the handler")
	}
	if status, typ := post(`{"Records":[{"PartitionKey":"p","Data":"AA=="}]}`); status != 200 || !called {
		t.Errorf("valid body: %d %s", status, typ)
	}
}
