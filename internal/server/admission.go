package server

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsproto"
)

// This file sets what a caller can make the server hold before and while
// it is served (config.Limits, docs/SECURITY.md "Limits"): the in-flight
// budget and each principal's share of it, the body and answer deadlines,
// and, with verification on, the header check that admits a request before
// any of its body is read.

// applyLimits configures the protocol environment from the limits section.
// It runs in New, before anything is served.
func (s *Server) applyLimits(env *awsproto.Env) {
	l := s.cfg.Limits
	env.Budget = awsproto.NewBudget(l.InflightBytes, l.PrincipalBytes)
	env.BodyTimeout = time.Duration(l.BodyTimeout)
	env.MinDataRate = l.MinDataRate
	env.BodyGrace = time.Duration(l.BodyGrace)
	env.WriteTimeout = time.Duration(l.WriteTimeout)
	if env.Verify != nil {
		env.Precheck = admission(env.Verify, s.creds)
	}
}

// admission is the header check of auth mode verify: a request is admitted
// (and its body read, within its access key's share of the budget) only if
// it carries a well-formed signature naming a known access key. A request
// that does not is answered by the verifier itself, asked with no body: it
// reports what the headers lack (missing or malformed signature, unknown
// key) before it looks at the body, in AWS's words, so there is one source
// for them. (Should the verifier accept the headers with no body after
// all, the request is admitted under the key it verified.)
func admission(verify func(*http.Request, []byte, string) (awsproto.Identity, *awserr.Error), table *atomic.Pointer[credTable]) func(*http.Request, string) (string, *awserr.Error) {
	return func(r *http.Request, service string) (string, *awserr.Error) {
		if sc, aerr := awsproto.CheckSignature(r); aerr == nil {
			if _, known := (*table.Load())[sc.AccessKey]; known {
				return sc.AccessKey, nil
			}
		}
		id, aerr := verify(r, nil, service)
		if aerr != nil {
			return "", aerr
		}
		return id.AccessKey, nil
	}
}
