package awsproto

import (
	"net/http"
	"strings"

	"github.com/rheos/rheos/internal/awserr"
)

// Scope is a SigV4 credential scope: AKID/date/region/service/aws4_request.
type Scope struct {
	AccessKey, Date, Region, Service string
}

// ScopeOf returns the credential scope of a signed request (Authorization
// header or presigned query), as far as it can be read; the zero Scope for
// an unsigned or unreadable one. It verifies nothing.
func ScopeOf(r *http.Request) Scope {
	cred := ""
	if auth := r.Header.Get("Authorization"); auth != "" {
		if i := strings.Index(auth, "Credential="); i >= 0 {
			cred = auth[i+len("Credential="):]
			if j := strings.IndexAny(cred, ", "); j >= 0 {
				cred = cred[:j]
			}
		}
	} else if r.URL.RawQuery != "" && strings.Contains(r.URL.RawQuery, "X-Amz-Credential") {
		cred = r.URL.Query().Get("X-Amz-Credential")
	}
	parts := strings.Split(cred, "/")
	var sc Scope
	if len(parts) > 0 {
		sc.AccessKey = parts[0]
	}
	if len(parts) > 1 {
		sc.Date = parts[1]
	}
	if len(parts) > 2 {
		sc.Region = parts[2]
	}
	if len(parts) > 3 {
		sc.Service = parts[3]
	}
	return sc
}

// CheckSignature checks that the request carries a well-formed SigV4
// authorization (header or query) and returns its credential scope. It
// does not verify the signature: that is the Env's Verify (sigv4).
func CheckSignature(r *http.Request) (Scope, *awserr.Error) {
	auth := r.Header.Get("Authorization")
	q := r.URL.Query()
	_, hasQuery := q["X-Amz-Algorithm"]
	if auth != "" && hasQuery {
		return Scope{}, awserr.New(awserr.InvalidSignature, "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.")
	}
	if auth == "" && !hasQuery {
		return Scope{}, awserr.New(awserr.MissingAuthenticationToken, "Missing Authentication Token")
	}
	if auth != "" {
		params := map[string]string{}
		fields := strings.FieldsFunc(auth, func(r rune) bool { return r == ',' || r == ' ' })
		if len(fields) > 0 {
			fields = fields[1:] // the algorithm; a header of only separators has none
		}
		for _, p := range fields {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			params[k] = v
		}
		msg := ""
		for _, p := range []string{"Credential", "Signature", "SignedHeaders"} {
			if params[p] == "" {
				msg += "Authorization header requires '" + p + "' parameter. "
			}
		}
		if r.Header.Get("X-Amz-Date") == "" && r.Header.Get("Date") == "" {
			msg += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
		}
		if msg != "" {
			return Scope{}, awserr.New(awserr.IncompleteSignature, msg+"Authorization="+auth)
		}
	} else {
		msg := ""
		for _, p := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date"} {
			if q.Get(p) == "" {
				msg += "AWS query-string parameters must include '" + p + "'. "
			}
		}
		if msg != "" {
			return Scope{}, awserr.New(awserr.IncompleteSignature, msg+"Re-examine the query-string parameters.")
		}
	}
	return ScopeOf(r), nil
}
