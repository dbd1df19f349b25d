// Package config owns Rheos's configuration: one plain struct in sections
// (server, auth, tls, storage, kms, and one per service) with defaults,
// loaded from a JSON file, then RHEOS_* environment variables, then flags
// (later sources win), and checked by Validate. Nobody else reads the
// environment or flags.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration that reads and writes as "500ms", "1h".
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string like \"500ms\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Config is the whole server configuration, in sections: one per concern
// of the node (server, auth, tls, storage, kms) and one per service
// (kinesis, and the services to come). In the JSON file each section is an
// object ({"server": {"addr": ...}, "kinesis": {"shardLimit": ...}}); in Go
// the sections are embedded, so cfg.Addr and cfg.ShardLimit read through.
type Config struct {
	Server    `json:"server"`
	Auth      `json:"auth"`
	TLS       `json:"tls"`
	Storage   `json:"storage"`
	KMS       `json:"kms"`
	Kinesis   `json:"kinesis"`
	Functions `json:"functions"`
	Firehose  `json:"firehose"`
	WebRTC    `json:"webrtc"`
	Limits    `json:"limits"`
}

// WebRTC is the built-in STUN/TURN server of Kinesis Video signaling
// channels, whose time-limited credentials GetIceServerConfig hands out.
type WebRTC struct {
	// TURNAddr is its UDP and TCP listen address. Default "": the API
	// listener's host at port 3478, or at any free port when 3478 is taken
	// (the port answered by GetIceServerConfig is the one bound); "off"
	// turns it off. An address set here must be free. Flag --turn-addr,
	// env RHEOS_TURN_ADDR.
	TURNAddr string `json:"turnAddr"`
	// TURNPublicIP is the address relays are allocated on and the host of
	// the STUN/TURN URIs: the host's address peers off this machine reach.
	// Default: TURNAddr's host (loopback peers only), required when it
	// listens on all interfaces. Flag --turn-public-ip, env
	// RHEOS_TURN_PUBLIC_IP.
	TURNPublicIP string `json:"turnPublicIp"`
	// TURNRelayPorts is the relay port range, "min-max" (open it in the
	// firewall with the TURN port). Default "": any free port. Env
	// RHEOS_TURN_RELAY_PORTS.
	TURNRelayPorts string `json:"turnRelayPorts"`
	// TURNSecret signs the TURN credentials. Default "": random at each
	// start (credentials end with the process). Env RHEOS_TURN_SECRET.
	TURNSecret string `json:"turnSecret"`
}

// TURNRelayRange parses TURNRelayPorts (0, 0 when unset).
func (w WebRTC) TURNRelayRange() (lo, hi uint16, err error) {
	if w.TURNRelayPorts == "" {
		return 0, 0, nil
	}
	a, b, ok := strings.Cut(w.TURNRelayPorts, "-")
	l, err1 := strconv.ParseUint(a, 10, 16)
	h, err2 := strconv.ParseUint(b, 10, 16)
	if !ok || err1 != nil || err2 != nil || l == 0 || l > h {
		return 0, 0, fmt.Errorf("webrtc.turnRelayPorts %q: want min-max, 1 <= min <= max <= 65535", w.TURNRelayPorts)
	}
	return uint16(l), uint16(h), nil
}

// Firehose is the delivery streams service. Its S3 destinations write to
// the built-in S3 endpoint unless an external S3-compatible server is
// configured here.
type Firehose struct {
	// FirehoseS3Endpoint is an external S3-compatible server (e.g.
	// "http://127.0.0.1:7070") for S3 destinations and backups. Default ""
	// (the built-in S3). Flag --firehose-s3-endpoint, env
	// RHEOS_FIREHOSE_S3_ENDPOINT.
	FirehoseS3Endpoint string `json:"s3Endpoint"`
	// FirehoseS3Region is the region signed for the external server.
	// Default: server.region.
	FirehoseS3Region string `json:"s3Region"`
	// FirehoseS3AccessKeyID and FirehoseS3SecretAccessKey are its
	// credentials (env RHEOS_FIREHOSE_S3_ACCESS_KEY_ID,
	// RHEOS_FIREHOSE_S3_SECRET_ACCESS_KEY).
	FirehoseS3AccessKeyID     string `json:"s3AccessKeyId"`
	FirehoseS3SecretAccessKey string `json:"s3SecretAccessKey"`
	// FirehoseS3PathStyle addresses buckets as /bucket/key rather than
	// bucket.host. Default true (what self-hosted servers expect).
	FirehoseS3PathStyle *bool `json:"s3PathStyle,omitempty"`
}

