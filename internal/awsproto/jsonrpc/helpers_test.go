package jsonrpc

import (
	"github.com/rheos/rheos/internal/awsproto"
)

// newFront returns a router serving svc alone, as the server would.
func newFront(svc *Service) *awsproto.Router { return newFrontEnv(&awsproto.Env{}, svc) }

func newFrontEnv(env *awsproto.Env, svc *Service) *awsproto.Router {
	rt := awsproto.NewRouter(env)
	rt.Register(svc.Endpoint())
	return rt
}

// testSchema is a representative input schema (every shape type).
func testSchema() []awsproto.Field {
	F := func(n string, s *awsproto.Shape) awsproto.Field { return awsproto.Field{Name: n, Shape: s} }
	return []awsproto.Field{
		F("Records", &awsproto.Shape{Type: awsproto.List, Required: true, MinLen: awsproto.Len(1), MaxLen: awsproto.Len(500),
			Member: &awsproto.Shape{Type: awsproto.Structure, Fields: []awsproto.Field{
				F("PartitionKey", &awsproto.Shape{Type: awsproto.String, Required: true, MinLen: awsproto.Len(1), MaxLen: awsproto.Len(256)}),
				F("Data", &awsproto.Shape{Type: awsproto.Blob, Required: true, MaxLen: awsproto.Len(1 << 20)}),
			}}}),
		F("StreamName", &awsproto.Shape{Type: awsproto.String, Pattern: "[a-zA-Z0-9_.-]+", MinLen: awsproto.Len(1), MaxLen: awsproto.Len(128)}),
		F("ShardCount", &awsproto.Shape{Type: awsproto.Integer, Min: awsproto.I64(1), Max: awsproto.I64(100000)}),
	}
}
