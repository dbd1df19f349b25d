package modelgen

import (
	"reflect"
	"strings"
	"testing"

	"github.com/rheos/rheos/internal/awsmodel"
)

// tiny is a service-2.json in botocore's layout, small enough to read: a
// REST-JSON service whose members are deliberately not in sorted order.
const tiny = `{
  "version": "2.0",
  "metadata": {"apiVersion": "2020-01-01", "endpointPrefix": "tiny", "protocol": "rest-json",
    "serviceFullName": "Tiny Service", "serviceId": "Tiny", "uid": "tiny-2020-01-01"},
  "operations": {
    "PutThing": {"name": "PutThing", "http": {"method": "PUT", "requestUri": "/things/{Name}", "responseCode": 201},
      "input": {"shape": "PutThingRequest"}, "output": {"shape": "PutThingResponse"},
      "errors": [{"shape": "NotFound"}, {"shape": "Busy"}], "documentation": "<p>Puts.</p>"},
    "Unused": {"name": "Unused", "http": {"method": "GET", "requestUri": "/unused"},
      "input": {"shape": "UnusedRequest"}, "frobnicate": true}
  },
  "shapes": {
    "PutThingRequest": {"type": "structure", "required": ["Name", "Body"],
      "members": {
        "Zeta": {"shape": "Count", "location": "querystring", "locationName": "zeta"},
        "Name": {"shape": "Name", "location": "uri", "locationName": "Name"},
        "Body": {"shape": "Data"},
        "Alpha": {"shape": "Tags", "location": "header", "locationName": "X-Alpha"}
      }, "payload": "Body"},
    "PutThingResponse": {"type": "structure", "members": {"Status": {"shape": "Count", "location": "statusCode"}}},
    "Count": {"type": "integer", "min": 0, "max": 100},
    "Ratio": {"type": "double", "min": 0.0, "max": 1.0},
    "Name": {"type": "string", "min": 1, "max": 64, "pattern": "[a-z]+\\d*", "documentation": "a name"},
    "Data": {"type": "blob", "streaming": true},
    "Tags": {"type": "list", "member": {"shape": "Kind"}, "max": 3},
    "Kind": {"type": "string", "enum": ["b", "a"]},
    "NotFound": {"type": "structure", "members": {}, "exception": true, "error": {"httpStatusCode": 404, "senderFault": true}},
    "Busy": {"type": "structure", "members": {"message": {"shape": "Name"}}, "exception": true, "fault": true},
    "UnusedRequest": {"type": "structure", "members": {"X": {"shape": "Weird"}}},
    "Weird": {"type": "string", "someNewTrait": 1}
  }
}`

var tinyTarget = Target{Service: "tiny", Version: "2020-01-01", Package: "tinymodel",
	Operations: []string{"PutThing"}, Why: "a test"}

func TestConvert(t *testing.T) {
	svc, err := Convert([]byte(tiny), tinyTarget)
	if err != nil {
		t.Fatal(err)
	}
	if svc.SigningName != "tiny" {
		t.Errorf("SigningName = %q, want the endpoint prefix", svc.SigningName)
	}
	if !reflect.DeepEqual(svc.Omitted, []string{"Unused"}) {
		t.Errorf("Omitted = %v", svc.Omitted)
	}
	op := svc.Operation("PutThing")
	want := &awsmodel.Operation{Name: "PutThing", Method: "PUT", RequestURI: "/things/{Name}", ResponseCode: 201,
		Input: "PutThingRequest", Output: "PutThingResponse", Errors: []string{"NotFound", "Busy"}}
	if !reflect.DeepEqual(op, want) {
		t.Errorf("PutThing = %+v\nwant %+v", op, want)
	}
	in := svc.Shape("PutThingRequest")
	var names []string
	for _, m := range in.Members {
		names = append(names, m.Name)
	}
	if !reflect.DeepEqual(names, []string{"Zeta", "Name", "Body", "Alpha"}) {
		t.Errorf("members in %v, want model order", names)
	}
	if m, _ := in.Member("Name"); !m.Required || m.Location != awsmodel.URI {
		t.Errorf("Name = %+v", m)
	}
	if m, _ := in.Member("Zeta"); m.Required || m.Location != awsmodel.Query || m.LocationName != "zeta" {
		t.Errorf("Zeta = %+v", m)
	}
	if svc.Shape("Ratio") != nil {
		t.Error("an unreachable shape was kept")
	}
	if svc.Shape("UnusedRequest") != nil || svc.Shape("Weird") != nil {
		t.Error("an omitted operation's shapes were kept")
	}
	if k := svc.Shape("Kind"); !reflect.DeepEqual(k.Enum, []string{"b", "a"}) {
		t.Errorf("enum %v, want model order", k.Enum)
	}
	if st, ok := svc.ErrorStatus("NotFound"); !ok || st != 404 || !svc.Shape("NotFound").SenderFault {
		t.Errorf("NotFound status %d %v", st, ok)
	}
	if b := svc.Shape("Busy"); !b.Fault || b.ErrorStatus != 0 {
		t.Errorf("Busy = %+v", b)
	}
	if n := svc.Shape("Name"); *n.Min != 1 || *n.Max != 64 || n.Pattern != `[a-z]+\d*` {
		t.Errorf("Name = %+v", n)
	}
	if !svc.Shape("Data").Streaming {
		t.Error("Data not streaming")
	}
}