// Functions is the functions service (the Lambda API).
type Functions struct {
	// FunctionsExec allows functions whose handler runs as a subprocess of
	// the server (Runtime nodejs*, python3*, provided*). Creating one is
	// remote code execution by design: enable it with authentication on
	// or on a trusted machine. Default false. Flag --functions-exec, env
	// RHEOS_FUNCTIONS_EXEC=true.
	FunctionsExec bool `json:"exec"`
	// MaxProcesses bounds the warm processes (concurrent invocations) of
	// one function. Default 4.
	MaxProcesses int `json:"maxProcesses"`
}

// Server is the node's own settings: where it listens and who it is.
type Server struct {
	// Addr is the listen address (HTTP/1.1 and h2c) of every service.
	// Default "127.0.0.1:4566". Env RHEOS_ADDR. "off" (or "" in the file)
	// turns the plain listener off; tls.addr must then be set.
	Addr string `json:"addr"`
	// Account is the AWS account id of resources created by unauthenticated
	// callers and the root credential. Default "000000000000". Env RHEOS_ACCOUNT.
	Account string `json:"account"`
	// Region is used when a request carries no SigV4 scope. Default "us-east-1". Env RHEOS_REGION.
	Region string `json:"region"`
	// LogLevel is debug, info, warn or error. Default "info". Env RHEOS_LOG_LEVEL.
	LogLevel string `json:"logLevel"`
	// ShutdownTimeout bounds graceful shutdown. Default "10s".
	ShutdownTimeout Duration `json:"shutdownTimeout"`
	// AdminAddr, if set, serves /healthz, /readyz and /metrics on their own
	// listener instead of the API port. Default "" (the API port) with auth
	// mode none; with auth mode verify the API port never serves them and
	// Load defaults AdminAddr to DefaultAdminAddr (metrics name every
	// account's streams, and the admin listener is unauthenticated). Env
	// RHEOS_ADMIN_ADDR.
	AdminAddr string `json:"adminAddr"`
	// PprofAddr, if set, serves net/http/pprof there (profiling). It is
	// unauthenticated and exposes the process's internals, so it must be a
	// loopback address: Validate refuses any other. Default "" (off). Env
	// RHEOS_PPROF_ADDR.
	PprofAddr string `json:"pprofAddr"`
}

// Auth is how callers are authenticated and what they may do.
type Auth struct {
	// AuthMode is "none" (accept any well-formed signature: local
	// development) or "verify" (SigV4 verification against the credentials
	// below). Default (EffectiveAuthMode): "none" when every listener (Addr,
	// TLSAddr, AdminAddr; PprofAddr must be loopback anyway) is on a
	// loopback address, "verify" as soon as one is not. Env RHEOS_AUTH.
	AuthMode string `json:"mode"`
	// RootAccessKeyID and RootSecretAccessKey are a root credential (account
	// Account). Env RHEOS_ROOT_ACCESS_KEY_ID / RHEOS_ROOT_SECRET_ACCESS_KEY.
	RootAccessKeyID     string `json:"rootAccessKeyId"`
	RootSecretAccessKey string `json:"rootSecretAccessKey"`
	// Principals are more credentials, each in its own account.
	Principals []Principal `json:"principals"`
}

// TLS is the HTTPS listener.
type TLS struct {
	// TLSAddr, if set, is a second listener speaking HTTPS (ALPN h2 and
	// http/1.1), e.g. "127.0.0.1:4567". Default "" (off). Env RHEOS_TLS_ADDR.
	TLSAddr string `json:"addr"`
	// TLSCert and TLSKey are PEM files for the TLS listener. When both are
	// empty a self-signed certificate is generated at start (development) and
	// written to <dataDir>/tls/self-signed.pem for clients to trust.
	// The files are watched: a changed pair is loaded without a restart.
	TLSCert string `json:"cert"`
	TLSKey  string `json:"key"`
	// TLSClientCA, if set, is a PEM file of CAs; clients must then present
	// a certificate signed by one of them (mutual TLS). Default "" (off).
	TLSClientCA string `json:"clientCA"`
}

