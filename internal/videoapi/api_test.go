package videoapi

import (
	"testing"

	"github.com/rheos/rheos/internal/awsmodel/videomodel"
	"github.com/rheos/rheos/internal/video"
)

// TestEveryOperationServed: every operation of the model has a route, and
// every domain kind an exception with the model's REST status.
func TestEveryOperationServed(t *testing.T) {
	svc := New(video.New(video.Config{Account: "000000000000"}, nil), "000000000000", nil)
	if got, want := len(svc.PathPrefixes), len(videomodel.Model.OperationNames()); got != want {
		t.Fatalf("%d routes for %d operations", got, want)
	}
	for k := video.KindNotFound; k < video.KindInternal; k++ {
		if _, ok := exceptionOf[k]; !ok {
			t.Errorf("kind %d has no exception", k)
		}
	}
	for name, want := range map[string]int{"ResourceNotFoundException": 404, "NotAuthorizedException": 401,
		"InvalidArgumentException": 400, "VersionMismatchException": 400, "StreamEdgeConfigurationNotFoundException": 404} {
		if ex, ok := Exceptions.Lookup(name); !ok || ex.RESTStatus != want {
			t.Errorf("%s: %+v %v, want REST status %d", name, ex, ok, want)
		}
	}
	if exAccessDenied.RESTStatus != 401 {
		t.Errorf("AccessDeniedException %d", exAccessDenied.RESTStatus)
	}
}
