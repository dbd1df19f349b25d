package restjson

import (
	"context"
	"net/http"
	"testing"

	"github.com/rheos/rheos/internal/awsmodel"
	"github.com/rheos/rheos/internal/awsmodel/lambdamodel"
	"github.com/rheos/rheos/internal/awsmodel/videomodel"
	"github.com/rheos/rheos/internal/awsproto"
)

// TestRoutesFromModel: every operation of the REST-JSON models Rheos will
// serve becomes a route, with the model's bindings and constraints.
func TestRoutesFromModel(t *testing.T) {
	noop := func(context.Context, *awsproto.Call) (any, error) { return nil, nil }
	for _, svc := range []*awsmodel.Service{lambdamodel.Model, videomodel.Model} {
		handlers := map[string]Handler{}
		for _, name := range svc.OperationNames() {
			handlers[name] = noop
		}
		routes, err := RoutesFromModel(svc, handlers)
		if err != nil || len(routes) != len(handlers) {
			t.Fatalf("%s: %d routes, %v", svc.Name, len(routes), err)
		}
		New(svc.SigningName, nil, routes...) // every path template parses
	}
	routes, _ := RoutesFromModel(lambdamodel.Model, map[string]Handler{"Invoke": noop, "ListFunctions": noop, "CreateFunction": noop})
	by := map[string]*Route{}
	for _, r := range routes {
		by[r.Op] = r
	}
	inv := by["Invoke"]
	if inv.Method != http.MethodPost || inv.Path != "/2015-03-31/functions/{FunctionName}/invocations" || inv.Payload != "Payload" || inv.Streaming {
		t.Errorf("Invoke route %+v", inv)
	}
	field := func(r *Route, name string) awsproto.Field {
		for _, f := range r.Input {
			if f.Name == name {
				return f
			}
		}
		t.Fatalf("%s has no member %s", r.Op, name)
		return awsproto.Field{}
	}
	if f := field(inv, "InvocationType"); f.In != awsproto.InHeader || f.WireName() != "X-Amz-Invocation-Type" || len(f.Shape.Enum) != 3 {
		t.Errorf("InvocationType %+v %+v", f, f.Shape)
	}
	if f := field(inv, "FunctionName"); f.In != awsproto.InURI || !f.Shape.Required || f.Shape.Pattern == "" {
		t.Errorf("FunctionName %+v %+v", f, f.Shape)
	}
	if f := field(by["ListFunctions"], "MaxItems"); f.In != awsproto.InQuery || *f.Shape.Min != 1 || *f.Shape.Max != 10000 {
		t.Errorf("MaxItems %+v %+v", f, f.Shape)
	}
	if cf := by["CreateFunction"]; cf.Status != 201 || !field(cf, "Role").Shape.Required || field(cf, "Code").Shape.Type != awsproto.Structure {
		t.Errorf("CreateFunction %+v", cf)
	}
}
