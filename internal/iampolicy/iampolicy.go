// Package iampolicy owns the IAM policy subset Rheos enforces: documents
// with Allow/Deny statements over actions and resources with * and ?
// wildcards, optional principals (resource policies), and AWS's evaluation
// rule (an explicit Deny wins; otherwise any Allow allows; otherwise
// implicit deny). Conditions and Not* elements are not supported and make a
// statement never match (fail closed). It imports only the standard library.
package iampolicy

import (
	"encoding/json"
	"errors"
	"strings"
)

// Policy is a parsed policy document.
type Policy struct {
	Statements []Statement
}

// Statement is one statement.
type Statement struct {
	Effect     string // Allow or Deny
	Actions    []string
	Resources  []string
	Principals []string // AWS principals; nil for identity policies
	// Unsupported is set when the statement uses elements this subset does
	// not evaluate (Condition, NotAction, NotResource, NotPrincipal).
	Unsupported bool
}

// strings accepts a JSON string or array of strings.
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("iampolicy: expected a string or a list of strings")
	}
	*s = many
	return nil
}

// Parse parses a policy document.
func Parse(doc []byte) (Policy, error) {
	var raw struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal(doc, &raw); err != nil {
		return Policy{}, err
	}
	var stmts []map[string]json.RawMessage
	if len(raw.Statement) > 0 && raw.Statement[0] == '{' {
		var one map[string]json.RawMessage
		if err := json.Unmarshal(raw.Statement, &one); err != nil {
			return Policy{}, err
		}
		stmts = []map[string]json.RawMessage{one}
	} else if err := json.Unmarshal(raw.Statement, &stmts); err != nil {
		return Policy{}, errors.New("iampolicy: Statement must be an object or a list")
	}
	var p Policy
	for _, m := range stmts {
		var st Statement
		var effect string
		if err := json.Unmarshal(m["Effect"], &effect); err != nil || (effect != "Allow" && effect != "Deny") {
			return Policy{}, errors.New("iampolicy: Effect must be Allow or Deny")
		}
		st.Effect = effect
		var a, r stringList
		if v, ok := m["Action"]; ok {
			if err := json.Unmarshal(v, &a); err != nil {
				return Policy{}, err
			}
		}
		if v, ok := m["Resource"]; ok {
			if err := json.Unmarshal(v, &r); err != nil {
				return Policy{}, err
			}
		}
		st.Actions, st.Resources = a, r
		if v, ok := m["Principal"]; ok {
			var star string
			if json.Unmarshal(v, &star) == nil && star == "*" {
				st.Principals = []string{"*"}
			} else {
				var pm map[string]stringList
				if err := json.Unmarshal(v, &pm); err != nil {
					return Policy{}, errors.New("iampolicy: Principal must be \"*\" or {\"AWS\": ...}")
				}
				st.Principals = pm["AWS"]
				if st.Principals == nil {
					st.Principals = []string{} // other principal types never match here
				}
			}
		}
		for _, k := range []string{"Condition", "NotAction", "NotResource", "NotPrincipal"} {
			if _, ok := m[k]; ok {
				st.Unsupported = true
			}
		}
		p.Statements = append(p.Statements, st)
	}
	return p, nil
}

// Decision is an evaluation result.
type Decision int

// Decisions.
const (
	ImplicitDeny Decision = iota
	Allow
	ExplicitDeny
)

// Request is what is being authorized.
type Request struct {
	Action    string // e.g. kinesis:PutRecord
	Resource  string // ARN
	Principal string // the caller's ARN, e.g. arn:aws:iam::111122223333:user/alice
	Account   string // the caller's account
}

// Evaluate applies the policies to the request.
func Evaluate(req Request, policies ...Policy) Decision {
	d := ImplicitDeny
	for _, p := range policies {
		for _, st := range p.Statements {
			if st.Unsupported || !matchAny(st.Actions, req.Action, true) || !matchAny(st.Resources, req.Resource, false) {
				continue
			}
			if st.Principals != nil && !principalMatches(st.Principals, req) {
				continue
			}
			if st.Effect == "Deny" {
				return ExplicitDeny
			}
			d = Allow
		}
	}
	return d
}

func principalMatches(ps []string, req Request) bool {
	for _, p := range ps {
		switch {
		case p == "*":
			return true
		case p == req.Account || p == "arn:aws:iam::"+req.Account+":root":
			return true
		case p == req.Principal:
			return true
		}
	}
	return false
}

func matchAny(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			if Match(strings.ToLower(p), strings.ToLower(s)) {
				return true
			}
		} else if Match(p, s) {
			return true
		}
	}
	return false
}

// Match reports whether s matches the pattern with * (any run) and ? (any
// one character).
func Match(pattern, s string) bool {
	px, sx := 0, 0
	star, mark := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pattern) && (pattern[px] == '?' || pattern[px] == s[sx]):
			px++
			sx++
		case px < len(pattern) && pattern[px] == '*':
			star, mark = px, sx
			px++
		case star >= 0:
			px = star + 1
			mark++
			sx = mark
		default:
			return false
		}
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}
