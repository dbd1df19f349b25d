package arn

import (
	"encoding/json"
	"os/exec"
	"slices"
	"testing"
)

// TestRegionsMatchBotocore compares Regions with the aws partition of the
// machine's botocore. Skipped only without python3 or botocore.
func TestRegionsMatchBotocore(t *testing.T) {
	out, err := exec.Command("python3", "-c", `import json,os,botocore
p=json.load(open(os.path.join(os.path.dirname(botocore.__file__),"data","partitions.json")))
print(json.dumps(sorted(r for r in next(x for x in p["partitions"] if x["id"]=="aws")["regions"] if r!="aws-global")))`).Output()
	if err != nil {
		t.Skipf("no botocore to compare with: %v", err)
	}
	var want []string
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	for _, r := range want {
		if !slices.Contains(Regions, r) {
			t.Errorf("botocore's aws partition has %s; Regions does not (a new region: add it)", r)
		}
	}
	for _, r := range Regions {
		if !slices.Contains(want, r) {
			t.Errorf("Regions has %s; botocore's aws partition does not", r)
		}
	}
}
