package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rheos/rheos/internal/config"
	"github.com/rheos/rheos/internal/server"
)

// issue writes a certificate (signed by parent, or self-signed) and its key.
func issue(t *testing.T, dir, name string, serial int64, isCA bool, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, BasicConstraintsValid: true, IsCA: isCA,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	kb, _ := x509.MarshalECPrivateKey(key)
	cf, kf := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	os.WriteFile(cf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(kf, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return cert, key, cf, kf
}

func TestTLSReloadAndClientCertificates(t *testing.T) {
	dir := t.TempDir()
	ca, caKey, caFile, _ := issue(t, dir, "ca", 1, true, nil, nil)
	_, _, certFile, keyFile := issue(t, dir, "server", 100, false, ca, caKey)
	_, _, clientCert, clientKey := issue(t, dir, "client", 300, false, ca, caKey)
	cfg := config.Default()
	cfg.Addr, cfg.TLSAddr, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", filepath.Join(dir, "data")
	cfg.TLSCert, cfg.TLSKey, cfg.TLSClientCA = certFile, keyFile, caFile
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg, nil, server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	defer func() { cancel(); <-done }()

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	cc, err := tls.LoadX509KeyPair(clientCert, clientKey)
	if err != nil {
		t.Fatal(err)
	}
	dial := func(withClientCert bool) (*x509.Certificate, error) {
		c := &tls.Config{RootCAs: pool}
		if withClientCert {
			c.Certificates = []tls.Certificate{cc}
		}
		conn, err := tls.Dial("tcp", srv.TLSAddr(), c)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		// TLS 1.3 reports a refused client certificate on the first read.
		conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := conn.Read(make([]byte, 1)); err != nil {
			if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
				return nil, err
			}
		}
		return conn.ConnectionState().PeerCertificates[0], nil
	}
	if _, err := dial(false); err == nil {
		t.Fatal("a client without a certificate was accepted")
	}
	got, err := dial(true)
	if err != nil || got.SerialNumber.Int64() != 100 {
		t.Fatalf("first certificate: %v, %v", got, err)
	}
	// Rotate: a new server certificate in the same files, picked up without a restart.
	issue(t, dir, "server", 200, false, ca, caKey)
	future := time.Now().Add(2 * time.Second)
	os.Chtimes(certFile, future, future)
	time.Sleep(1100 * time.Millisecond)
	if got, err = dial(true); err != nil || got.SerialNumber.Int64() != 200 {
		t.Fatalf("after rotation: serial %v, %v", got.SerialNumber, err)
	}
}
