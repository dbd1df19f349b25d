package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The answers AWS gave to malformed Kinesis requests, as kinesalite's
// test/connection.js recorded them against production (CBOR bytes in 2018,
// the rest as brought up to date in December 2019).
const (
	xmlAccessDenied = "<AccessDeniedException>\n  <Message>Unable to determine service/operation name to be authorized</Message>\n</AccessDeniedException>\n"
	msgM1           = "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=X"
	msgQ1           = "AWS query-string parameters must include 'X-Amz-Algorithm'. AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters must include 'X-Amz-Signature'. AWS query-string parameters must include 'X-Amz-SignedHeaders'. AWS query-string parameters must include 'X-Amz-Date'. Re-examine the query-string parameters."
)

func cborType(name string) string { // AWS's indefinite-length map {"__type": name}
	b := []byte{0xbf, 0x66}
	b = append(b, "__type"...)
	if len(name) < 24 {
		b = append(b, 0x60|byte(len(name)))
	} else {
		b = append(b, 0x78, byte(len(name)))
	}
	return string(append(append(b, name...), 0xff))
}

// TestMalformedRequestsAsAWS replays kinesalite's connection tests: each
// request, and the status, content type and exact body AWS answered.
func TestMalformedRequestsAsAWS(t *testing.T) {
	ts := newServer(t)
	const (
		json11 = "application/x-amz-json-1.1"
		cbor11 = "application/x-amz-cbor-1.1"
		list   = "Kinesis_20131202.ListStreams"
	)
	unknownCBOR, serialCBOR := cborType("UnknownOperationException"), cborType("SerializationException")
	missing := `{"__type":"MissingAuthenticationTokenException","message":"Missing Authentication Token"}`
	incomplete := func(m string) string { return `{"__type":"IncompleteSignatureException","message":"` + m + `"}` }
	for _, tc := range []struct {
		name, method, path, ct, target, body string
		signed                               bool
		hdr                                  map[string]string
		status                               int
		wantCT                               string // "-": no Content-Type
		want                                 string
		jsonBody                             bool // compare as JSON documents
	}{
		{name: "POST with no auth", method: "POST", status: 400, wantCT: cbor11, want: unknownCBOR},
		{name: "GET", method: "GET", signed: true, status: 403, wantCT: "-", want: xmlAccessDenied},
		{name: "PUT", method: "PUT", signed: true, status: 403, wantCT: "-", want: xmlAccessDenied},
		{name: "DELETE", method: "DELETE", signed: true, status: 403, wantCT: "-", want: xmlAccessDenied},
		{name: "POST with no body", method: "POST", signed: true, status: 400, wantCT: cbor11, want: unknownCBOR},
		{name: "body and no Content-Type (aws4 sends form-urlencoded)", method: "POST", signed: true, ct: "application/x-www-form-urlencoded; charset=utf-8", body: "{}", status: 403, wantCT: "-", want: xmlAccessDenied},
		{name: "x-amz-json-1.0 Content-Type", method: "POST", signed: true, ct: "application/x-amz-json-1.0", status: 400, wantCT: cbor11, want: unknownCBOR},
		{name: "random Content-Type", method: "POST", signed: true, ct: "application/x-amz-json-1.1asdf", status: 400, wantCT: cbor11, want: unknownCBOR},
		{name: "random target", method: "POST", signed: true, target: "Whatever", status: 400, wantCT: cbor11, want: unknownCBOR},
		{name: "real service with empty action", method: "POST", signed: true, target: "Kinesis_20131202.", status: 400, wantCT: cbor11, want: unknownCBOR},
		{name: "random action", method: "POST", signed: true, target: "Kinesis_20131202.Whatever", status: 400, wantCT: cbor11, want: unknownCBOR},
		{name: "random service with random action", method: "POST", signed: true, target: "Whatever.Whatever", status: 400, wantCT: cbor11, want: unknownCBOR},
		{name: "incomplete action", method: "POST", signed: true, target: "Kinesis_20131202.ListStream", status: 400, wantCT: cbor11, want: unknownCBOR},
		{name: "valid target, no Content-Type, no body", method: "POST", signed: true, target: list, status: 400, wantCT: cbor11, want: serialCBOR},
		{name: "no target, json 1.1", method: "POST", signed: true, ct: json11, status: 400, wantCT: json11, want: `{"__type":"UnknownOperationException"}`, jsonBody: true},
		{name: "no target, json 1.1, no auth", method: "POST", ct: json11, status: 400, wantCT: json11, want: `{"__type":"UnknownOperationException"}`, jsonBody: true},
		{name: "no target and application/json", method: "POST", signed: true, ct: "application/json", status: 400, wantCT: cbor11, want: unknownCBOR},
		{name: "valid target and application/json, no body", method: "POST", signed: true, ct: "application/json", target: list, status: 400, wantCT: cbor11, want: serialCBOR},
		{name: "no body, json 1.1", method: "POST", signed: true, ct: json11, target: list, status: 400, wantCT: json11, want: `{"__type":"SerializationException"}`, jsonBody: true},
		{name: "no body, json 1.1, no auth", method: "POST", ct: json11, target: list, status: 400, wantCT: json11, want: `{"__type":"SerializationException"}`, jsonBody: true},
		{name: "non-JSON body", method: "POST", ct: json11, target: list, body: "hello", status: 400, wantCT: json11, want: `{"__type":"SerializationException"}`, jsonBody: true},
		{name: "valid target and body and application/json", method: "POST", ct: "application/json", target: list, body: "{}", status: 404, wantCT: "application/json",
			want: `{"Output":{"__type":"com.amazon.coral.service#UnknownOperationException"},"Version":"1.0"}`},
		{name: "non-JSON body and application/json", method: "POST", ct: "application/json", target: list, body: "hello", status: 400, wantCT: "application/json",
			want: `{"Output":{"__type":"com.amazon.coral.service#SerializationException"},"Version":"1.0"}`},
		{name: "non-JSON body and application/json with spaces", method: "POST", ct: "     application/json     ;", target: list, body: "hello", status: 400, wantCT: "application/json",
			want: `{"Output":{"__type":"com.amazon.coral.service#SerializationException"},"Version":"1.0"}`},
		{name: "no auth", method: "POST", ct: json11, target: list, body: "{}", status: 400, wantCT: json11, want: missing, jsonBody: true},
		{name: "no auth, content type with spaces", method: "POST", ct: "   application/x-amz-json-1.1   ;whatever", target: list, body: "{}", status: 400, wantCT: json11, want: missing, jsonBody: true},
		{name: "invalid auth", method: "POST", ct: json11, target: list, body: "{}", hdr: map[string]string{"Authorization": "X"}, status: 400, wantCT: json11, want: incomplete(msgM1), jsonBody: true},
		{name: "incomplete auth header and query", method: "POST", path: "/?X-Amz-Algorith", ct: json11, target: list, body: "{}", hdr: map[string]string{"Authorization": "X"}, status: 400, wantCT: json11, want: incomplete(msgM1), jsonBody: true},
		{name: "all query params except X-Amz-Algorithm", method: "POST", path: "/?X-Amz-Credential=a&X-Amz-Signature=b&X-Amz-SignedHeaders=c&X-Amz-Date=d", ct: json11, target: list, body: "{}", status: 400, wantCT: json11, want: missing, jsonBody: true},
		{name: "both auth header and query", method: "POST", path: "/?X-Amz-Algorithm", ct: json11, target: list, body: "{}", hdr: map[string]string{"Authorization": "X"}, status: 400, wantCT: json11,
			want: `{"__type":"InvalidSignatureException","message":"Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."}`, jsonBody: true},
		{name: "header AWS4- Signature=b Credential=a", method: "POST", ct: json11, target: list, body: "{}", hdr: map[string]string{"Authorization": "AWS4- Signature=b Credential=a", "Date": "a"}, status: 400, wantCT: json11,
			want: incomplete("Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4- Signature=b Credential=a"), jsonBody: true},
		{name: "header AWS4- Signature=b,Credential=a", method: "POST", ct: json11, target: list, body: "{}", hdr: map[string]string{"Authorization": "AWS4- Signature=b,Credential=a", "Date": "a"}, status: 400, wantCT: json11,
			want: incomplete("Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4- Signature=b,Credential=a"), jsonBody: true},
		{name: "header AWS4- Signature=b, Credential=a", method: "POST", ct: json11, target: list, body: "{}", hdr: map[string]string{"Authorization": "AWS4- Signature=b, Credential=a", "Date": "a"}, status: 400, wantCT: json11,
			want: incomplete("Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4- Signature=b, Credential=a"), jsonBody: true},
		{name: "empty X-Amz-Algorithm query", method: "POST", path: "/?X-Amz-Algorithm", ct: json11, target: list, body: "{}", status: 400, wantCT: json11, want: incomplete(msgQ1), jsonBody: true},
		{name: "missing X-Amz-SignedHeaders query", method: "POST", path: "/?X-Amz-Algorithm=a&X-Amz-Credential=b&X-Amz-Signature=c&X-Amz-Date=d", ct: json11, target: list, body: "{}", status: 400, wantCT: json11,
			want: incomplete("AWS query-string parameters must include 'X-Amz-SignedHeaders'. Re-examine the query-string parameters."), jsonBody: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = "/"
			}
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, _ := http.NewRequest(tc.method, ts.url+path, body)
			if tc.ct != "" {
				req.Header.Set("Content-Type", tc.ct)
			}
			if tc.target != "" {
				req.Header.Set("X-Amz-Target", tc.target)
			}
			if tc.signed {
				req.Header.Set("X-Amz-Date", "20191209T143117Z")
				req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20191209/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd")
			}
			for k, v := range tc.hdr {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			ct, hasCT := resp.Header["Content-Type"]
			switch {
			case resp.StatusCode != tc.status:
				t.Errorf("status %d, want %d (%q)", resp.StatusCode, tc.status, got)
			case tc.wantCT == "-" && hasCT:
				t.Errorf("Content-Type %q, want none", ct)
			case tc.wantCT != "-" && resp.Header.Get("Content-Type") != tc.wantCT:
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tc.wantCT)
			case tc.jsonBody && !sameJSON(got, tc.want), !tc.jsonBody && string(got) != tc.want:
				t.Errorf("body %q (%s), want %q", got, hex.EncodeToString(got), tc.want)
			}
			if resp.Header.Get("Content-Length") != itoa(len(got)) {
				t.Errorf("Content-Length %q for %d bytes", resp.Header.Get("Content-Length"), len(got))
			}
			if !regexp.MustCompile(`^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$`).MatchString(resp.Header.Get("x-amzn-RequestId")) {
				t.Errorf("x-amzn-RequestId %q", resp.Header.Get("x-amzn-RequestId"))
			}
			if id2, err := base64.StdEncoding.DecodeString(resp.Header.Get("x-amz-id-2")); err != nil || len(id2) <= 64 || len(id2) >= 80 {
				t.Errorf("x-amz-id-2 %q", resp.Header.Get("x-amz-id-2"))
			}
		})
	}
}

