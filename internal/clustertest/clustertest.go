// Package clustertest starts the external parts of Rheos's clustered
// storage for tests: an etcd member (embedded through etcd's own embed
// package, reachable over TCP like any etcd) and versitygw, a real
// S3-compatible server (scripts/test-deps.sh installs it). It also owns
// the storage matrix the Data Streams suites run on (RHEOS_TEST_STORAGE):
// "" (embedded metadata, local segments), "s3" (embedded metadata,
// segments tiered to versitygw) and "etcd+s3" (metadata on etcd, segments
// on versitygw). Test code only.
package clustertest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// Etcd is a running single-member etcd cluster.
type Etcd struct {
	Dir      string
	Endpoint string // host:port of its client URL
	peer     url.URL
	client   url.URL
	e        *embed.Etcd
}

func freeURL() (url.URL, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return url.URL{}, err
	}
	defer l.Close()
	return url.URL{Scheme: "http", Host: l.Addr().String()}, nil
}

// StartEtcd starts a member with its data in dir on free ports.
func StartEtcd(dir string) (*Etcd, error) {
	cu, err := freeURL()
	if err != nil {
		return nil, err
	}
	pu, err := freeURL()
	if err != nil {
		return nil, err
	}
	m := &Etcd{Dir: dir, Endpoint: cu.Host, client: cu, peer: pu}
	return m, m.Start()
}

// Start (re)starts the member on its directory and ports (after Stop).
func (m *Etcd) Start() error {
	cfg := embed.NewConfig()
	cfg.Name = "rheos-test"
	cfg.Dir = m.Dir
	cfg.LogLevel = "error"
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{m.client}, []url.URL{m.client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{m.peer}, []url.URL{m.peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	var e *embed.Etcd
	var err error
	// A port just released by Stop may take a moment to be free again.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if e, err = embed.StartEtcd(cfg); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		return err
	}
	select {
	case <-e.Server.ReadyNotify():
		m.e = e
		return nil
	case err := <-e.Err():
		e.Close()
		return err
	case <-time.After(60 * time.Second):
		e.Close()
		return errors.New("etcd not ready within 60s")
	}
}

// Stop stops the member; its data stays for Start.
func (m *Etcd) Stop() {
	if m.e != nil {
		m.e.Close()
		m.e = nil
	}
}

// S3 is a running versitygw (posix backend).
type S3 struct {
	Endpoint      string // http://host:port
	Root          string // the posix root: one directory per bucket
	AccessKey     string
	SecretKey     string
	addr, logName string
	cmd           *exec.Cmd
}

// VersitygwPath finds the versitygw binary, or returns an error saying how
// to install it.
func VersitygwPath() (string, error) {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	gopath, _ := exec.Command("go", "env", "GOPATH").Output()
	p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "versitygw")
	if _, err := os.Stat(p); err != nil {
		return "", errors.New("versitygw not installed (scripts/test-deps.sh installs it)")
	}
	return p, nil
}

// StartS3 starts versitygw on root (a directory) with the named buckets.
func StartS3(root string, buckets ...string) (*S3, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	for _, b := range buckets {
		if err := os.MkdirAll(filepath.Join(root, b), 0o755); err != nil {
			return nil, err
		}
	}
	s := &S3{Endpoint: "http://" + addr, Root: root, AccessKey: "AKIDTIER", SecretKey: "tier-secret", addr: addr,
		logName: filepath.Join(filepath.Dir(root), "versitygw.log")}
	return s, s.Start()
}

// Start (re)starts the server on its port and root (after Stop).
func (s *S3) Start() error {
	gw, err := VersitygwPath()
	if err != nil {
		return err
	}
	cmd := exec.Command(gw, "--access", s.AccessKey, "--secret", s.SecretKey, "--port", s.addr, "posix", s.Root)
	logf, err := os.OpenFile(s.logName, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	logf.Close()
	s.cmd = cmd
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.Dial("tcp", s.addr)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("versitygw did not listen on %s", s.addr)
		}
	}
}

