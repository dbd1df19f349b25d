package awsproto

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rheos/rheos/internal/awserr"
)

// stubHandler records that it was reached.
type stubHandler struct{ name string }

func (h stubHandler) ServeAWS(w http.ResponseWriter, r *http.Request, req *Request) {
	w.Header().Set("X-Served-By", h.name)
	w.WriteHeader(200)
}

func (h stubHandler) WriteError(w http.ResponseWriter, r *http.Request, e *awserr.Error) {
	w.Header().Set("X-Served-By", h.name)
	WriteJSONError(w, "application/json", e.StatusIn(awserr.JSONRPC), e)
}

func familyRouter() *Router {
	rt := NewRouter(&Env{})
	for _, ep := range []Endpoint{
		{SigningName: "kinesis", TargetPrefixes: []string{"Kinesis_20131202"}},
		{SigningName: "firehose", TargetPrefixes: []string{"Firehose_20150804"}},
		{SigningName: "kinesisanalytics", TargetPrefixes: []string{"KinesisAnalics_20150814", "KinesisAnalytics_20180523"}},
		{SigningName: "lambda", PathPrefixes: []string{"/2015-03-31/functions", "/2015-03-31/event-source-mappings"}},
		{SigningName: "kinesisvideo", PathPrefixes: []string{"/createStream", "/describeStream", "/getMedia", "/putMedia"}},
		{SigningName: "s3", PathPrefixes: []string{"/rheos-s3/"}},
		{SigningName: "glue", TargetPrefixes: []string{"AWSGlue"}},
	} {
		ep.Handler = stubHandler{ep.SigningName}
		rt.Register(ep)
	}
	return rt
}

func signed(r *http.Request, service string) {
	r.Header.Set("X-Amz-Date", "20260101T000000Z")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/"+service+"/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc")
}

// TestRouterBySigningName: a request signed for each service reaches that
// service, whatever its path or target, on the one port.
func TestRouterBySigningName(t *testing.T) {
	rt := familyRouter()
	for _, svc := range []string{"kinesis", "firehose", "kinesisanalytics", "lambda", "kinesisvideo", "s3", "glue"} {
		for _, path := range []string{"/", "/some/path"} {
			r := httptest.NewRequest(http.MethodPost, path, strings.NewReader("{}"))
			signed(r, svc)
			w := httptest.NewRecorder()
			rt.ServeHTTP(w, r)
			if got := w.Header().Get("X-Served-By"); got != svc || w.Code != 200 {
				t.Errorf("signed for %s at %s: served by %q (%d)", svc, path, got, w.Code)
			}
			if w.Header().Get("x-amzn-RequestId") == "" {
				t.Errorf("signed for %s: no request id", svc)
			}
		}
	}
	// Presigned URLs carry the scope in the query.
	r := httptest.NewRequest(http.MethodGet, "/getMedia?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fkinesisvideo%2Faws4_request", nil)
	w := httptest.NewRecorder()
	rt.ServeHTTP(w, r)
	if got := w.Header().Get("X-Served-By"); got != "kinesisvideo" {
		t.Errorf("presigned for kinesisvideo: served by %q", got)
	}
}

// TestRouterUnsigned: without a credential scope the target, then the
// longest path prefix, then the fallback (the first service) decide.
func TestRouterUnsigned(t *testing.T) {
	rt := familyRouter()
	for _, tc := range []struct{ target, path, want string }{
		{"Firehose_20150804.PutRecord", "/", "firehose"},
		{"Kinesis_20131202.PutRecord", "/", "kinesis"},
		{"KinesisAnalytics_20180523.ListApplications", "/", "kinesisanalytics"},
		{"", "/2015-03-31/functions/f/invocations", "lambda"},
		{"", "/putMedia", "kinesisvideo"},
		{"", "/", "kinesis"},
		{"Nope_1.Op", "/", "kinesis"},
	} {
		r := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader("{}"))
		if tc.target != "" {
			r.Header.Set("X-Amz-Target", tc.target)
		}
		w := httptest.NewRecorder()
		rt.ServeHTTP(w, r)
		if got := w.Header().Get("X-Served-By"); got != tc.want {
			t.Errorf("%s %s: served by %q, want %s", tc.target, tc.path, got, tc.want)
		}
	}
}

// TestRouterRefusals: a scope naming no service served here is an
// UnknownServiceException; a scope naming one service on a request
// addressed (by target or path) to another is AWS's InvalidSignatureException
// in the addressed service's protocol.
func TestRouterRefusals(t *testing.T) {
	rt := familyRouter()
	decode := func(w *httptest.ResponseRecorder) map[string]string {
		b, _ := io.ReadAll(w.Result().Body)
		var m map[string]string
		json.Unmarshal(b, &m)
		return m
	}
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
	signed(r, "dynamodb")
	w := httptest.NewRecorder()
	rt.ServeHTTP(w, r)
	if m := decode(w); w.Code != 400 || m["__type"] != "UnknownServiceException" || !strings.Contains(m["message"], "'dynamodb'") ||
		!strings.Contains(m["message"], "firehose, glue, kinesis") || w.Header().Get("x-amzn-ErrorType") != "UnknownServiceException" {
		t.Errorf("unknown service: %d %v", w.Code, m)
	}
	r = httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
	r.Header.Set("X-Amz-Target", "Kinesis_20131202.ListStreams")
	signed(r, "firehose")
	w = httptest.NewRecorder()
	rt.ServeHTTP(w, r)
	if m := decode(w); w.Code != 400 || m["__type"] != "InvalidSignatureException" || m["message"] != "Credential should be scoped to correct service: 'kinesis'. " ||
		w.Header().Get("X-Served-By") != "kinesis" {
		t.Errorf("kinesis target signed for firehose: %d %v", w.Code, m)
	}
	r = httptest.NewRequest(http.MethodGet, "/2015-03-31/functions/f", nil)
	signed(r, "kinesis")
	w = httptest.NewRecorder()
	rt.ServeHTTP(w, r)
	if m := decode(w); m["message"] != "Credential should be scoped to correct service: 'lambda'. " || w.Header().Get("X-Served-By") != "lambda" {
		t.Errorf("lambda path signed for kinesis: %d %v", w.Code, m)
	}
}

// TestRouterRegisterTwice: two services cannot claim one name or target.
func TestRouterRegisterTwice(t *testing.T) {
	for _, ep := range []Endpoint{
		{SigningName: "kinesis"},
		{SigningName: "other", TargetPrefixes: []string{"Firehose_20150804"}},
		{SigningName: "other2", PathPrefixes: []string{"/2015-03-31/functions"}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%+v registered twice without a panic", ep)
				}
			}()
			familyRouter().Register(ep)
		}()
	}
}

func TestScopeOf(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/firehose/aws4_request,SignedHeaders=host,Signature=x")
	if sc := ScopeOf(r); sc != (Scope{"AKID", "20260101", "eu-west-1", "firehose"}) {
		t.Errorf("scope %+v", sc)
	}
	r.Header.Set("Authorization", ",,,")
	if sc := ScopeOf(r); sc != (Scope{}) {
		t.Errorf("scope of garbage %+v", sc)
	}
}
