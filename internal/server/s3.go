package server

import (
	"context"
	"path/filepath"

	"github.com/rheos/rheos/internal/objectstore"
	"github.com/rheos/rheos/internal/s3api"
	"github.com/rheos/rheos/internal/vfs"
)

// This file wires the built-in S3 into the server: the object store under
// <data-dir>/s3 over the shared metadata store, and the S3 API on the
// router (requests signed for s3). s.s3 is the in-process API other
// services write objects through (Firehose's S3 destination).

func init() { registerWiring("s3", 5, (*Server).wireS3) }

// wireS3 opens the object store (removing what a crash left) and plugs in
// the S3 API.
func (s *Server) wireS3(ctx context.Context) error {
	fs := s.opts.FS
	if fs == nil {
		fs = vfs.OS{}
	}
	store, err := objectstore.Open(ctx, objectstore.Config{Dir: filepath.Join(s.cfg.DataDir, "s3"), FS: fs, Now: s.now,
		Region: s.cfg.Region, Logger: s.log}, s.store.meta)
	if err != nil {
		return err
	}
	s.s3 = store
	s.router.Register(s3api.New(store, s.cfg.Account).Endpoint())
	return nil
}
