package server_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/rheos/rheos/internal/config"
	"github.com/rheos/rheos/internal/server"
)

// selfSignedPool trusts the certificate the server wrote to dataDir.
func selfSignedPool(t *testing.T, dataDir string) *x509.CertPool {
	t.Helper()
	pemBytes, err := os.ReadFile(filepath.Join(dataDir, "tls", "self-signed.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("self-signed.pem holds no certificate")
	}
	return pool
}

// send answers status and body of req.
func send(t *testing.T, hc *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// get answers status and body of a GET.
func get(t *testing.T, hc *http.Client, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	return send(t, hc, req)
}

// unsigned sends ListStreams without any signature.
func unsigned(t *testing.T, hc *http.Client, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Kinesis_20131202.ListStreams")
	return send(t, hc, req)
}

// TestTLSOffLoopbackVerifies (issue 20, point 8): `--tls-addr 0.0.0.0:0`
// without --auth turns verification on for every listener (the plain one
// stays on loopback): unsigned and badly signed requests are refused,
// correctly signed ones served. Without credentials the same command line
// does not start.
func TestTLSOffLoopbackVerifies(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--addr", "127.0.0.1:0", "--tls-addr", "0.0.0.0:0", "--admin-addr", "127.0.0.1:0", "--data-dir", dir}
	creds := map[string]string{"RHEOS_ROOT_ACCESS_KEY_ID": "AKIDROOT", "RHEOS_ROOT_SECRET_ACCESS_KEY": "root-secret"}

	// Without credentials: refused by the configuration, and by server.New
	// for a configuration built in Go.
	if _, err := config.Load(args, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "tls.addr is not a loopback address") {
		t.Fatalf("Load without credentials: %v", err)
	}
	bare := config.Default()
	bare.Addr, bare.TLSAddr, bare.DataDir = "127.0.0.1:0", "0.0.0.0:0", t.TempDir()
	if srv, err := server.New(context.Background(), bare, slog.New(slog.DiscardHandler), server.Options{}); err == nil {
		srv.Close()
		t.Fatal("server.New started off loopback without credentials")
	}

	cfg, err := config.Load(args, func(k string) string { return creds[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AuthMode != "verify" {
		t.Fatalf("auth mode %q, want verify", cfg.AuthMode)
	}
	ts := startServer(t, dir, func(c *config.Config) { *c = cfg })
	_, port, _ := net.SplitHostPort(ts.tls)
	tlsURL := "https://127.0.0.1:" + port
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: selfSignedPool(t, dir)}}}
	ctx := context.Background()
	for _, ep := range []struct {
		url string
		hc  *http.Client
	}{{tlsURL, hc}, {ts.url, http.DefaultClient}} {
		if code, body := unsigned(t, ep.hc, ep.url); code != 400 || !strings.Contains(body, "MissingAuthenticationTokenException") {
			t.Errorf("%s unsigned: %d %s", ep.url, code, body)
		}
		as := func(secret string) *kinesis.Client {
			return kinesis.New(kinesis.Options{Region: "us-east-1", BaseEndpoint: aws.String(ep.url), HTTPClient: ep.hc, Retryer: aws.NopRetryer{},
				Credentials: credentials.NewStaticCredentialsProvider("AKIDROOT", secret, "")})
		}
		_, err := as("wrong").ListStreams(ctx, &kinesis.ListStreamsInput{})
		wantErrMatch(t, err, "InvalidSignatureException", "signature we calculated does not match")
		if _, err := as("root-secret").ListStreams(ctx, &kinesis.ListStreamsInput{}); err != nil {
			t.Errorf("%s correctly signed: %v", ep.url, err)
		}
	}
}

// TestVerifyModeHealthAndMetricsOnAdminOnly (issue 20, point 11d): with
// --auth verify the API port does not serve /metrics (which names every
// account's streams), /healthz or /readyz; the admin address does, and a
// server without one serves them nowhere.
func TestVerifyModeHealthAndMetricsOnAdminOnly(t *testing.T) {
	verify := func(c *config.Config) {
		c.AuthMode = "verify"
		c.RootAccessKeyID, c.RootSecretAccessKey = "AKIDROOT", "root-secret"
	}
	ts := startServer(t, t.TempDir(), func(c *config.Config) { verify(c); c.AdminAddr = "127.0.0.1:0" })
	root := kinesis.New(kinesis.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.url), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider("AKIDROOT", "root-secret", "")})
	ctx := context.Background()
	if _, err := root.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("payroll-secret"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ { // put once the stream is ACTIVE, so that it has series
		_, err := root.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("payroll-secret"), PartitionKey: aws.String("k"), Data: []byte("x")})
		if err == nil {
			break
		}
		if i == 200 {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		if code, body := get(t, http.DefaultClient, ts.url+path); code == 200 || strings.Contains(body, "payroll-secret") || strings.Contains(body, "rheos_") {
			t.Errorf("API port %s: %d %.200s", path, code, body)
		}
		if code, _ := get(t, http.DefaultClient, "http://"+ts.admin+path); code != 200 {
			t.Errorf("admin %s: %d", path, code)
		}
	}
	if _, body := get(t, http.DefaultClient, "http://"+ts.admin+"/metrics"); !strings.Contains(body, `stream="payroll-secret"`) {
		t.Errorf("admin /metrics lacks the stream's series")
	}

	bare := startServer(t, t.TempDir(), verify)
	if bare.admin != "" {
		t.Fatalf("admin listener %s without an admin address", bare.admin)
	}
	if code, body := get(t, http.DefaultClient, bare.url+"/metrics"); code == 200 || strings.Contains(body, "rheos_") {
		t.Errorf("API port /metrics without an admin address: %d %.200s", code, body)
	}
}

