package restjson

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/rheos/rheos/internal/awsproto"
)

// FuzzRequest feeds arbitrary paths, queries, headers and bodies to the
// REST-JSON decoder (routing, label unescaping, header/query conversion,
// body binding): every answer is a success or an AWS-shaped client error,
// never a panic or a 5xx.
func FuzzRequest(f *testing.F) {
	f.Add("PUT", "/b/my-bucket/a/b%20c", "id=1&id=2", "true", "Thu, 01 Jan 2026 00:00:10 GMT", `{"Note":"hi"}`)
	f.Add("GET", "/2015-03-31/functions/echo", "Qualifier=7", "", "", "")
	f.Add("POST", "/2015-03-31/functions/echo/invocations", "", "Tail", "Event", `{"a":1}`)
	f.Add("GET", "/2015-03-31/functions", "MaxItems=99999999999999999999", "x", "1e400", "[")
	f.Add("PUT", "/b/%zz/%", "id=%", "\x00", "-1", `{"Note":null}`)
	f.Fuzz(func(t *testing.T, method, path, query, h1, h2, body string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		if _, err := url.ParseRequestURI(path + "?" + query); err != nil {
			return
		}
		switch method {
		case "GET", "PUT", "POST", "DELETE":
		default:
			return
		}
		rt := awsproto.NewRouter(&awsproto.Env{})
		rt.Register(toyLambda(t).Endpoint())
		req, err := http.NewRequest(method, "http://x"+path+"?"+query, strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("X-Amz-Date", "20260101T000000Z")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=abc")
		for k, v := range map[string]string{"X-Amz-Log-Type": h1, "X-Amz-Invocation-Type": h2, "X-Force": h1, "X-Since": h2} {
			if v != "" && !strings.ContainsAny(v, "\r\n") {
				req.Header.Set(k, v)
			}
		}
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s?%s: %d %s", method, path, query, w.Code, w.Body.String())
		}
		if w.Code >= 400 && w.Header().Get("X-Amzn-Errortype") == "" {
			t.Fatalf("%s %s?%s: %d without an error type", method, path, query, w.Code)
		}
	})
}
