package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rheos/rheos/internal/vfs"
)

// tlsConfig builds the TLS listener's configuration: the user's certificate
// and key, or a self-signed certificate generated now for development (its
// PEM is written under the data directory so clients can trust it).
// ALPN offers h2 and http/1.1; TLS 1.2 is the minimum, and on TLS 1.2 only
// tlsSuites are offered (TLS 1.3's suites are all AEAD and not configurable).
func (s *Server) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		CipherSuites: tlsSuites,
		NextProtos:   []string{"h2", "http/1.1"},
	}
	if s.cfg.TLSCert != "" {
		r := &certReloader{certFile: s.cfg.TLSCert, keyFile: s.cfg.TLSKey, log: s.log.Warn}
		if err := r.load(); err != nil {
			return nil, fmt.Errorf("loading TLS certificate: %w", err)
		}
		tc.GetCertificate = r.get
	} else {
		cert, err := s.selfSigned()
		if err != nil {
			return nil, err
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if s.cfg.TLSClientCA != "" {
		pemBytes, err := os.ReadFile(s.cfg.TLSClientCA)
		if err != nil {
			return nil, fmt.Errorf("reading TLS client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("TLS client CA %s holds no certificate", s.cfg.TLSClientCA)
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// tlsSuites are the TLS 1.2 cipher suites served: ECDHE (forward secrecy)
// with an AEAD cipher, AES-GCM or ChaCha20-Poly1305, for ECDSA and RSA
// certificates. The CBC suites (SHA-1 MACs, Lucky13-style padding oracles)
// and static-RSA key exchange that Go would otherwise also accept are left
// out; every TLS 1.2 client of the last decade offers one of these.
var tlsSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// certReloader serves the certificate in certFile/keyFile and reloads it
// when either file changes (checked at most once a second, on handshakes),
// so certificates rotate without a restart. A broken new pair is logged and
// the previous certificate kept.
type certReloader struct {
	certFile, keyFile string
	log               func(msg string, args ...any)

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime time.Time
	checked time.Time
}

func (r *certReloader) load() error {
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return err
	}
	mt := latestModTime(r.certFile, r.keyFile)
	r.mu.Lock()
	r.cert, r.modTime, r.checked = &cert, mt, time.Now()
	r.mu.Unlock()
	return nil
}

func latestModTime(files ...string) time.Time {
	var t time.Time
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.ModTime().After(t) {
			t = st.ModTime()
		}
	}
	return t
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	stale := time.Since(r.checked) > time.Second
	if stale {
		r.checked = time.Now()
	}
	cert, mt := r.cert, r.modTime
	r.mu.Unlock()
	if stale && latestModTime(r.certFile, r.keyFile).After(mt) {
		if err := r.load(); err != nil {
			r.log("TLS certificate changed but could not be loaded; keeping the previous one", "err", err)
		} else {
			r.mu.Lock()
			cert = r.cert
			r.mu.Unlock()
		}
	}
	return cert, nil
}

func (s *Server) selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "rheos self-signed", Organization: []string{"Rheos development"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if host != "" {
		tmpl.DNSNames = append(tmpl.DNSNames, host)
	}
	if h, _, err := net.SplitHostPort(s.cfg.TLSAddr); err == nil {
		if ip := net.ParseIP(h); ip != nil && !ip.IsUnspecified() {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" && ip == nil {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	// Only the certificate is written (the key stays in memory), private to
	// the server's user like everything in the data directory.
	dir := filepath.Join(s.cfg.DataDir, "tls")
	err = (vfs.OS{}).MkdirAll(dir)
	if err == nil {
		err = vfs.WriteFileAtomic(vfs.OS{}, filepath.Join(dir, "self-signed.pem"), certPEM)
	}
	if err != nil {
		s.log.Warn("TLS: could not write the self-signed certificate for clients", "err", err)
	}
	s.log.Warn("TLS: using a self-signed certificate generated at start (development only)", "cert", filepath.Join(dir, "self-signed.pem"))
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
