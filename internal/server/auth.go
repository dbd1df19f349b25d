package server

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/rheos/rheos/internal/arn"
	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/config"
	"github.com/rheos/rheos/internal/iampolicy"
	"github.com/rheos/rheos/internal/sigv4"
)

// verifier builds the front end's SigV4 verifier from the configured
// credentials (auth mode "verify"); nil in mode "none".
// cred is what the verifier knows about an access key.
type cred struct {
	secret    sigv4.Secret
	account   string
	authorize func(ctx context.Context, action, resource string) *awserr.Error
}

// credTable maps access key ids to credentials; it is replaced whole when
// the credentials are reloaded.
type credTable map[string]cred

// policyLookup returns the resource policy stored for an ARN ("{}" or an
// error when there is none).
type policyLookup func(ctx context.Context, arn string) (string, error)

// buildCreds builds the credential table of cfg.
func buildCreds(cfg config.Config, lookup policyLookup) (credTable, error) {
	creds := credTable{}
	if cfg.RootAccessKeyID != "" {
		creds[cfg.RootAccessKeyID] = cred{secret: sigv4.Secret{SecretAccessKey: cfg.RootSecretAccessKey}, account: cfg.Account}
	}
	for _, p := range cfg.Principals {
		acct := p.Account
		if acct == "" {
			acct = cfg.Account
		}
		var policies []iampolicy.Policy
		for i, doc := range p.Policies {
			pol, err := iampolicy.Parse(doc)
			if err != nil {
				return nil, fmt.Errorf("principal %s: policy %d: %w", p.Name, i, err)
			}
			policies = append(policies, pol)
		}
		creds[p.AccessKeyID] = cred{sigv4.Secret{SecretAccessKey: p.SecretAccessKey, SessionToken: p.SessionToken}, acct,
			authorizer(lookup, "arn:aws:iam::"+acct+":user/"+p.Name, acct, policies)}
	}
	return creds, nil
}

// verifier builds the front end's SigV4 verifier over the current
// credential table (auth mode "verify"); nil in mode "none".
func verifier(cfg config.Config, now func() time.Time, table *atomic.Pointer[credTable]) func(*http.Request, []byte, string) (awsproto.Identity, *awserr.Error) {
	if cfg.AuthMode != "verify" {
		return nil
	}
	return func(r *http.Request, body []byte, service string) (awsproto.Identity, *awserr.Error) {
		creds := *table.Load()
		lookup := func(id string) (sigv4.Secret, bool) { c, ok := creds[id]; return c.secret, ok }
		res, err := sigv4.Verify(r, body, lookup, now())
		if err != nil {
			e := err.(*sigv4.Error)
			ex := map[sigv4.Kind]awserr.Exception{
				sigv4.Missing: awserr.MissingAuthenticationToken, sigv4.Incomplete: awserr.IncompleteSignature,
				sigv4.Invalid: awserr.InvalidSignature, sigv4.Unrecognized: awserr.UnrecognizedClient,
			}[e.Kind]
			return awsproto.Identity{}, awserr.New(ex, e.Msg)
		}
		if res.Service != service {
			// AWS's answer on the endpoint of the service addressed.
			return awsproto.Identity{}, awserr.New(awserr.InvalidSignature, "Credential should be scoped to correct service: '"+service+"'. ")
		}
		c := creds[res.AccessKeyID]
		return awsproto.Identity{Region: res.Region, AccessKey: res.AccessKeyID, Account: c.account, Authorize: c.authorize}, nil
	}
}

// ReloadCredentials replaces the root credential and the principals (with
// their policies) without a restart: requests already verified keep their
// identity, new ones use the new table. The auth mode itself cannot change.
func (s *Server) ReloadCredentials(cfg config.Config) error {
	creds, err := buildCreds(cfg, s.resourcePolicy)
	if err != nil {
		return err
	}
	s.creds.Store(&creds)
	s.log.Info("credentials reloaded", "principals", len(cfg.Principals), "root", cfg.RootAccessKeyID != "")
	return nil
}

// authorizer evaluates a principal's identity policies together with the
// resource policy stored for the target (PutResourcePolicy): an explicit
// deny in either wins, an allow in either allows (same-account semantics).
func authorizer(lookup policyLookup, principal, account string, policies []iampolicy.Policy) func(context.Context, string, string) *awserr.Error {
	return func(ctx context.Context, action, resource string) *awserr.Error {
		all := policies
		if resource != "*" {
			if doc, err := lookup(ctx, resource); err == nil && doc != "{}" {
				if rp, err := iampolicy.Parse([]byte(doc)); err == nil {
					all = append(append([]iampolicy.Policy(nil), policies...), rp)
				}
			}
		}
		switch iampolicy.Evaluate(iampolicy.Request{Action: action, Resource: resource, Principal: principal, Account: account}, all...) {
		case iampolicy.Allow:
			return nil
		case iampolicy.ExplicitDeny:
			return awserr.New(awserr.AccessDenied, "User: "+principal+" is not authorized to perform: "+action+" on resource: "+resource+" with an explicit deny in an identity-based or resource-based policy")
		}
		return awserr.New(awserr.AccessDenied, "User: "+principal+" is not authorized to perform: "+action+" on resource: "+resource+" because no identity-based policy allows the "+action+" action")
	}
}

// resourcePolicy finds the resource policy of an ARN in the service the ARN
// names (arn:aws:<service>:...).
func (s *Server) resourcePolicy(ctx context.Context, resource string) (string, error) {
	a, ok := arn.Parse(resource)
	if !ok {
		return "{}", nil
	}
	lookup := s.policies[a.Service]
	if lookup == nil {
		return "{}", nil
	}
	return lookup(ctx, resource)
}
