package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/rheos/rheos/internal/config"
	"github.com/rheos/rheos/internal/server"
)

// signedCall sends a JSON-RPC request really signed (SigV4) for service.
func signedCall(t *testing.T, url, service, target, body string, creds aws.Credentials) (int, map[string]string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := map[string]string{}
	json.Unmarshal(b, &m)
	if m["__type"] == "" {
		m["__type"] = "(none)"
		m["body"] = string(b)
	}
	return resp.StatusCode, m
}

// TestRoutingBySigningService: on the one port, a request signed for
// kinesis reaches Kinesis; one signed for a service not served here is
// refused by name; one signed for another service but addressed to Kinesis
// gets AWS's "scoped to correct service" answer — both with signatures
// verified and without.
func TestRoutingBySigningService(t *testing.T) {
	for _, mode := range []string{"none", "verify"} {
		t.Run(mode, func(t *testing.T) {
			ts := startServer(t, t.TempDir(), func(c *config.Config) {
				c.AuthMode = mode
				c.RootAccessKeyID, c.RootSecretAccessKey = "AKIDROOT", "root-secret"
			})
			creds := aws.Credentials{AccessKeyID: "AKIDROOT", SecretAccessKey: "root-secret"}
			status, m := signedCall(t, ts.url, "kinesis", "Kinesis_20131202.ListStreams", "{}", creds)
			if status != 200 || m["body"] == "" {
				t.Errorf("kinesis: %d %v", status, m)
			}
			// Lambda is served: a signed request reaches its REST-JSON router.
			if status, m := signedCall(t, ts.url, "lambda", "", "{}", creds); status != 404 || m["__type"] != "UnknownOperationException" {
				t.Errorf("lambda, POST /: %d %v", status, m)
			}
			// Firehose is served: a signed request without a target reaches its
			// JSON-RPC service.
			if status, m := signedCall(t, ts.url, "firehose", "", "{}", creds); status != 400 || m["__type"] != "UnknownOperationException" {
				t.Errorf("firehose with no target: %d %v", status, m)
			}
			if status, m := signedCall(t, ts.url, "firehose", "Firehose_20150804.ListDeliveryStreams", "{}", creds); status != 200 {
				t.Errorf("firehose: %d %v", status, m)
			}
			if status, m := signedCall(t, ts.url, "firehose", "Kinesis_20131202.ListStreams", "{}", creds); status != 400 || m["__type"] != "InvalidSignatureException" {
				t.Errorf("firehose-scoped Kinesis call: %d %v", status, m)
			}
			// Video Streams is served (REST-JSON): POST / is no operation of it.
			if status, m := signedCall(t, ts.url, "kinesisvideo", "", "{}", creds); status != 404 || m["__type"] != "UnknownOperationException" {
				t.Errorf("kinesisvideo, POST /: %d %v", status, m)
			}
			for _, svc := range []string{"kinesisvideo", "dynamodb"} {
				status, m = signedCall(t, ts.url, svc, "", "{}", creds)
				if svc == "dynamodb" && (status != 400 || m["__type"] != "UnknownServiceException" || !strings.Contains(m["message"], "'"+svc+"'") || !strings.Contains(m["message"], "kinesis")) {
					t.Errorf("%s with no target: %d %v", svc, status, m)
				}
				status, m = signedCall(t, ts.url, svc, "Kinesis_20131202.ListStreams", "{}", creds)
				if status != 400 || m["__type"] != "InvalidSignatureException" || m["message"] != "Credential should be scoped to correct service: 'kinesis'. " {
					t.Errorf("%s with a Kinesis target: %d %v", svc, status, m)
				}
			}
			if mode == "verify" {
				status, m = signedCall(t, ts.url, "kinesis", "Kinesis_20131202.ListStreams", "{}", aws.Credentials{AccessKeyID: "AKIDROOT", SecretAccessKey: "wrong"})
				if status != 400 || m["__type"] != "InvalidSignatureException" {
					t.Errorf("wrong secret: %d %v", status, m)
				}
			}
		})
	}
}

// serverGoroutines lists the stacks of goroutines running server code.
func serverGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		s := string(g)
		if strings.Contains(s, "rheos/internal/server.") && !strings.Contains(s, "_test.go") {
			out = append(out, s)
		}
	}
	return out
}

// TestShutdownStopsEveryGoroutine: with the API, TLS, admin and pprof
// listeners and every periodic task running, a cancelled Serve leaves no
// goroutine of the server behind (the run group owns them all).
func TestShutdownStopsEveryGoroutine(t *testing.T) {
	cfg := config.Default()
	cfg.Addr, cfg.DataDir = "127.0.0.1:0", t.TempDir()
	cfg.AdminAddr, cfg.PprofAddr, cfg.TLSAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, slog.New(slog.DiscardHandler), server.Options{
		Reload: func() (config.Config, error) { return cfg, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(serverGoroutines()) < 5 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(serverGoroutines()); n < 5 {
		t.Fatalf("only %d server goroutines started", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for len(serverGoroutines()) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if left := serverGoroutines(); len(left) > 0 {
		t.Fatalf("%d server goroutines outlived Serve:\n%s", len(left), strings.Join(left, "\n\n"))
	}
}
