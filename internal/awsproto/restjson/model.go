package restjson

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/rheos/rheos/internal/awserr"
	"github.com/rheos/rheos/internal/awsmodel"
	"github.com/rheos/rheos/internal/awsproto"
)

// Handler runs one operation (Route.Handle).
type Handler = func(ctx context.Context, c *awsproto.Call) (any, error)

// RoutesFromModel builds the routes of the operations named in handlers
// from a REST-JSON service model: method, path template (the request URI
// without its query part), input members with their locations and AWS's
// constraints, payload and streaming members, and the success status. An
// operation the model lacks is an error.
func RoutesFromModel(svc *awsmodel.Service, handlers map[string]Handler) ([]*Route, error) {
	names := make([]string, 0, len(handlers))
	for n := range handlers {
		names = append(names, n)
	}
	sort.Strings(names) // deterministic route order
	var routes []*Route
	for _, name := range names {
		op := svc.Operation(name)
		if op == nil {
			return nil, fmt.Errorf("restjson: %s has no operation %s", svc.Name, name)
		}
		path, _, _ := strings.Cut(op.RequestURI, "?")
		r := &Route{Op: name, Method: op.Method, Path: path, Status: op.SuccessCode(), Handle: handlers[name]}
		if in := svc.Shape(op.Input); in != nil {
			fields, err := awsproto.FieldsFromModel(svc, op.Input)
			if err != nil {
				return nil, err
			}
			r.Input = fields
			if in.Payload != "" {
				r.Payload = in.Payload
				for _, m := range in.Members {
					if m.Name == in.Payload && (m.Streaming || svc.Shape(m.Shape) != nil && svc.Shape(m.Shape).Streaming) {
						r.Streaming = true
					}
				}
			}
		}
		routes = append(routes, r)
	}
	return routes, nil
}

// ModelException is the exception name as the models declare it: its HTTP
// status from the first model that lists it (400 when none does), that
// status for REST answers, retryable for 429 and 5xx.
func ModelException(name string, models ...*awsmodel.Service) awserr.Exception {
	st := 400
	for _, m := range models {
		if s, ok := m.ErrorStatus(name); ok {
			st = s
			break
		}
	}
	return awserr.Exception{Name: name, Status: st, RESTStatus: st, Retryable: st == 429 || st >= 500}
}
