package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/rheos/rheos/internal/config"
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
	session := func(key, secret string) (*http.Client, string) {
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
	call := func(hc *http.Client, csrf, op, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"api/aws/kinesis", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-CSRF-Token", csrf)
		return send(t, hc, req)
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
