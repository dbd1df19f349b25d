package restjson

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsproto"
)

var exNotFound = awserr.Exception{Name: "ResourceNotFoundException", Status: 400, RESTStatus: 404}

func str(min, max int) *awsproto.Shape {
	return &awsproto.Shape{Type: awsproto.String, MinLen: awsproto.Len(min), MaxLen: awsproto.Len(max)}
}

// toyLambda is a slice of Lambda's REST-JSON API, enough for the real SDK
// to exercise path, query, header and payload bindings and raw outputs.
func toyLambda(t *testing.T) *Service {
	fns := map[string]bool{"echo": true}
	return New("lambda", []string{"/2015-03-31/functions"},
		&Route{Op: "GetFunction", Method: http.MethodGet, Path: "/2015-03-31/functions/{FunctionName}",
			Input: []awsproto.Field{
				{Name: "FunctionName", Shape: &awsproto.Shape{Type: awsproto.String, Required: true, MinLen: awsproto.Len(1), MaxLen: awsproto.Len(170)}, In: awsproto.InURI},
				{Name: "Qualifier", Shape: str(1, 128), In: awsproto.InQuery},
			},
			Handle: func(ctx context.Context, c *awsproto.Call) (any, error) {
				name := c.Input["FunctionName"].(string)
				if !fns[name] {
					return nil, awserr.New(exNotFound, "Function not found: arn:aws:lambda:"+c.Region+":000000000000:function:"+name)
				}
				q, _ := c.Input["Qualifier"].(string)
				return map[string]any{"Configuration": map[string]any{"FunctionName": name, "Version": q}}, nil
			}},
		&Route{Op: "ListFunctions", Method: http.MethodGet, Path: "/2015-03-31/functions",
			Input: []awsproto.Field{
				{Name: "Marker", Shape: str(0, 1024), In: awsproto.InQuery},
				{Name: "MaxItems", Shape: &awsproto.Shape{Type: awsproto.Integer, Min: awsproto.I64(1), Max: awsproto.I64(10000)}, In: awsproto.InQuery},
			},
			Handle: func(ctx context.Context, c *awsproto.Call) (any, error) {
				return map[string]any{"Functions": []any{map[string]any{"FunctionName": "echo", "MemorySize": c.Input["MaxItems"]}}}, nil
			}},
		&Route{Op: "Invoke", Method: http.MethodPost, Path: "/2015-03-31/functions/{FunctionName}/invocations",
			Input: []awsproto.Field{
				{Name: "FunctionName", Shape: str(1, 170), In: awsproto.InURI},
				{Name: "InvocationType", Shape: &awsproto.Shape{Type: awsproto.String, Enum: []string{"Event", "RequestResponse", "DryRun"}}, In: awsproto.InHeader, Wire: "X-Amz-Invocation-Type"},
				{Name: "LogType", Shape: &awsproto.Shape{Type: awsproto.String, Enum: []string{"None", "Tail"}}, In: awsproto.InHeader, Wire: "X-Amz-Log-Type"},
				{Name: "Payload", Shape: &awsproto.Shape{Type: awsproto.Blob}},
				{Name: "Qualifier", Shape: str(1, 128), In: awsproto.InQuery},
			},
			Payload: "Payload",
			Handle: func(ctx context.Context, c *awsproto.Call) (any, error) {
				p, _ := c.Input["Payload"].([]byte)
				status := 200
				if c.Input["InvocationType"] == "Event" {
					status = 202
				}
				h := http.Header{}
				h.Set("X-Amz-Executed-Version", "$LATEST")
				if c.Input["LogType"] == "Tail" {
					h.Set("X-Amz-Log-Result", "bG9n") // "log"
				}
				return &Response{Status: status, Header: h, Payload: bytes.ToUpper(p), ContentType: "application/json"}, nil
			}},
	)
}

func serve(t *testing.T, env *awsproto.Env, svcs ...*Service) *httptest.Server {
	rt := awsproto.NewRouter(env)
	for _, s := range svcs {
		rt.Register(s.Endpoint())
	}
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	return srv
}

func lambdaClient(url string) *lambda.Client {
	return lambda.New(lambda.Options{Region: "eu-west-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")})
}

