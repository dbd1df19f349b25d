package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/rheos/rheos/internal/config"
	"github.com/rheos/rheos/internal/server"
)

// TestConsoleBackend: in-process, with --auth verify, a console session
// acts as its principal through the router (a call its policies do not
// allow is refused as for an SDK), the configuration it shows has every
// secret redacted, and only a root sees it.
func TestConsoleBackend(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *config.Config) {
		c.AuthMode = "verify"
		c.RootAccessKeyID, c.RootSecretAccessKey = "AKIDROOT", "root-secret-value"
		c.Principals = []config.Principal{{Name: "reader", AccessKeyID: "AKIDREADER", SecretAccessKey: "reader-secret-value",
			Policies: []json.RawMessage{json.RawMessage(`{"Statement":[{"Effect":"Allow","Action":"kinesis:List*","Resource":"*"}]}`)}}}
	})
	base := ts.url + "/console/"
	session := func(key, secret string) (*http.Client, string) { return consoleSession(t, base, key, secret) }
	call := func(hc *http.Client, csrf, op, body string) (int, string) {
		return consoleKinesis(t, hc, base, csrf, op, body)
	}
	reader, rcsrf := session("AKIDREADER", "reader-secret-value")
	if code, body := call(reader, rcsrf, "ListStreams", `{}`); code != 200 {
		t.Fatalf("ListStreams as reader: %d %s", code, body)
	}
	if code, body := call(reader, rcsrf, "CreateStream", `{"StreamName":"s","ShardCount":1}`); code != 400 ||
		!strings.Contains(body, "AccessDeniedException") || !strings.Contains(body, "user/reader") {
		t.Fatalf("CreateStream as reader: %d %s", code, body)
	}
	if resp, _ := reader.Get(base + "api/info/config"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("config as reader: %d", resp.StatusCode)
	}
	root, csrf := session("AKIDROOT", "root-secret-value")
	if code, body := call(root, csrf, "CreateStream", `{"StreamName":"s","ShardCount":1}`); code != 200 {
		t.Fatalf("CreateStream as root: %d %s", code, body)
	}
	resp, err := root.Get(base + "api/info/config")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("config as root: %v %v", resp.StatusCode, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(b), "secret-value") || !strings.Contains(string(b), "AKIDREADER") || !strings.Contains(string(b), "(redacted)") {
		t.Fatalf("config shows a secret or no principals: %s", b)
	}
}

// TestConsoleStreamDisk: the stream-disk endpoint reports each stream's
// records (the bytes of its shards' sections in the log, local or tiered),
// a larger stream more than a smaller one, and a stream with no records
// none.
func TestConsoleStreamDisk(t *testing.T) {
	ts := newServer(t)
	ctx := context.Background()
	ts.createStream(t, "big", 2)
	ts.createStream(t, "small", 1)
	ts.createStream(t, "empty", 1)
	put := func(stream string, n, size int) int {
		recs := make([]types.PutRecordsRequestEntry, n)
		for i := range recs {
			recs[i] = types.PutRecordsRequestEntry{PartitionKey: aws.String(fmt.Sprint(i)), Data: make([]byte, size)}
		}
		if _, err := ts.kc.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: recs}); err != nil {
			t.Fatal(err)
		}
		return n * size
	}
	bigData, smallData := put("big", 100, 1000), put("small", 10, 1000)
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	if resp, err := hc.Get(ts.url + "/console/"); err != nil || resp.StatusCode != 200 { // no login on loopback: a session
		t.Fatalf("console: %v %v", resp, err)
	}
	resp, err := hc.Get(ts.url + "/console/api/info/stream-disk")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream-disk: %v %v", resp, err)
	}
	defer resp.Body.Close()
	var got struct {
		Streams []struct {
			Name                    string
			Shards                  int
			LocalBytes, TieredBytes int64
		}
		LocalBytes, TieredBytes int64
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	by := map[string]int64{}
	var sum int64
	for _, s := range got.Streams {
		by[s.Name] = s.LocalBytes + s.TieredBytes
		sum += s.LocalBytes + s.TieredBytes
	}
	// Each record adds its key and a few dozen bytes of headers.
	if b := by["big"]; b < int64(bigData) || b > int64(bigData)*3/2 {
		t.Fatalf("big holds %d bytes for %d of data: %+v", b, bigData, got)
	}
	if b := by["small"]; b < int64(smallData) || b > int64(smallData)*3/2 {
		t.Fatalf("small holds %d bytes for %d of data: %+v", b, smallData, got)
	}
	if b, ok := by["empty"]; !ok || b != 0 || len(got.Streams) != 3 || sum != got.LocalBytes+got.TieredBytes {
		t.Fatalf("stream-disk = %+v", got)
	}
}

