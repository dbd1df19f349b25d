package server

import (
	"context"

	"github.com/rheos/rheos/internal/functions"
	"github.com/rheos/rheos/internal/lambdaapi"
)

// This file wires functions into the server: the registry and invoker over
// the shared metadata store, and the Lambda API on the router. It is the
// whole of what adding the service took outside its own packages.

func init() { registerWiring("functions", 10, (*Server).wireFunctions) }

// wireFunctions builds the functions service and plugs in the Lambda API.
func (s *Server) wireFunctions(context.Context) error {
	svc := functions.New(functions.Config{Account: s.cfg.Account, Now: s.now, Logger: s.log}, s.store.meta)
	s.router.Register(lambdaapi.New(svc, s.cfg.Account).Endpoint())
	return nil
}
