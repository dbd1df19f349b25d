package server

import (
	"context"
	"os"
	"path/filepath"

	"github.com/rheos/rheos/internal/functions"
	"github.com/rheos/rheos/internal/lambdaapi"
)

// This file wires functions into the server: the registry and invoker over
// the shared metadata store, and the Lambda API on the router. It is the
// whole of what adding the service took outside its own packages.

func init() { registerWiring("functions", 10, (*Server).wireFunctions) }

// wireFunctions builds the functions service and plugs in the Lambda API.
func (s *Server) wireFunctions(context.Context) error {
	svc := functions.New(functions.Config{Account: s.cfg.Account, Now: s.now, Logger: s.log,
		Exec: s.cfg.FunctionsExec, CodeDir: filepath.Join(s.cfg.DataDir, "functions"), MaxProcesses: s.cfg.MaxProcesses,
		Endpoint: func() string {
			if s.ln == nil {
				return ""
			}
			return "http://" + s.ln.Addr().String()
		},
		AccessKeyID: s.cfg.RootAccessKeyID, SecretAccessKey: s.cfg.RootSecretAccessKey,
	}, s.store.meta)
	if s.cfg.FunctionsExec {
		if err := os.MkdirAll(filepath.Join(s.cfg.DataDir, "functions"), 0o700); err != nil {
			return err
		}
		s.log.Warn("functions: subprocess handlers are enabled (--functions-exec): CreateFunction runs code on this machine")
	}
	s.router.Register(lambdaapi.New(svc, s.cfg.Account).Endpoint())
	s.closers = append(s.closers, svc.Close)
	return nil
}