// TestStoredHTMLIsSandboxed: the console shares its origin with the AWS
// APIs, so an HTML object a principal put in S3, opened from a presigned
// link, must not run as a document of that origin (it could read the
// console's CSRF token and act as whoever opened it): every response
// outside /console carries CSP sandbox and nosniff; the console's own
// pages do not (they have their own policy).
func TestStoredHTMLIsSandboxed(t *testing.T) {
	ts := startServer(t, t.TempDir(), nil)
	ctx := context.Background()
	sc := s3Client(ts.url)
	if _, err := sc.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("pages")}); err != nil {
		t.Fatal(err)
	}
	page := `<script>fetch("/console/api/session").then(r => r.json()).then(s => alert(s.csrf))</script>`
	if _, err := sc.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("pages"), Key: aws.String("x.html"),
		Body: strings.NewReader(page), ContentType: aws.String("text/html")}); err != nil {
		t.Fatal(err)
	}
	pre, err := s3.NewPresignClient(sc).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("pages"), Key: aws.String("x.html")})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(pre.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != page || resp.Header.Get("Content-Type") != "text/html" {
		t.Fatalf("GetObject: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); csp != "sandbox" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("stored HTML served with CSP %q, nosniff %q", csp, resp.Header.Get("X-Content-Type-Options"))
	}
	resp, err = http.Get(ts.url + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "sandbox") || csp == "" {
		t.Fatalf("console page CSP %q", csp)
	}
}

// consoleSession signs in to the console at base and returns the client
// (with its cookie) and the session's CSRF token.
func consoleSession(t *testing.T, base, key, secret string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	resp, err := hc.PostForm(base+"login", url.Values{"access_key_id": {key}, "secret_access_key": {secret}})
	if err != nil || resp.StatusCode != 200 { // followed to the shell
		t.Fatalf("login %s: %v %v", key, resp.StatusCode, err)
	}
	resp.Body.Close()
	resp, err = hc.Get(base + "api/session")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct {
		CSRF      string
		Principal struct{ Name string }
	}
	json.NewDecoder(resp.Body).Decode(&s)
	if s.CSRF == "" {
		t.Fatalf("no session for %s", key)
	}
	return hc, s.CSRF
}

// consoleKinesis makes a Kinesis call through the console's AWS endpoint.
func consoleKinesis(t *testing.T, hc *http.Client, base, csrf, op, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"api/aws/kinesis", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-CSRF-Token", csrf)
	return send(t, hc, req)
}

// TestConsoleSessionFollowsCredentialReload: console sessions are checked
// against the credential table on every request: a secret rotated under
// the same key id ends the sessions signed in with the old one, and a key
// that stops being the root loses the root's pages at once.
func TestConsoleSessionFollowsCredentialReload(t *testing.T) {
	list := []json.RawMessage{json.RawMessage(`{"Statement":[{"Effect":"Allow","Action":"kinesis:List*","Resource":"*"}]}`)}
	cfg := config.Default()
	cfg.Addr, cfg.DataDir, cfg.AuthMode = "127.0.0.1:0", t.TempDir(), "verify"
	cfg.RootAccessKeyID, cfg.RootSecretAccessKey = "AKIDROOT", "root-secret-value"
	cfg.Principals = []config.Principal{{Name: "reader", AccessKeyID: "AKIDREADER", SecretAccessKey: "reader-secret-value", Policies: list}}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler), server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	base := "http://" + srv.Addr() + "/console/"
	reader, rcsrf := consoleSession(t, base, "AKIDREADER", "reader-secret-value")
	root, csrf := consoleSession(t, base, "AKIDROOT", "root-secret-value")
	if resp, err := root.Get(base + "api/info/config"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("config as root before the reload: %v", err)
	}
	next := cfg
	next.RootAccessKeyID, next.RootSecretAccessKey = "AKIDROOT2", "new-root-secret"
	next.Principals = []config.Principal{
		{Name: "reader", AccessKeyID: "AKIDREADER", SecretAccessKey: "reader-rotated", Policies: list},
		{Name: "demoted", AccessKeyID: "AKIDROOT", SecretAccessKey: "root-secret-value", Policies: list},
	}
	if err := srv.ReloadCredentials(next); err != nil {
		t.Fatal(err)
	}
	if code, body := consoleKinesis(t, reader, base, rcsrf, "ListStreams", `{}`); code != http.StatusUnauthorized || !strings.Contains(body, "/console/login") {
		t.Fatalf("session of a rotated secret: %d %s", code, body)
	}
	if code, body := consoleKinesis(t, root, base, csrf, "ListStreams", `{}`); code != 200 {
		t.Fatalf("demoted key, allowed call: %d %s", code, body)
	}
	if resp, _ := root.Get(base + "api/info/config"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("config as a key that is no longer the root: %d", resp.StatusCode)
	}
	resp, err := root.Get(base + "api/session")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "user/demoted") {
		t.Fatalf("session after the reload: %s", b)
	}
	if code, body := consoleKinesis(t, root, base, csrf, "CreateStream", `{"StreamName":"s","ShardCount":1}`); code != 400 || !strings.Contains(body, "AccessDeniedException") {
		t.Fatalf("demoted key, denied call: %d %s", code, body)
	}
}
