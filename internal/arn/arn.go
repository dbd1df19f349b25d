// Package arn owns Amazon Resource Names as every service of Rheos writes and
// reads them: arn:partition:service:region:account:resource, and the scope
// (account and region) a resource lives in. It is a leaf: services build
// their resource paths on it without importing each other.
package arn

import "strings"

// Partition is the partition of every ARN Rheos issues.
const Partition = "aws"

// ARN is a parsed resource name.
type ARN struct {
	Partition, Service, Region, Account string
	// Resource is everything after the account, e.g. "stream/orders".
	Resource string
}

// Scope is where a resource lives: an account and a region.
type Scope struct {
	Account, Region string
}

// New returns the ARN of resource in service and scope.
func New(service string, sc Scope, resource string) ARN {
	return ARN{Partition: Partition, Service: service, Region: sc.Region, Account: sc.Account, Resource: resource}
}

// Parse splits s into its parts. It checks the shape (six colon-separated
// parts, "arn" first, service and resource non-empty) and the partition:
// Rheos lives in the aws partition, so an ARN of another one (aws-cn,
// aws-us-gov, anything else) names nothing here and does not parse.
// Services check their own resource paths. A parsed ARN's String is the
// canonical form every lookup and authorization uses.
func Parse(s string) (ARN, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] != Partition || parts[2] == "" || parts[5] == "" {
		return ARN{}, false
	}
	return ARN{Partition: parts[1], Service: parts[2], Region: parts[3], Account: parts[4], Resource: parts[5]}, true
}

// ForeignPartition reports whether s has the shape of an ARN but names a
// partition other than Rheos's (for the error that says so).
func ForeignPartition(s string) (string, bool) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) == 3 && parts[0] == "arn" && parts[1] != Partition {
		return parts[1], true
	}
	return "", false
}

// Scope returns the account and region of the ARN.
func (a ARN) Scope() Scope { return Scope{Account: a.Account, Region: a.Region} }

// String formats the ARN.
func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.Account + ":" + a.Resource
}

// CutResource returns the rest of the resource after the given type prefix
// ("stream/"), and whether the ARN is of that service and type.
func (a ARN) CutResource(service, typ string) (string, bool) {
	if a.Service != service {
		return "", false
	}
	rest, ok := strings.CutPrefix(a.Resource, typ)
	return rest, ok && rest != ""
}