// TestLambdaSDKAgainstRESTJSON: the real Lambda client's requests are
// routed by their credential scope, bound from path, query, headers and a
// blob payload, and its decoder reads the outputs and the 404 error.
func TestLambdaSDKAgainstRESTJSON(t *testing.T) {
	srv := serve(t, &awsproto.Env{}, toyLambda(t))
	lc := lambdaClient(srv.URL)
	ctx := context.Background()
	got, err := lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("echo"), Qualifier: aws.String("7")})
	if err != nil || aws.ToString(got.Configuration.FunctionName) != "echo" || aws.ToString(got.Configuration.Version) != "7" {
		t.Fatalf("GetFunction: %+v %v", got, err)
	}
	_, err = lc.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("nope")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || !strings.Contains(nf.ErrorMessage(), "function:nope") {
		t.Fatalf("GetFunction of a missing function: %v", err)
	}
	list, err := lc.ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(5)})
	if err != nil || len(list.Functions) != 1 || aws.ToInt32(list.Functions[0].MemorySize) != 5 {
		t.Fatalf("ListFunctions: %+v %v", list, err)
	}
	_, err = lc.ListFunctions(ctx, &lambda.ListFunctionsInput{MaxItems: aws.Int32(0)})
	if err == nil || !strings.Contains(err.Error(), "ValidationException") || !strings.Contains(err.Error(), "maxItems") && !strings.Contains(err.Error(), "MaxItems") {
		t.Fatalf("ListFunctions MaxItems=0: %v", err)
	}
	inv, err := lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{"a":"b"}`), LogType: types.LogTypeTail})
	if err != nil || string(inv.Payload) != `{"A":"B"}` || inv.StatusCode != 200 || aws.ToString(inv.ExecutedVersion) != "$LATEST" || aws.ToString(inv.LogResult) != "bG9n" {
		t.Fatalf("Invoke: %+v %v", inv, err)
	}
	inv, err = lc.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("echo"), InvocationType: types.InvocationTypeEvent})
	if err != nil || inv.StatusCode != 202 {
		t.Fatalf("Invoke Event: %+v %v", inv, err)
	}
}

func do(t *testing.T, method, url string, body io.Reader, hdr map[string]string) (*http.Response, map[string]string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, body)
	req.Header.Set("X-Amz-Date", "20260101T000000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/toy/aws4_request, SignedHeaders=host, Signature=abc")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var m map[string]string
	json.Unmarshal(b, &m)
	return resp, m
}

// TestBindingsAndErrors: greedy and escaped path labels, lists in the
// query, typed headers and timestamps, a JSON body beside bound members;
// unknown routes and bad values answer AWS-shaped errors with REST statuses.
func TestBindingsAndErrors(t *testing.T) {
	var seen map[string]any
	svc := New("toy", nil,
		&Route{Op: "PutObject", Method: http.MethodPut, Path: "/b/{Bucket}/{Key+}",
			Input: []awsproto.Field{
				{Name: "Bucket", Shape: str(3, 63), In: awsproto.InURI},
				{Name: "Key", Shape: str(1, 1024), In: awsproto.InURI},
				{Name: "Ids", Shape: &awsproto.Shape{Type: awsproto.List, Member: &awsproto.Shape{Type: awsproto.Integer}}, In: awsproto.InQuery, Wire: "id"},
				{Name: "Force", Shape: &awsproto.Shape{Type: awsproto.Boolean}, In: awsproto.InHeader, Wire: "X-Force"},
				{Name: "Since", Shape: &awsproto.Shape{Type: awsproto.Timestamp}, In: awsproto.InHeader, Wire: "X-Since"},
				{Name: "Note", Shape: &awsproto.Shape{Type: awsproto.String, Required: true, MaxLen: awsproto.Len(5)}},
			},
			Status: 201,
			Handle: func(ctx context.Context, c *awsproto.Call) (any, error) {
				seen = c.Input
				return map[string]string{"ok": "yes"}, nil
			}},
	)
	srv := serve(t, &awsproto.Env{}, svc)
	resp, m := do(t, http.MethodPut, srv.URL+"/b/my-bucket/a/b%20c/d.txt?id=1&id=22", strings.NewReader(`{"Note":"hi"}`),
		map[string]string{"X-Force": "true", "X-Since": "Thu, 01 Jan 2026 00:00:10 GMT"})
	if resp.StatusCode != 201 || m["ok"] != "yes" {
		t.Fatalf("PutObject: %d %v", resp.StatusCode, m)
	}
	if seen["Bucket"] != "my-bucket" || seen["Key"] != "a/b c/d.txt" || seen["Force"] != true || seen["Note"] != "hi" {
		t.Errorf("bound input %v", seen)
	}
	if ids, _ := seen["Ids"].([]any); len(ids) != 2 || ids[0] != int64(1) || ids[1] != int64(22) {
		t.Errorf("query list %#v", seen["Ids"])
	}
	if ts, _ := seen["Since"].(float64); ts != float64(time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC).Unix()) {
		t.Errorf("header timestamp %#v", seen["Since"])
	}
	for _, tc := range []struct {
		name, method, path, body string
		hdr                      map[string]string
		status                   int
		typ                      string
	}{
		{"no such route", http.MethodGet, "/nothing/here", "", nil, 404, "UnknownOperationException"},
		{"wrong method", http.MethodGet, "/b/my-bucket/k", "", nil, 404, "UnknownOperationException"},
		{"bad boolean header", http.MethodPut, "/b/my-bucket/k", `{"Note":"x"}`, map[string]string{"X-Force": "maybe"}, 400, "SerializationException"},
		{"bad integer in query", http.MethodPut, "/b/my-bucket/k?id=x", `{"Note":"x"}`, nil, 400, "SerializationException"},
		{"malformed body", http.MethodPut, "/b/my-bucket/k", `{"Note":`, nil, 400, "SerializationException"},
		{"missing required body member", http.MethodPut, "/b/my-bucket/k", `{}`, nil, 400, "ValidationException"},
		{"label too short", http.MethodPut, "/b/ab/k", `{"Note":"x"}`, nil, 400, "ValidationException"},
		{"body member too long", http.MethodPut, "/b/my-bucket/k", `{"Note":"toolong"}`, nil, 400, "ValidationException"},
	} {
		resp, m := do(t, tc.method, srv.URL+tc.path, strings.NewReader(tc.body), tc.hdr)
		if resp.StatusCode != tc.status || m["__type"] != tc.typ || resp.Header.Get("X-Amzn-Errortype") != tc.typ {
			t.Errorf("%s: %d %v, want %d %s", tc.name, resp.StatusCode, m, tc.status, tc.typ)
		}
	}
}

// TestStreamingBodyAndResponse: a streaming payload reaches the handler
// unbuffered (larger than the whole memory budget, and read while the
// client is still sending), and a streamed response reaches the client
// chunk by chunk as the handler produces it.
func TestStreamingBodyAndResponse(t *testing.T) {
	firstChunkSeen, clientGotFirst := make(chan struct{}), make(chan struct{})
	svc := New("toy", nil,
		&Route{Op: "PutMedia", Method: http.MethodPost, Path: "/putMedia/{Stream}", Streaming: true, Payload: "Payload",
			Input: []awsproto.Field{
				{Name: "Stream", Shape: str(1, 256), In: awsproto.InURI},
				{Name: "Payload", Shape: &awsproto.Shape{Type: awsproto.Blob}},
			},
			Handle: func(ctx context.Context, c *awsproto.Call) (any, error) {
				// The first megabyte arrives before the client sends the rest.
				buf := make([]byte, 1<<20)
				if _, err := io.ReadFull(c.Body, buf); err != nil {
					return nil, err
				}
				close(firstChunkSeen)
				n, err := io.Copy(io.Discard, c.Body)
				if err != nil {
					return nil, err
				}
				return map[string]any{"Bytes": strconv.FormatInt(n+int64(len(buf)), 10), "Stream": c.Input["Stream"]}, nil
			}},
		&Route{Op: "GetMedia", Method: http.MethodGet, Path: "/getMedia/{Stream}",
			Input: []awsproto.Field{{Name: "Stream", Shape: str(1, 256), In: awsproto.InURI}},
			Handle: func(ctx context.Context, c *awsproto.Call) (any, error) {
				pr, pw := io.Pipe()
				go func() { // ends when the client has read both chunks
					pw.Write([]byte("fragment-1\n"))
					// The second fragment is produced only once the client
					// holds the first: the response is not buffered.
					select {
					case <-clientGotFirst:
					case <-time.After(10 * time.Second):
						pw.CloseWithError(errors.New("the client never received the first fragment"))
						return
					}
					pw.Write([]byte("fragment-2\n"))
					pw.Close()
				}()
				return &Response{Stream: pr, ContentType: "video/webm"}, nil
			}},
	)
	srv := serve(t, &awsproto.Env{Budget: awsproto.NewBudget(64<<10, 0)}, svc)
	pr, pw := io.Pipe()
	go func() {
		pw.Write(make([]byte, 1<<20))
		select {
		case <-firstChunkSeen:
		case <-time.After(10 * time.Second):
			pw.CloseWithError(errors.New("the handler never saw the first megabyte"))
			return
		}
		for i := 0; i < 7; i++ {
			pw.Write(make([]byte, 1<<20))
		}
		pw.Close()
	}()
	resp, m := do(t, http.MethodPost, srv.URL+"/putMedia/cam-1", pr, map[string]string{"X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"})
	if resp.StatusCode != 200 || m["Bytes"] != strconv.Itoa(8<<20) || m["Stream"] != "cam-1" {
		t.Fatalf("PutMedia: %d %v", resp.StatusCode, m)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/getMedia/cam-1", nil)
	req.Header.Set("X-Amz-Date", "20260101T000000Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/toy/aws4_request, SignedHeaders=host, Signature=abc")
	gr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer gr.Body.Close()
	if gr.Header.Get("Content-Type") != "video/webm" || gr.ContentLength != -1 {
		t.Errorf("GetMedia headers: %v (length %d)", gr.Header, gr.ContentLength)
	}
	br := bufio.NewReader(gr.Body)
	for i, want := range []string{"fragment-1\n", "fragment-2\n"} {
		if line, err := br.ReadString('\n'); line != want {
			t.Fatalf("GetMedia chunk %q %v, want %q", line, err, want)
		}
		if i == 0 {
			close(clientGotFirst)
		}
	}
}