// Storage is the durable state every service shares.
type Storage struct {
	// DataDir holds all durable state. Default "./rheos-data". Env RHEOS_DATA_DIR.
	DataDir string `json:"dataDir"`
	// SweepInterval is how often retention and deletions are applied. Default "1m".
	SweepInterval Duration `json:"sweepInterval"`
	// SegmentBytes is the log segment size. Default 67108864 (64 MiB).
	SegmentBytes int64 `json:"segmentBytes"`
	// SegmentAge seals a non-empty segment after this age so retention can
	// reclaim it. Default "1h".
	SegmentAge Duration `json:"segmentAge"`
	// CompactBelow: a sealed segment whose live bytes (records of resources
	// not deleted and not expired) fall below this fraction of its size is
	// rewritten by the next sweep, so space follows deletion and retention
	// per owner. Default 0.5 (at most 2× space amplification); 0 or less
	// never compacts (segments are still deleted once nothing in them lives).
	CompactBelow float64 `json:"compactBelow"`
	// CachedSegments is how many of the newest log segments (the active one
	// included) keep their pages in the kernel's page cache; older sealed
	// segments have theirs dropped, so long runs do not pay the cache's
	// cost for data readers rarely need. Default 2.
	CachedSegments int `json:"cachedSegments"`
	// Meta is where the metadata lives: "" or "embedded" (a bbolt file in
	// DataDir, the default) or "etcd://HOST:PORT[,HOST:PORT…][/PREFIX]"
	// (an etcd cluster's client endpoints; PREFIX, default "rheos/", keeps
	// several Rheos deployments apart in one etcd). Flag --meta, env
	// RHEOS_META. See docs/CLUSTER.md.
	Meta string `json:"meta"`
	// Blobs, if set, tiers sealed log segments to object storage:
	// "s3://BUCKET[/PREFIX][?endpoint=URL&region=R&path-style=true]" (any
	// S3-compatible server; endpoint and credentials otherwise the AWS
	// SDKs' way: AWS_ENDPOINT_URL_S3, AWS_REGION, the standard credential
	// chain) or "file:///PATH" (a directory, e.g. a network mount). Local
	// disk then holds the active segment, segments waiting for upload and
	// the read cache. Flag --blobs, env RHEOS_BLOBS.
	Blobs string `json:"blobs"`
	// BlobsAccessKeyID and BlobsSecretAccessKey are static credentials for
	// Blobs (env RHEOS_BLOBS_ACCESS_KEY_ID, RHEOS_BLOBS_SECRET_ACCESS_KEY);
	// default: the standard chain.
	BlobsAccessKeyID     string `json:"blobsAccessKeyId"`
	BlobsSecretAccessKey string `json:"blobsSecretAccessKey"`
	// CacheBytes bounds the read cache of tiered segments. Default 1 GiB.
	CacheBytes int64 `json:"cacheBytes"`
	// LocalLimitBytes bounds the log's segment bytes on local disk when
	// tiering (sealed segments waiting for upload plus the active one);
	// beyond it puts are refused with a retryable error until uploads
	// catch up. Default 0 (no limit); otherwise at least two segments.
	// Flag --local-limit-bytes.
	LocalLimitBytes int64 `json:"localLimitBytes"`
	// UploadBytesPerSec paces the upload of sealed segments when tiering
	// (0: unpaced), so that an upload burst takes less from puts on a
	// small machine; keep it above the sustained ingest rate.
	UploadBytesPerSec int64 `json:"uploadBytesPerSec"`
}

// KMS is where the data keys of encrypted resources are wrapped.
type KMS struct {
	// Keyring is the local keyring's file (master keys, created 0600).
	// Default "" (<dataDir>/keyring.json). Against theft of the disk or its
	// backups, put it elsewhere (another disk, a secrets mount) or use
	// KMSEndpoint: a keyring beside the data protects nothing. Its
	// directory is created (0700) if missing. Flag --keyring, env
	// RHEOS_KEYRING. Not allowed together with KMSEndpoint.
	Keyring string `json:"keyring"`
	// KMSEndpoint, if set, is an endpoint speaking the AWS KMS API that
	// wraps the data keys of encrypted streams (instead of the local
	// keyring). Env RHEOS_KMS_ENDPOINT. KMSRegion defaults to
	// Region; the credentials are KMSAccessKeyID/KMSSecretAccessKey (env
	// RHEOS_KMS_ACCESS_KEY_ID, RHEOS_KMS_SECRET_ACCESS_KEY) or the AWS SDK's
	// usual chain.
	KMSEndpoint        string `json:"endpoint"`
	KMSRegion          string `json:"region"`
	KMSAccessKeyID     string `json:"accessKeyId"`
	KMSSecretAccessKey string `json:"secretAccessKey"`
}