// Stop kills the server; its data stays for Start.
func (s *S3) Stop() {
	if s.cmd != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// Matrix is one configuration of the storage matrix.
type Matrix struct {
	Mode string // "", "s3" or "etcd+s3"
	S3   *S3
	Etcd *Etcd
	dir  string
}

// Bucket is the bucket the matrix tiers to.
const Bucket = "rheos-tier"

// StartMatrix starts what RHEOS_TEST_STORAGE asks for under a temporary
// directory. With the variable unset it starts nothing.
func StartMatrix() (*Matrix, error) {
	m := &Matrix{Mode: os.Getenv("RHEOS_TEST_STORAGE")}
	switch m.Mode {
	case "":
		return m, nil
	case "s3", "etcd+s3":
	default:
		return nil, fmt.Errorf("RHEOS_TEST_STORAGE=%q: want s3 or etcd+s3", m.Mode)
	}
	dir, err := os.MkdirTemp("", "rheos-matrix-")
	if err != nil {
		return nil, err
	}
	m.dir = dir
	if m.S3, err = StartS3(filepath.Join(dir, "s3"), Bucket); err != nil {
		m.Stop()
		return nil, err
	}
	if m.Mode == "etcd+s3" {
		if m.Etcd, err = StartEtcd(filepath.Join(dir, "etcd")); err != nil {
			m.Stop()
			return nil, err
		}
	}
	return m, nil
}

// Stop stops everything and removes the directory.
func (m *Matrix) Stop() {
	if m == nil {
		return
	}
	if m.S3 != nil {
		m.S3.Stop()
	}
	if m.Etcd != nil {
		m.Etcd.Stop()
	}
	if m.dir != "" {
		os.RemoveAll(m.dir)
	}
}

// Settings are the storage settings of one server in the matrix, named
// after its data directory (so a server restarted on the same directory
// finds its metadata and objects again).
type Settings struct {
	Meta, Blobs          string // config Storage.Meta and Storage.Blobs; "" for the defaults
	AccessKey, SecretKey string // Storage.BlobsAccessKeyID and BlobsSecretAccessKey
}

// For returns the settings of the server on dataDir.
func (m *Matrix) For(dataDir string) Settings {
	if m == nil || m.Mode == "" {
		return Settings{}
	}
	sum := sha256.Sum256([]byte(dataDir))
	unique := hex.EncodeToString(sum[:8])
	s := Settings{Blobs: fmt.Sprintf("s3://%s/%s?endpoint=%s&path-style=true", Bucket, unique, m.S3.Endpoint),
		AccessKey: m.S3.AccessKey, SecretKey: m.S3.SecretKey}
	if m.Etcd != nil {
		s.Meta = "etcd://" + m.Etcd.Endpoint + "/" + unique + "/"
	}
	return s
}

// Objects counts the objects under the server's prefix in the bucket
// (the posix backend keeps one file per object).
func (m *Matrix) Objects(dataDir string) (int, error) {
	if m == nil || m.S3 == nil {
		return 0, nil
	}
	sum := sha256.Sum256([]byte(dataDir))
	n := 0
	err := filepath.WalkDir(filepath.Join(m.S3.Root, Bucket, hex.EncodeToString(sum[:8])), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		if os.IsNotExist(err) {
			return nil
		}
		return err
	})
	return n, err
}

// RunMatrix is a package's TestMain on the storage matrix: it starts what
// RHEOS_TEST_STORAGE asks for into *into, runs the tests, stops it and
// exits with the tests' code.
func RunMatrix(m *testing.M, into **Matrix) {
	mx, err := StartMatrix()
	if err != nil {
		fmt.Fprintln(os.Stderr, "storage matrix:", err)
		os.Exit(1)
	}
	*into = mx
	code := m.Run()
	mx.Stop()
	os.Exit(code)
}