// TestPlainListenerOff (issue 20, point 11e): with TLS and mutual TLS the
// plain listener can be turned off; a configuration with no listener at all
// is refused.
func TestPlainListenerOff(t *testing.T) {
	dir := t.TempDir()
	ca, caKey, caFile, _ := issue(t, dir, "ca", 1, true, nil, nil)
	_, _, certFile, keyFile := issue(t, dir, "server", 100, false, ca, caKey)
	_, _, clientCert, clientKey := issue(t, dir, "client", 300, false, ca, caKey)
	ts := startServer(t, filepath.Join(dir, "data"), func(c *config.Config) {
		c.Addr, c.TLSAddr = "off", "127.0.0.1:0"
		c.TLSCert, c.TLSKey, c.TLSClientCA = certFile, keyFile, caFile
	})
	if ts.url != "http://" || ts.tls == "" {
		t.Fatalf("plain %q, TLS %q: want only TLS", ts.url, ts.tls)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	cc, err := tls.LoadX509KeyPair(clientCert, clientKey)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cc}}}}
	kc := kinesis.New(kinesis.Options{Region: "us-east-1", BaseEndpoint: aws.String("https://" + ts.tls), HTTPClient: hc, Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")})
	if _, err := kc.ListStreams(context.Background(), &kinesis.ListStreamsInput{}); err != nil {
		t.Fatalf("over mutual TLS: %v", err)
	}

	cfg := config.Default()
	cfg.Addr, cfg.DataDir = "off", t.TempDir()
	if srv, err := server.New(context.Background(), cfg, slog.New(slog.DiscardHandler), server.Options{}); err == nil || !strings.Contains(err.Error(), "no listener") {
		if srv != nil {
			srv.Close()
		}
		t.Fatalf("no listener at all: %v", err)
	}
}

// rsaCert writes a self-signed RSA certificate for 127.0.0.1 and its key.
func rsaCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "rsa"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "rsa.pem"), filepath.Join(dir, "rsa.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	return certFile, keyFile
}

// TestTLSCipherSuites (issue 20, point 11f): on TLS 1.2 only ECDHE with an
// AEAD cipher is served, for ECDSA (the self-signed certificate) and RSA
// certificates: a client offering only CBC-SHA1 or static-RSA suites fails
// the handshake; AES-GCM and ChaCha20-Poly1305 succeed; TLS 1.3 works.
func TestTLSCipherSuites(t *testing.T) {
	ecdsaSrv := startServer(t, t.TempDir(), func(c *config.Config) { c.TLSAddr = "127.0.0.1:0" })
	dir := t.TempDir()
	certFile, keyFile := rsaCert(t, dir)
	rsaSrv := startServer(t, filepath.Join(dir, "data"), func(c *config.Config) {
		c.TLSAddr, c.TLSCert, c.TLSKey = "127.0.0.1:0", certFile, keyFile
	})
	handshake := func(addr string, version uint16, suite uint16) error {
		c := &tls.Config{InsecureSkipVerify: true, MinVersion: version, MaxVersion: version}
		if suite != 0 {
			c.CipherSuites = []uint16{suite}
		}
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, c)
		if err != nil {
			return err
		}
		return conn.Close()
	}
	for _, tc := range []struct {
		addr  string
		suite uint16
		ok    bool
	}{
		{ecdsaSrv.tls, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, false},
		{ecdsaSrv.tls, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, false},
		{ecdsaSrv.tls, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true},
		{ecdsaSrv.tls, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, true},
		{ecdsaSrv.tls, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, true},
		{rsaSrv.tls, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, false},
		{rsaSrv.tls, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, false},
		{rsaSrv.tls, tls.TLS_RSA_WITH_AES_128_GCM_SHA256, false},
		{rsaSrv.tls, tls.TLS_RSA_WITH_AES_128_CBC_SHA, false},
		{rsaSrv.tls, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, true},
		{rsaSrv.tls, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, true},
	} {
		err := handshake(tc.addr, tls.VersionTLS12, tc.suite)
		if (err == nil) != tc.ok {
			t.Errorf("TLS 1.2 with only %s: %v, want ok=%v", tls.CipherSuiteName(tc.suite), err, tc.ok)
		}
	}
	for _, addr := range []string{ecdsaSrv.tls, rsaSrv.tls} {
		if err := handshake(addr, tls.VersionTLS13, 0); err != nil {
			t.Errorf("TLS 1.3 to %s: %v", addr, err)
		}
	}
}