// Kinesis is the Data Streams service.
type Kinesis struct {
	// CreateDelay, DeleteDelay, UpdateDelay: how long streams stay
	// CREATING/DELETING/UPDATING. Default "500ms" each.
	CreateDelay Duration `json:"createDelay"`
	DeleteDelay Duration `json:"deleteDelay"`
	UpdateDelay Duration `json:"updateDelay"`
	// ShardLimit is the open shard limit per account and region. Default 500.
	ShardLimit int `json:"shardLimit"`
	// ThroughputMode is the per-shard throughput limit profile: "off" (the
	// default, as local development expects), "aws" (AWS's limits) or
	// "scaled" (AWS's limits × ThroughputScale). A stream tag
	// "rheos.throughput" overrides it per stream. Env RHEOS_THROUGHPUT.
	ThroughputMode string `json:"throughputMode"`
	// ThroughputScale multiplies AWS's limits in "scaled" mode. Default 10.
	ThroughputScale float64 `json:"throughputScale"`
}

// movedKeys maps each key of the flat file format used before the sections
// to its section, so an old file gets a precise answer.
var movedKeys = map[string]string{
	"addr": "server", "account": "server", "region": "server", "logLevel": "server", "shutdownTimeout": "server",
	"adminAddr": "server", "pprofAddr": "server",
	"authMode": "auth (as \"mode\")", "rootAccessKeyId": "auth", "rootSecretAccessKey": "auth", "principals": "auth",
	"tlsAddr": "tls (as \"addr\")", "tlsCert": "tls (as \"cert\")", "tlsKey": "tls (as \"key\")", "tlsClientCA": "tls (as \"clientCA\")",
	"dataDir": "storage", "sweepInterval": "storage", "segmentBytes": "storage", "segmentAge": "storage",
	"kmsEndpoint": "kms (as \"endpoint\")", "kmsRegion": "kms (as \"region\")", "kmsAccessKeyId": "kms (as \"accessKeyId\")",
	"kmsSecretAccessKey": "kms (as \"secretAccessKey\")",
	"createDelay":        "kinesis", "deleteDelay": "kinesis", "updateDelay": "kinesis", "shardLimit": "kinesis",
	"throughputMode": "kinesis", "throughputScale": "kinesis",
}

// Principal is a credential and the account it acts in.
type Principal struct {
	Name            string `json:"name"`
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	SessionToken    string `json:"sessionToken,omitempty"`
	// Account defaults to the server's Account.
	Account string `json:"account,omitempty"`
	// Policies are IAM policy documents (Allow/Deny, actions and resources
	// with wildcards) attached to the principal. A principal without
	// policies may do nothing unless a resource policy allows it; the root
	// credential may do everything.
	Policies []json.RawMessage `json:"policies,omitempty"`
}

// DefaultAdminAddr is where Load puts the admin listener (health and
// metrics) when auth mode is verify and no admin address is given.
const DefaultAdminAddr = "127.0.0.1:9566"

// AddrOff reports whether the plain listener is turned off (Addr "off" or
// empty).
func (s Server) AddrOff() bool { return s.Addr == "" || s.Addr == "off" }

// KeyringPath is the local keyring's file: Keyring, or keyring.json in the
// data directory.
func (c Config) KeyringPath() string {
	if c.Keyring != "" {
		return c.Keyring
	}
	return filepath.Join(c.DataDir, "keyring.json")
}

// EffectiveAuthMode is AuthMode, or its default when it is empty: "verify"
// as soon as one listener (API, TLS, admin) is off loopback, else "none".
// (pprof is not counted: Validate refuses it off loopback.)
func (c Config) EffectiveAuthMode() string {
	if c.AuthMode != "" {
		return c.AuthMode
	}
	if len(c.exposedListeners()) > 0 {
		return "verify"
	}
	return "none"
}

// exposedListeners names the configured listeners whose address is not a
// loopback address.
func (c Config) exposedListeners() []string {
	var out []string
	for _, l := range []struct{ name, addr string }{
		{"server.addr", c.Addr}, {"tls.addr", c.TLSAddr}, {"server.adminAddr", c.AdminAddr},
	} {
		if l.addr == "" || l.name == "server.addr" && c.AddrOff() {
			continue
		}
		if !IsLoopback(l.addr) {
			out = append(out, l.name)
		}
	}
	return out
}

