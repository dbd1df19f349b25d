package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/rheos/rheos/internal/blob"
	bloblocal "github.com/rheos/rheos/internal/blob/local"
	blobs3 "github.com/rheos/rheos/internal/blob/s3"
	"github.com/rheos/rheos/internal/config"
	"github.com/rheos/rheos/internal/metastore"
	"github.com/rheos/rheos/internal/metastore/etcdstore"
	"github.com/rheos/rheos/internal/streamlog"
)

// This file opens the two storage seams of the cluster design (issue 18)
// from the configuration: the metadata store (embedded bbolt or etcd) and
// the blob store sealed segments are tiered to (none, S3-compatible or a
// directory), and serves what `rheos cluster status` shows.

// openMeta opens Storage.Meta. close releases it.
func openMeta(ctx context.Context, cfg config.Config) (kv metastore.KV, desc string, close func() error, err error) {
	if cfg.Meta == "" || cfg.Meta == "embedded" {
		st, err := metastore.Open(cfg.DataDir)
		if err != nil {
			return nil, "", nil, err
		}
		return st, "embedded (" + cfg.DataDir + "/meta.db)", st.Close, nil
	}
	endpoints, prefix, err := cfg.EtcdEndpoints()
	if err != nil {
		return nil, "", nil, err
	}
	c, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Context: context.WithoutCancel(ctx)})
	if err != nil {
		return nil, "", nil, fmt.Errorf("etcd %s: %w", cfg.Meta, err)
	}
	// Fail at start, not at the first request, when etcd is unreachable.
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := c.Get(sctx, prefix+"config/epoch"); err != nil {
		c.Close()
		return nil, "", nil, fmt.Errorf("etcd %s unreachable: %w", strings.Join(endpoints, ","), err)
	}
	st, err := etcdstore.New(etcdstore.Options{Client: c, Prefix: prefix})
	if err != nil {
		c.Close()
		return nil, "", nil, err
	}
	return st, "etcd " + strings.Join(endpoints, ",") + " prefix " + prefix, c.Close, nil
}

// openBlobs opens Storage.Blobs; nil when segments stay local.
func openBlobs(ctx context.Context, cfg config.Config) (blob.Store, string, error) {
	switch {
	case cfg.Blobs == "":
		return nil, "", nil
	case strings.HasPrefix(cfg.Blobs, "file://"):
		u, err := url.Parse(cfg.Blobs)
		if err != nil {
			return nil, "", fmt.Errorf("storage.blobs: %w", err)
		}
		st, err := bloblocal.Open(u.Path)
		if err != nil {
			return nil, "", err
		}
		return st, "directory " + u.Path, nil
	}
	bc, err := blobs3.ParseURL(cfg.Blobs)
	if err != nil {
		return nil, "", err
	}
	bc.AccessKeyID, bc.SecretAccessKey = cfg.BlobsAccessKeyID, cfg.BlobsSecretAccessKey
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := blobs3.Open(octx, bc)
	if err != nil {
		return nil, "", fmt.Errorf("storage.blobs %s: %w", cfg.Blobs, err)
	}
	desc := "s3://" + bc.Bucket + "/" + bc.Prefix
	if bc.Endpoint != "" {
		desc += " at " + bc.Endpoint
	}
	return st, desc + " (put-if-absent " + st.Mode().String() + ")", nil
}

// ClusterStatus is what GET /cluster/status (admin) returns and `rheos
// cluster status` prints.
type ClusterStatus struct {
	Meta       string               `json:"meta"`
	MetaOK     bool                 `json:"metaReachable"`
	MetaError  string               `json:"metaError,omitempty"`
	MetaRev    uint64               `json:"metaRevision,omitempty"`
	Blobs      string               `json:"blobs"`
	Fence      uint64               `json:"fence"`
	Segments   int                  `json:"segments"`
	Pending    int64                `json:"pendingBytes"`
	Tier       *streamlog.TierStats `json:"tier,omitempty"`
	CacheRatio float64              `json:"cacheHitRatio,omitempty"`
}

// clusterStatus reads the storage's state now.
func (s *Server) clusterStatus(ctx context.Context) ClusterStatus {
	st := s.store.log.Stats()
	cs := ClusterStatus{Meta: s.store.metaDesc, Blobs: s.store.blobsDesc, Fence: s.store.fence,
		Segments: st.Segments, Pending: st.PendingBytes, Tier: st.Tier}
	if cs.Blobs == "" {
		cs.Blobs = "none (segments stay local)"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	rev, err := s.store.meta.Rev(ctx)
	cs.MetaOK, cs.MetaRev = err == nil, rev
	if err != nil {
		cs.MetaError = err.Error()
	}
	if t := st.Tier; t != nil && t.CacheHits+t.CacheMisses > 0 {
		cs.CacheRatio = float64(t.CacheHits) / float64(t.CacheHits+t.CacheMisses)
	}
	return cs
}

func (s *Server) serveClusterStatus(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(s.clusterStatus(r.Context()))
}
