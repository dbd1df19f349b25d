package server

import (
	"context"

	"github.com/rheos/rheos/internal/glue"
	"github.com/rheos/rheos/internal/glueapi"
)

// This file wires the Glue Data Catalog subset (databases and tables, for
// Firehose's format conversion) into the server.

func init() { registerWiring("glue", 15, (*Server).wireGlue) }

func (s *Server) wireGlue(context.Context) error {
	svc := glue.New(s.store.meta, s.cfg.Account, s.now)
	api, err := glueapi.New(svc, s.cfg.Account)
	if err != nil {
		return err
	}
	s.router.Register(api.Endpoint())
	s.glue = svc
	return nil
}