// TestCORSAsAWS: a preflight is answered 200 with an empty body whatever
// its signature, echoing the requested headers and method, without
// x-amz-id-2 or a Content-Type; other requests with an Origin carry the
// expose list.
func TestCORSAsAWS(t *testing.T) {
	ts := newServer(t)
	for _, tc := range []struct {
		name   string
		signed bool
		hdr    map[string]string
	}{
		{"no auth", false, nil},
		{"auth", true, nil},
		{"headers", true, map[string]string{"Access-Control-Request-Headers": "a, b, c"}},
		{"headers and method", true, map[string]string{"Access-Control-Request-Headers": "a, b, c", "Access-Control-Request-Method": "d"}},
	} {
		req, _ := http.NewRequest(http.MethodOptions, ts.url+"/", nil)
		req.Header.Set("Origin", "whatever")
		if tc.signed {
			req.Header.Set("X-Amz-Date", "20191209T143117Z")
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20191209/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd")
		}
		for k, v := range tc.hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		h := resp.Header
		_, hasCT := h["Content-Type"]
		if resp.StatusCode != 200 || len(b) != 0 || h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Max-Age") != "172800" ||
			h.Get("Content-Length") != "0" || h.Get("x-amz-id-2") != "" || hasCT || h.Get("x-amzn-RequestId") == "" ||
			h.Get("Access-Control-Allow-Headers") != tc.hdr["Access-Control-Request-Headers"] || h.Get("Access-Control-Allow-Methods") != tc.hdr["Access-Control-Request-Method"] {
			t.Errorf("preflight %s: %d %q %v", tc.name, resp.StatusCode, b, h)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, ts.url+"/", nil)
	req.Header.Set("Origin", "whatever")
	req.Header.Set("X-Amz-Date", "20191209T143117Z")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20191209/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || string(b) != cborType("UnknownOperationException") || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		resp.Header.Get("Access-Control-Expose-Headers") != "x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date" {
		t.Errorf("POST with Origin: %d %x %v", resp.StatusCode, b, resp.Header)
	}
}

func sameJSON(a []byte, b string) bool {
	return bytes.Equal(compactJSON(a), compactJSON([]byte(b)))
}

// compactJSON re-encodes a JSON document with its keys sorted.
func compactJSON(b []byte) []byte {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return b
	}
	out, _ := json.Marshal(v)
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
