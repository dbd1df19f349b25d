package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

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
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
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
