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

// cred is what the verifier knows about an access key.
type cred struct {
	secret    sigv4.Secret
	account   string
	authorize func(ctx context.Context, action, resource string) *awserr.Error
	arn       string // the principal's ARN (the console shows it)
	root      bool   // the account's root credential
}

// credTable maps access key ids to credentials; it is replaced whole when
// the credentials are reloaded.
type credTable map[string]cred

// policyLookup returns the resource policy stored for an ARN ("{}" or an
// error when there is none).
type policyLookup func(ctx context.Context, arn string) (string, error)

// buildCreds builds the credential table of cfg. Every credential, the
// root's included, carries an authorizer: the root may do everything in its
// own account, and nothing in another account unless that account's
// resource policy grants it.
func buildCreds(cfg config.Config, lookup policyLookup) (credTable, error) {
	creds := credTable{}
	if cfg.RootAccessKeyID != "" {
		root := principal{arn: "arn:aws:iam::" + cfg.Account + ":root", account: cfg.Account, root: true}
		creds[cfg.RootAccessKeyID] = cred{secret: sigv4.Secret{SecretAccessKey: cfg.RootSecretAccessKey}, account: cfg.Account,
			authorize: authorizer(lookup, root), arn: root.arn, root: true}
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
		user := principal{arn: "arn:aws:iam::" + acct + ":user/" + p.Name, account: acct, policies: policies}
		creds[p.AccessKeyID] = cred{secret: sigv4.Secret{SecretAccessKey: p.SecretAccessKey, SessionToken: p.SessionToken}, account: acct,
			authorize: authorizer(lookup, user), arn: user.arn}
	}
	return creds, nil
}

// signingRegions are the regions a credential scope may name: the aws
// partition's and the server's own default region (so that an operator's
// "local" region works). Any other region would open a fresh namespace,
// with fresh account limits, for the price of a signature (issue 20).
func signingRegions(cfg config.Config) map[string]bool {
	regions := map[string]bool{cfg.Region: true}
	for _, r := range arn.Regions {
		regions[r] = true
	}
	return regions
}

// verifier builds the front end's SigV4 verifier over the current
// credential table (auth mode "verify"); nil in mode "none".
func verifier(cfg config.Config, now func() time.Time, table *atomic.Pointer[credTable]) func(*http.Request, []byte, string) (awsproto.Identity, *awserr.Error) {
	if cfg.AuthMode != "verify" {
		return nil
	}
	regions := signingRegions(cfg)
	return func(r *http.Request, body []byte, service string) (awsproto.Identity, *awserr.Error) {
		creds := *table.Load()
		lookup := func(id string) (sigv4.Secret, bool) { c, ok := creds[id]; return c.secret, ok }
		// Only S3 signs UNSIGNED-PAYLOAD; a streaming body (nil) is not
		// buffered, so it cannot be hashed here.
		opts := sigv4.Options{UnsignedPayload: service == "s3" || body == nil}
		res, err := sigv4.Verify(r, body, lookup, now(), opts)
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
		if !regions[res.Region] {
			return awsproto.Identity{}, awserr.New(awserr.InvalidSignature, "Credential should be scoped to a valid region, not '"+res.Region+"'. ")
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

// principal is who a credential belongs to.
type principal struct {
	arn      string // arn:aws:iam::ACCOUNT:user/NAME, or :root
	account  string
	root     bool // the account's root: every identity permission in its account
	policies []iampolicy.Policy
}

// resourcePolicyOps may be performed by a root locked out by its own
// resource policy: as on AWS (S3's bucket policies), the owner's root can
// always repair the policy.
var resourcePolicyOps = map[string]bool{
	"kinesis:PutResourcePolicy": true, "kinesis:GetResourcePolicy": true, "kinesis:DeleteResourcePolicy": true,
}

// authorizer evaluates a call as AWS does (IAM's policy evaluation logic):
//
//   - an explicit Deny in the caller's identity policies or in the
//     resource's policy wins (for the root too, except that the owner's
//     root may always manage the resource policy);
//   - in the caller's own account, an Allow in an identity policy, or a
//     resource-policy Allow naming the caller itself (its ARN or "*"),
//     allows; a resource policy naming only the account defers to the
//     account's identity policies;
//   - across accounts both must allow: the caller's identity policies and
//     the owner's resource policy naming the caller, its account or "*".
//
// The resource is the canonical ARN the call acts on (the service resolves
// it), or "*" for calls on the caller's own account (ListStreams); its
// account decides which case applies.
func authorizer(lookup policyLookup, p principal) func(context.Context, string, string) *awserr.Error {
	return func(ctx context.Context, action, resource string) *awserr.Error {
		owner := p.account
		var rp []iampolicy.Policy
		if resource != "*" {
			a, ok := arn.Parse(resource)
			if !ok {
				return awserr.New(awserr.AccessDenied, "User: "+p.arn+" is not authorized to perform: "+action+" on resource: "+resource)
			}
			owner = a.Account
			if a.Service == "s3" && a.Account == "" {
				// S3's ARNs name no account; the store refuses buckets
				// of other accounts, so the bucket is the caller's.
				owner = p.account
			}
			if doc, err := lookup(ctx, resource); err == nil && doc != "{}" {
				if pol, err := iampolicy.Parse([]byte(doc)); err == nil {
					rp = []iampolicy.Policy{pol}
				}
			}
		}
		req := iampolicy.Request{Action: action, Resource: resource, Principal: p.arn, Account: p.account}
		// A root's identity permissions are everything; across accounts the
		// owner's resource policy still decides.
		identity := iampolicy.Allow
		if !p.root {
			identity = iampolicy.Evaluate(req, p.policies...)
		}
		shared := iampolicy.Evaluate(req, rp...) // naming the caller, its account or "*"
		direct := req
		direct.Account = "" // only the caller's own ARN or "*" match
		named := iampolicy.Evaluate(direct, rp...)
		deny := func() *awserr.Error {
			return awserr.New(awserr.AccessDenied, "User: "+p.arn+" is not authorized to perform: "+action+" on resource: "+resource+" with an explicit deny in an identity-based or resource-based policy")
		}
		switch {
		case identity == iampolicy.ExplicitDeny:
			return deny()
		case shared == iampolicy.ExplicitDeny && !(p.root && owner == p.account && resourcePolicyOps[action]):
			return deny()
		case owner == p.account && (identity == iampolicy.Allow || named == iampolicy.Allow):
			return nil
		case owner != p.account && identity == iampolicy.Allow && shared == iampolicy.Allow:
			return nil
		case owner != p.account && identity == iampolicy.Allow:
			return awserr.New(awserr.AccessDenied, "User: "+p.arn+" is not authorized to perform: "+action+" on resource: "+resource+" because no resource-based policy allows the "+action+" action")
		}
		return awserr.New(awserr.AccessDenied, "User: "+p.arn+" is not authorized to perform: "+action+" on resource: "+resource+" because no identity-based policy allows the "+action+" action")
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