// IsLoopback reports whether the listen address addr (host:port) binds
// only loopback interfaces: "localhost" or a loopback IP. An empty host
// (":4566"), an unspecified address (0.0.0.0, ::), any other IP or host
// name, or an address that does not parse is not loopback.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Default returns the defaults.
func Default() Config {
	return Config{
		Server: Server{Addr: "127.0.0.1:4566", Account: "000000000000", Region: "us-east-1", LogLevel: "info",
			ShutdownTimeout: Duration(10 * time.Second)},
		Storage: Storage{DataDir: "./rheos-data", SweepInterval: Duration(time.Minute), SegmentBytes: 64 << 20,
			SegmentAge: Duration(time.Hour), CompactBelow: 0.5, CachedSegments: 2, CacheBytes: 1 << 30},
		Kinesis: Kinesis{CreateDelay: Duration(500 * time.Millisecond), DeleteDelay: Duration(500 * time.Millisecond),
			UpdateDelay: Duration(500 * time.Millisecond), ShardLimit: 500, ThroughputMode: "off", ThroughputScale: 10},
		Functions: Functions{MaxProcesses: 4},
		Limits:    DefaultLimits(),
	}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var errs []error
	if c.AddrOff() {
		if c.TLSAddr == "" {
			errs = append(errs, errors.New("no listener: server.addr is off and tls.addr is not set"))
		}
	} else if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("server.addr %q: %w", c.Addr, err))
	}
	if c.AdminAddr != "" {
		if _, _, err := net.SplitHostPort(c.AdminAddr); err != nil {
			errs = append(errs, fmt.Errorf("server.adminAddr %q: %w", c.AdminAddr, err))
		}
	}
	if c.PprofAddr != "" && !IsLoopback(c.PprofAddr) {
		errs = append(errs, fmt.Errorf("server.pprofAddr %q: pprof is unauthenticated and exposes the process's memory and goroutines; bind it to a loopback address (127.0.0.1:6060) and reach it through an SSH tunnel or kubectl port-forward", c.PprofAddr))
	}
	if c.TURNAddr != "" && c.TURNAddr != "off" {
		if _, _, err := net.SplitHostPort(c.TURNAddr); err != nil {
			errs = append(errs, fmt.Errorf("webrtc.turnAddr %q: %w", c.TURNAddr, err))
		}
	}
	if c.TURNPublicIP != "" && net.ParseIP(c.TURNPublicIP) == nil {
		errs = append(errs, fmt.Errorf("webrtc.turnPublicIp %q is not an IP address", c.TURNPublicIP))
	}
	if _, _, err := c.TURNRelayRange(); err != nil {
		errs = append(errs, err)
	}
	if c.Keyring != "" && c.KMSEndpoint != "" {
		errs = append(errs, errors.New("kms.keyring and kms.endpoint exclude each other: data keys are wrapped by one of them"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("storage.dataDir must be set"))
	}
	if len(c.Account) != 12 {
		errs = append(errs, fmt.Errorf("server.account %q must be 12 digits", c.Account))
	}
	for _, r := range c.Account {
		if r < '0' || r > '9' {
			errs = append(errs, fmt.Errorf("server.account %q must be 12 digits", c.Account))
			break
		}
	}
	if c.ShardLimit < 1 {
		errs = append(errs, errors.New("kinesis.shardLimit must be positive"))
	}
	if c.SegmentBytes < 1<<20 {
		errs = append(errs, errors.New("storage.segmentBytes must be at least 1 MiB"))
	}
	switch {
	case c.Meta == "" || c.Meta == "embedded":
	case strings.HasPrefix(c.Meta, "etcd://"):
		if _, _, err := c.EtcdEndpoints(); err != nil {
			errs = append(errs, err)
		}
	default:
		errs = append(errs, fmt.Errorf("storage.meta %q: want embedded or etcd://HOST:PORT[,HOST:PORT…][/PREFIX]", c.Meta))
	}
	if c.Blobs != "" && !strings.HasPrefix(c.Blobs, "s3://") && !strings.HasPrefix(c.Blobs, "file:///") {
		errs = append(errs, fmt.Errorf("storage.blobs %q: want s3://BUCKET[/PREFIX] or file:///PATH", c.Blobs))
	}
	if c.LocalLimitBytes != 0 && c.LocalLimitBytes < 2*c.SegmentBytes {
		errs = append(errs, fmt.Errorf("storage.localLimitBytes must hold at least two segments (%d bytes)", 2*c.SegmentBytes))
	}
	if c.UploadBytesPerSec < 0 {
		errs = append(errs, errors.New("storage.uploadBytesPerSec must not be negative"))
	}
	if c.CacheBytes < 0 {
		errs = append(errs, errors.New("storage.cacheBytes must not be negative"))
	}
	if c.CompactBelow > 1 {
		errs = append(errs, errors.New("storage.compactBelow must be at most 1"))
	}
	if c.SweepInterval <= 0 || c.SegmentAge <= 0 {
		errs = append(errs, errors.New("storage.sweepInterval and storage.segmentAge must be positive"))
	}
	if c.TLSAddr != "" {
		if _, _, err := net.SplitHostPort(c.TLSAddr); err != nil {
			errs = append(errs, fmt.Errorf("tls.addr %q: %w", c.TLSAddr, err))
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("tls.cert and tls.key go together"))
	}
	switch c.EffectiveAuthMode() {
	case "none":
	case "verify":
		if c.RootAccessKeyID == "" && len(c.Principals) == 0 {
			why := "auth.mode verify"
			if exposed := c.exposedListeners(); c.AuthMode == "" {
				verb := " is not a loopback address"
				if len(exposed) > 1 {
					verb = " are not loopback addresses"
				}
				why = "auth.mode defaults to verify because " + strings.Join(exposed, ", ") + verb + ", and it"
			}
			errs = append(errs, errors.New(why+" needs credentials: set RHEOS_ROOT_ACCESS_KEY_ID and RHEOS_ROOT_SECRET_ACCESS_KEY or auth.principals in the config file (or --auth none on a trusted network)"))
		}
	default:
		errs = append(errs, fmt.Errorf("auth.mode %q: want none or verify", c.AuthMode))
	}
	if (c.RootAccessKeyID == "") != (c.RootSecretAccessKey == "") {
		errs = append(errs, errors.New("auth.rootAccessKeyId and auth.rootSecretAccessKey go together"))
	}
	keys := map[string]string{}
	if c.RootAccessKeyID != "" {
		keys[c.RootAccessKeyID] = "auth.rootAccessKeyId"
	}
	for i, p := range c.Principals {
		if p.AccessKeyID == "" || p.SecretAccessKey == "" {
			errs = append(errs, fmt.Errorf("auth.principals[%d]: accessKeyId and secretAccessKey are required", i))
			continue
		}
		// One key id, one principal: a second would silently replace the
		// first in the credential table.
		if prev, dup := keys[p.AccessKeyID]; dup {
			errs = append(errs, fmt.Errorf("auth.principals[%d]: accessKeyId %s is already %s's", i, p.AccessKeyID, prev))
		}
		keys[p.AccessKeyID] = fmt.Sprintf("auth.principals[%d]", i)
	}
	switch c.ThroughputMode {
	case "off", "aws", "scaled":
	default:
		errs = append(errs, fmt.Errorf("kinesis.throughputMode %q: want off, aws or scaled", c.ThroughputMode))
	}
	if c.ThroughputScale <= 0 {
		errs = append(errs, errors.New("kinesis.throughputScale must be positive"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("server.logLevel %q: want debug, info, warn or error", c.LogLevel))
	}
	errs = append(errs, c.Limits.validate()...)
	return errors.Join(errs...)
}

// Load builds the configuration for `rheos serve` from args (flags), the
// environment and an optional JSON file (--config or RHEOS_CONFIG). Unknown
// keys in the file are rejected.
func Load(args []string, getenv func(string) string) (Config, error) {
	c := Default()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	file := fs.String("config", getenv("RHEOS_CONFIG"), "JSON configuration file")
	addr := fs.String("addr", "", "listen address (default 127.0.0.1:4566; off: no plain listener, TLS only)")
	dataDir := fs.String("data-dir", "", "data directory (default ./rheos-data)")
	account := fs.String("account", "", "account id (default 000000000000)")
	region := fs.String("region", "", "default region (default us-east-1)")
	logLevel := fs.String("log-level", "", "debug, info, warn or error")
	createDelay := fs.Duration("create-delay", 0, "time a stream stays CREATING (default 500ms)")
	deleteDelay := fs.Duration("delete-delay", 0, "time a stream stays DELETING (default 500ms)")
	shardLimit := fs.Int("shard-limit", 0, "open shard limit per account and region (default 500)")
	pprofAddr := fs.String("pprof-addr", "", "serve net/http/pprof on this address (off by default)")
	adminAddr := fs.String("admin-addr", "", "serve /healthz, /readyz and /metrics on this address instead of the API port (default with --auth verify: "+DefaultAdminAddr+")")
	tlsAddr := fs.String("tls-addr", "", "HTTPS listen address (off by default)")
	throughput := fs.String("throughput", "", "per-shard throughput limits: off, aws or scaled (default off)")
	authMode := fs.String("auth", "", "none or verify (default: none when every listener is on loopback, verify otherwise)")
	tlsCert := fs.String("tls-cert", "", "TLS certificate PEM file (default: self-signed)")
	tlsKey := fs.String("tls-key", "", "TLS private key PEM file")
	tlsClientCA := fs.String("tls-client-ca", "", "require client certificates signed by these CAs (PEM)")
	keyring := fs.String("keyring", "", "local keyring file (default <data-dir>/keyring.json; keep it off the data disk)")
	firehoseS3 := fs.String("firehose-s3-endpoint", "", "external S3-compatible server for Firehose's S3 destinations (default: the built-in S3)")
	turnAddr := fs.String("turn-addr", "", "STUN/TURN listen address, UDP and TCP (default: the API host, port 3478; off: none)")
	turnPublicIP := fs.String("turn-public-ip", "", "address of TURN relays and URIs, reachable by off-host peers (default: the TURN host)")
	meta := fs.String("meta", "", "metadata store: embedded (default) or etcd://HOST:PORT[,HOST:PORT…][/PREFIX]")
	blobs := fs.String("blobs", "", "tier sealed segments to s3://BUCKET[/PREFIX][?endpoint=URL&path-style=true] or file:///PATH (default: all local)")
	localLimit := fs.Int64("local-limit-bytes", 0, "with --blobs: refuse puts (retryable) when local segments reach this many bytes (default: no limit)")
	functionsExec := fs.Bool("functions-exec", false, "allow functions whose handler runs as a subprocess (nodejs*, python3*, provided*): remote code execution by design")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if *file != "" {
		b, err := os.ReadFile(*file)
		if err != nil {
			return c, err
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return c, fmt.Errorf("config file %s: %w%s", *file, err, movedHint(err))
		}
	}
	env := func(k string, dst *string) {
		if v := getenv(k); v != "" {
			*dst = v
		}
	}
	env("RHEOS_ADDR", &c.Addr)
	env("RHEOS_DATA_DIR", &c.DataDir)
	env("RHEOS_ACCOUNT", &c.Account)
	env("RHEOS_REGION", &c.Region)
	env("RHEOS_LOG_LEVEL", &c.LogLevel)
	env("RHEOS_PPROF_ADDR", &c.PprofAddr)
	env("RHEOS_ADMIN_ADDR", &c.AdminAddr)
	env("RHEOS_TLS_ADDR", &c.TLSAddr)
	env("RHEOS_THROUGHPUT", &c.ThroughputMode)
	env("RHEOS_AUTH", &c.AuthMode)
	env("RHEOS_KMS_ENDPOINT", &c.KMSEndpoint)
	env("RHEOS_KEYRING", &c.Keyring)
	env("RHEOS_KMS_ACCESS_KEY_ID", &c.KMSAccessKeyID)
	env("RHEOS_KMS_SECRET_ACCESS_KEY", &c.KMSSecretAccessKey)
	env("RHEOS_FIREHOSE_S3_ENDPOINT", &c.FirehoseS3Endpoint)
	env("RHEOS_FIREHOSE_S3_ACCESS_KEY_ID", &c.FirehoseS3AccessKeyID)
	env("RHEOS_FIREHOSE_S3_SECRET_ACCESS_KEY", &c.FirehoseS3SecretAccessKey)
	env("RHEOS_TURN_ADDR", &c.TURNAddr)
	env("RHEOS_TURN_PUBLIC_IP", &c.TURNPublicIP)
	env("RHEOS_TURN_RELAY_PORTS", &c.TURNRelayPorts)
	env("RHEOS_TURN_SECRET", &c.TURNSecret)
	env("RHEOS_ROOT_ACCESS_KEY_ID", &c.RootAccessKeyID)
	env("RHEOS_ROOT_SECRET_ACCESS_KEY", &c.RootSecretAccessKey)
	env("RHEOS_META", &c.Meta)
	env("RHEOS_BLOBS", &c.Blobs)
	env("RHEOS_BLOBS_ACCESS_KEY_ID", &c.BlobsAccessKeyID)
	env("RHEOS_BLOBS_SECRET_ACCESS_KEY", &c.BlobsSecretAccessKey)
	if v := getenv("RHEOS_FUNCTIONS_EXEC"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("RHEOS_FUNCTIONS_EXEC: %w", err)
		}
		c.FunctionsExec = b
	}
	for k, dst := range map[string]*int64{"RHEOS_SEGMENT_BYTES": &c.SegmentBytes, "RHEOS_UPLOAD_BYTES_PER_SEC": &c.UploadBytesPerSec} {
		if v := getenv(k); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return c, fmt.Errorf("%s: %w", k, err)
			}
			*dst = n
		}
	}
	for k, dst := range map[string]*Duration{"RHEOS_SEGMENT_AGE": &c.SegmentAge, "RHEOS_SWEEP_INTERVAL": &c.SweepInterval} {
		if v := getenv(k); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return c, fmt.Errorf("%s: %w", k, err)
			}
			*dst = Duration(d)
		}
	}
	if v := getenv("RHEOS_SHARD_LIMIT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return c, fmt.Errorf("RHEOS_SHARD_LIMIT: %w", err)
		}
		c.ShardLimit = n
	}
	set := func(v string, dst *string) {
		if v != "" {
			*dst = v
		}
	}
	set(*addr, &c.Addr)
	set(*dataDir, &c.DataDir)
	set(*account, &c.Account)
	set(*region, &c.Region)
	set(*logLevel, &c.LogLevel)
	set(*pprofAddr, &c.PprofAddr)
	set(*adminAddr, &c.AdminAddr)
	set(*tlsAddr, &c.TLSAddr)
	set(*throughput, &c.ThroughputMode)
	set(*authMode, &c.AuthMode)
	set(*tlsCert, &c.TLSCert)
	set(*tlsKey, &c.TLSKey)
	set(*tlsClientCA, &c.TLSClientCA)
	set(*keyring, &c.Keyring)
	set(*firehoseS3, &c.FirehoseS3Endpoint)
	set(*turnAddr, &c.TURNAddr)
	set(*turnPublicIP, &c.TURNPublicIP)
	set(*meta, &c.Meta)
	set(*blobs, &c.Blobs)
	if *localLimit > 0 {
		c.LocalLimitBytes = *localLimit
	}
	if c.Addr == "off" {
		c.Addr = ""
	}
	if *createDelay > 0 {
		c.CreateDelay = Duration(*createDelay)
	}
	if *deleteDelay > 0 {
		c.DeleteDelay = Duration(*deleteDelay)
	}
	if *shardLimit > 0 {
		c.ShardLimit = *shardLimit
	}
	if *functionsExec {
		c.FunctionsExec = true
	}
	// Validate first, so that an error can say why verification is on. The
	// auth default looks at every listener; with verification on, health
	// and metrics leave the API port for a loopback admin listener unless
	// one is given.
	err := c.Validate()
	c.AuthMode = c.EffectiveAuthMode()
	if c.AuthMode == "verify" && c.AdminAddr == "" {
		c.AdminAddr = DefaultAdminAddr
	}
	return c, err
}