func TestConvertIsStrict(t *testing.T) {
	all := tinyTarget
	all.Operations = nil
	_, err := Convert([]byte(tiny), all)
	if err == nil || !strings.Contains(err.Error(), "frobnicate") {
		t.Errorf("an unknown operation trait: %v", err)
	}
	for name, edit := range map[string][2]string{
		"unknown shape trait":   {`"max": 3}`, `"max": 3, "wrapper": true}`},
		"unknown member trait":  {`"Body": {"shape": "Data"}`, `"Body": {"shape": "Data", "jsonvalue": true}`},
		"unknown location":      {`"location": "querystring"`, `"location": "cookie"`},
		"fractional bound":      {`"max": 100}`, `"max": 100.5}`},
		"missing shape":         {`"member": {"shape": "Kind"}`, `"member": {"shape": "Nope"}`},
		"required non-member":   {`"required": ["Name", "Body"]`, `"required": ["Name", "Nobody"]`},
		"unknown type":          {`"type": "blob"`, `"type": "document"`},
		"unknown protocol":      {`"protocol": "rest-json"`, `"protocol": "query"`},
		"error code":            {`"httpStatusCode": 404`, `"httpStatusCode": 404, "code": "NoThing"`},
		"operation not present": {`"PutThing": {"name": "PutThing"`, `"PutOther": {"name": "PutOther"`},
	} {
		if !strings.Contains(tiny, edit[0]) {
			t.Fatalf("%s: %q not in the model", name, edit[0])
		}
		if _, err := Convert([]byte(strings.Replace(tiny, edit[0], edit[1], 1)), tinyTarget); err == nil {
			t.Errorf("%s: converted without error", name)
		}
	}
}

func TestRenderIsGoAndStable(t *testing.T) {
	svc, err := Convert([]byte(tiny), tinyTarget)
	if err != nil {
		t.Fatal(err)
	}
	src := Source{Botocore: "0.0.1", File: "data/tiny/2020-01-01/service-2.json"}
	a, err := Render(svc, tinyTarget, src)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		b, err := Render(svc, tinyTarget, src)
		if err != nil {
			t.Fatal(err)
		}
		if d := FirstDiff(a, b); d != "" {
			t.Fatalf("renderings differ: %s", d)
		}
	}
	out := string(a)
	for _, want := range []string{
		"// Code generated by \"go run ./internal/awsmodel/gen\" from botocore 0.0.1 (data/tiny/2020-01-01/service-2.json). DO NOT EDIT.\n\n// Package tinymodel",
		"restricted to the operations Rheos serves or calls: a test.",
		"Pattern: `[a-z]+\\d*`",
		`{Name: "Zeta", Shape: "Count", Location: awsmodel.Query, LocationName: "zeta"},`,
		`Enum: []string{"b", "a"}`,
		`ErrorStatus: 404`,
		`ResponseCode: 201`,
		"Omitted: []string{\n\t\t\"Unused\",\n\t},",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("rendering lacks %q:\n%s", want, out)
		}
	}
}

func TestFirstDiff(t *testing.T) {
	if d := FirstDiff([]byte("a\nb\n"), []byte("a\nb\n")); d != "" {
		t.Errorf("equal: %q", d)
	}
	if d := FirstDiff([]byte("a\nb\n"), []byte("a\nc\n")); !strings.Contains(d, "line 2") {
		t.Errorf("differ at 2: %q", d)
	}
	if d := FirstDiff([]byte("a\n"), []byte("a\nb\n")); !strings.Contains(d, "line 2") {
		t.Errorf("longer: %q", d)
	}
}
