package server

import (
	"net/http"
	"time"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsproto"
	"github.com/rheos/rheos/internal/config"
	"github.com/rheos/rheos/internal/sigv4"
)

// verifier builds the front end's SigV4 verifier from the configured
// credentials (auth mode "verify"); nil in mode "none".
func verifier(cfg config.Config, now func() time.Time) func(*http.Request, []byte) (awsproto.Identity, *awserr.Error) {
	if cfg.AuthMode != "verify" {
		return nil
	}
	type cred struct {
		secret  sigv4.Secret
		account string
	}
	creds := map[string]cred{}
	if cfg.RootAccessKeyID != "" {
		creds[cfg.RootAccessKeyID] = cred{sigv4.Secret{SecretAccessKey: cfg.RootSecretAccessKey}, cfg.Account}
	}
	for _, p := range cfg.Principals {
		acct := p.Account
		if acct == "" {
			acct = cfg.Account
		}
		creds[p.AccessKeyID] = cred{sigv4.Secret{SecretAccessKey: p.SecretAccessKey, SessionToken: p.SessionToken}, acct}
	}
	lookup := func(id string) (sigv4.Secret, bool) { c, ok := creds[id]; return c.secret, ok }
	return func(r *http.Request, body []byte) (awsproto.Identity, *awserr.Error) {
		res, err := sigv4.Verify(r, body, lookup, now())
		if err != nil {
			e := err.(*sigv4.Error)
			ex := map[sigv4.Kind]awserr.Exception{
				sigv4.Missing: awserr.MissingAuthenticationToken, sigv4.Incomplete: awserr.IncompleteSignature,
				sigv4.Invalid: awserr.InvalidSignature, sigv4.Unrecognized: awserr.UnrecognizedClient,
			}[e.Kind]
			return awsproto.Identity{}, awserr.New(ex, e.Msg)
		}
		return awsproto.Identity{Region: res.Region, AccessKey: res.AccessKeyID, Account: creds[res.AccessKeyID].account}, nil
	}
}