// movedHint explains an unknown key that belongs to a section now.
func movedHint(err error) string {
	msg := err.Error()
	const prefix = "json: unknown field \""
	i := strings.Index(msg, prefix)
	if i < 0 {
		return ""
	}
	key, _, _ := strings.Cut(msg[i+len(prefix):], "\"")
	if section, ok := movedKeys[key]; ok {
		return fmt.Sprintf(" (the configuration is in sections now: put %q under %s)", key, section)
	}
	return ""
}

// EtcdEndpoints parses Meta's etcd form into client URLs and a key prefix.
func (c Config) EtcdEndpoints() (endpoints []string, prefix string, err error) {
	rest, ok := strings.CutPrefix(c.Meta, "etcd://")
	if !ok {
		return nil, "", fmt.Errorf("storage.meta %q is not an etcd:// URL", c.Meta)
	}
	hosts, prefix, _ := strings.Cut(rest, "/")
	if prefix == "" {
		prefix = "rheos/"
	} else if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	for h := range strings.SplitSeq(hosts, ",") {
		if _, _, err := net.SplitHostPort(h); err != nil {
			return nil, "", fmt.Errorf("storage.meta %q: endpoint %q: %w", c.Meta, h, err)
		}
		endpoints = append(endpoints, "http://"+h)
	}
	return endpoints, prefix, nil
}
