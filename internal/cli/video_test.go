package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	kv "github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
	"github.com/coder/websocket"

	"github.com/rheos/rheos/internal/cli/webrtcdemo"
	"github.com/rheos/rheos/internal/config"
	"github.com/rheos/rheos/internal/server"
)

// startTestServer runs an in-process server on a free loopback port.
func startTestServer(t *testing.T) string {
	t.Helper()
	cfg := config.Default()
	cfg.Addr, cfg.DataDir, cfg.AdminAddr = "127.0.0.1:0", t.TempDir(), "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler), server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		srv.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + srv.Addr()
}

// TestWebRTCDemoSession: the demo's session for a page names the channel,
// gives a fresh viewer client id per load, the WSS endpoint, a presigned
// URL the server accepts for a WebSocket, and GetIceServerConfig's TURN
// and STUN servers; the handler serves the page, the library (with its
// LICENSE and NOTICE) and the session, and answers 502 when a session
// cannot be made. An unknown channel fails the command at start.
func TestWebRTCDemoSession(t *testing.T) {
	endpoint := startTestServer(t)
	ctx := context.Background()
	c := kv.New(kv.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("rheos", "rheos", "")})
	out, err := c.CreateSignalingChannel(ctx, &kv.CreateSignalingChannelInput{ChannelName: aws.String("porch")})
	if err != nil {
		t.Fatal(err)
	}
	d := &demo{channel: "porch", region: "us-east-1", kv: c, httpc: http.DefaultClient, creds: aws.Credentials{AccessKeyID: "AKIDDEMO", SecretAccessKey: "demo-secret-xyz"}, warn: io.Discard}
	var s webrtcdemo.Session
	for deadline := time.Now().Add(5 * time.Second); ; {
		if s, err = d.session(ctx); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // the channel is CREATING
	}
	if err != nil {
		t.Fatal(err)
	}
	if s.ChannelARN != *out.ChannelARN || s.ChannelName != "porch" || !strings.HasPrefix(s.ClientID, "viewer-") ||
		s.Endpoint != strings.Replace(endpoint, "http", "ws", 1) {
		t.Fatalf("session %+v", s)
	}
	u, err := url.Parse(s.SignedURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("X-Amz-ClientId") != s.ClientID || q.Get("X-Amz-ChannelARN") != s.ChannelARN || q.Get("X-Amz-Expires") != "299" || q.Get("X-Amz-Signature") == "" {
		t.Fatalf("signed URL %s", s.SignedURL)
	}
	var turn, stun bool
	for _, srv := range s.ICEServers {
		for _, u := range srv.URLs {
			turn = turn || strings.HasPrefix(u, "turn:") && srv.Username != "" && srv.Credential != ""
			stun = stun || strings.HasPrefix(u, "stun:")
		}
	}
	if !turn || !stun {
		t.Fatalf("ICE servers %+v", s.ICEServers)
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(dctx, s.SignedURL, nil)
	if err != nil {
		t.Fatalf("the presigned URL: %v", err)
	}
	ws.Close(websocket.StatusNormalClosure, "")

	page := httptest.NewServer(webrtcdemo.Handler(d.session))
	defer page.Close()
	for path, want := range map[string]string{
		"/":                       `<script src="kvs-webrtc.min.js">`,
		"/viewer.js":              "requestSigner",
		"/kvs-webrtc.min.js":      "v" + webrtcdemo.LibraryVersion,
		"/kvs-webrtc.LICENSE.txt": "Apache License",
		"/kvs-webrtc.NOTICE.txt":  "Amazon Kinesis Video Streams WebRTC SDK for JavaScript",
	} {
		body := get(t, page.URL+path, http.StatusOK)
		if !strings.Contains(body, want) {
			t.Errorf("GET %s: no %q", path, want)
		}
	}
	var s1, s2 webrtcdemo.Session
	json.Unmarshal([]byte(get(t, page.URL+"/session", http.StatusOK)), &s1)
	json.Unmarshal([]byte(get(t, page.URL+"/session", http.StatusOK)), &s2)
	if s1.ClientID == "" || s1.ClientID == s2.ClientID || s1.SignedURL == "" {
		t.Fatalf("sessions %+v %+v", s1, s2)
	}
	if strings.Contains(get(t, page.URL+"/session", http.StatusOK), "demo-secret-xyz") {
		t.Error("the session carries the secret")
	}

	bad := httptest.NewServer(webrtcdemo.Handler((&demo{channel: "nope", region: "us-east-1", kv: c, httpc: http.DefaultClient, warn: io.Discard}).session))
	defer bad.Close()
	if body := get(t, bad.URL+"/session", http.StatusBadGateway); !strings.Contains(body, "nope") {
		t.Errorf("502 body %q", body)
	}
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"video", "webrtc-demo", "nope", "--endpoint", endpoint, "--listen", "127.0.0.1:0"}, strings.NewReader(""), &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "describing channel nope") {
		t.Fatalf("unknown channel: exit %d, %q", code, stderr.String())
	}
}

func get(t *testing.T, u string, status int) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("GET %s: %d, want %d: %s", u, resp.StatusCode, status, b)
	}
	return string(b)
}

// TestVideoHelp: `rheos video -h` lists webrtc-demo; its own -h exits 0;
// a missing channel or an unknown subcommand is an error.
func TestVideoHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main([]string{"video", "-h"}, strings.NewReader(""), &out, &errOut); code != 0 || !strings.Contains(out.String(), "rheos video webrtc-demo CHANNEL") {
		t.Fatalf("video -h: exit %d %q", code, out.String())
	}
	errOut.Reset()
	if code := Main([]string{"video", "webrtc-demo", "--help"}, strings.NewReader(""), &out, &errOut); code != 0 || !strings.Contains(errOut.String(), "--listen") {
		t.Fatalf("webrtc-demo --help: exit %d %q", code, errOut.String())
	}
	for _, args := range [][]string{{"video"}, {"video", "nope"}, {"video", "webrtc-demo"}} {
		if code := Main(args, strings.NewReader(""), &out, &errOut); code != 1 {
			t.Errorf("rheos %v: exit %d", args, code)
		}
	}
}

// TestEmbeddedLibraryIsNPMs: the embedded kvs-webrtc.min.js, LICENSE and
// NOTICE are byte for byte those of the npm package
// amazon-kinesis-video-streams-webrtc (when scripts/test-deps.sh has
// installed it in e2e/testdata/webrtc).
func TestEmbeddedLibraryIsNPMs(t *testing.T) {
	pkg := "../../e2e/testdata/webrtc/node_modules/amazon-kinesis-video-streams-webrtc/"
	manifest, err := os.ReadFile(pkg + "package.json")
	if err != nil {
		t.Skip("the npm package is not installed (scripts/test-deps.sh): ", err)
	}
	var m struct{ Version string }
	json.Unmarshal(manifest, &m)
	if m.Version != webrtcdemo.LibraryVersion {
		t.Fatalf("npm has %s, embedded %s", m.Version, webrtcdemo.LibraryVersion)
	}
	for npm, embedded := range map[string]string{"dist/kvs-webrtc.min.js": "kvs-webrtc.min.js", "dist/kvs-webrtc.LICENSE": "kvs-webrtc.LICENSE",
		"LICENSE.txt": "kvs-webrtc.LICENSE.txt", "NOTICE.txt": "kvs-webrtc.NOTICE.txt"} {
		a, err := os.ReadFile(pkg + npm)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile("webrtcdemo/assets/" + embedded)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("webrtcdemo/assets/%s differs from the npm package's %s", embedded, npm)
		}
	}
}
