package rheos_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/rheos/rheos/"

// allowed lists, for each package (path under the module), the Rheos
// packages it may import. This is STYLE.md's import rule as data:
// leaves import only leaves; storage imports only leaves; the domain imports
// leaves (storage only through interfaces it declares); API packages import
// the protocol, the error catalog and their one domain; server imports all;
// cmd imports only the command layer.
var allowed = map[string][]string{
	"internal/vfs":    {},
	"internal/seqnum": {},
	// AWS service models as data: a leaf and its generated packages.
	"internal/awsmodel":                     {},
	"internal/awsmodel/analyticsmodel":      {"internal/awsmodel"},
	"internal/awsmodel/analyticsv2model":    {"internal/awsmodel"},
	"internal/awsmodel/firehosemodel":       {"internal/awsmodel"},
	"internal/awsmodel/gluemodel":           {"internal/awsmodel"},
	"internal/awsmodel/kinesismodel":        {"internal/awsmodel"},
	"internal/awsmodel/kmsmodel":            {"internal/awsmodel"},
	"internal/awsmodel/lambdamodel":         {"internal/awsmodel"},
	"internal/awsmodel/s3model":             {"internal/awsmodel"},
	"internal/awsmodel/videoarchivemodel":   {"internal/awsmodel"},
	"internal/awsmodel/videomediamodel":     {"internal/awsmodel"},
	"internal/awsmodel/videomodel":          {"internal/awsmodel"},
	"internal/awsmodel/videosignalingmodel": {"internal/awsmodel"},
	"internal/awsmodel/videowebrtcmodel":    {"internal/awsmodel"},
	"internal/awsmodel/modelgen":            {"internal/awsmodel"},
	"internal/awsmodel/gen":                 {"internal/awsmodel/modelgen"}, // the generator command
	"internal/functions":                    {"internal/arn"},
	"internal/lambdaapi":                    {"internal/awsproto", "internal/awsproto/restjson", "internal/awserr", "internal/awsmodel/lambdamodel", "internal/functions"},
	"internal/firehose":                     {"internal/quota", "internal/envelope", "internal/arn", "internal/kpl", "internal/icebergsink"},
	"internal/icebergsink":                  {},
	"internal/analytics/nexmark":            {},
	"internal/analytics/apprun":             {"internal/analytics", "internal/analytics/engine", "internal/analytics/sql"},
	"internal/glue":                         {},
	"internal/analytics":                    {},
	"internal/video":                        {"internal/video/mkv"},
	"internal/video/mkv":                    {}, // Matroska reader/writer: a leaf
	"internal/videomedia":                   {"internal/awsproto", "internal/awsproto/restjson", "internal/awserr", "internal/awsmodel/videomediamodel", "internal/awsmodel/videoarchivemodel", "internal/video"},
	"internal/videoplay/pack":               {"internal/video/mkv"}, // packaging (fMP4, MPEG-TS, MP4) of stored fragments: a leaf over mkv
	"internal/videoplay":                    {"internal/awsproto", "internal/awsproto/restjson", "internal/awserr", "internal/awsmodel/videoarchivemodel", "internal/video", "internal/video/mkv", "internal/videoplay/pack"},
	"internal/videoapi":                     {"internal/awsproto", "internal/awsproto/restjson", "internal/awserr", "internal/awsmodel/videomodel", "internal/video"},
	"internal/analyticsapi":                 {"internal/awsproto", "internal/awsproto/jsonrpc", "internal/awserr", "internal/awsmodel", "internal/awsmodel/analyticsmodel", "internal/awsmodel/analyticsv2model", "internal/analytics"},
	"internal/glueapi":                      {"internal/awsproto", "internal/awsproto/jsonrpc", "internal/awserr", "internal/awsmodel/gluemodel", "internal/glue"},
	"internal/firehoseapi":                  {"internal/awsproto", "internal/awsproto/jsonrpc", "internal/awserr", "internal/awsmodel/firehosemodel", "internal/firehose", "internal/arn"},
	"internal/arn":                          {},
	"internal/hashkey":                      {},
	"internal/analytics/sql":                {}, // KDA SQL lexer/parser/AST: a leaf, standard library only
	"internal/analytics/engine":             {"internal/analytics/sql"},
	"internal/awserr":                       {},
	"internal/streamlog":                    {"internal/vfs", "internal/blob"}, // blob: tiered segments
	"internal/metastore":                    {},
	"internal/metastore/metatest":           {"internal/metastore"}, // the KV conformance suite, for tests
	"internal/metastore/etcdstore":          {"internal/metastore"}, // the KV contract on etcd (client/v3)
	"internal/clustertest":                  {},                     // test support: etcd member, versitygw, the storage matrix
	"internal/blob":                         {},                     // the blob.Store contract: a leaf
	"internal/blob/local":                   {"internal/blob"},
	"internal/blob/s3":                      {"internal/blob"},
	"internal/blob/blobtest":                {"internal/blob"}, // the conformance suite
	"internal/objectstore":                  {"internal/vfs"},
	"internal/s3api":                        {"internal/awsproto", "internal/awserr", "internal/objectstore"},
	"internal/datastream":                   {"internal/hashkey", "internal/seqnum", "internal/quota", "internal/envelope", "internal/arn"},
	"internal/envelope":                     {"internal/vfs"},
	"internal/quota":                        {},
	"internal/awsproto":                     {"internal/awserr", "internal/awsmodel"},
	"internal/awsproto/eventstream":         {},
	"internal/awsproto/jsonrpc":             {"internal/awsproto", "internal/awserr", "internal/awsproto/eventstream"},
	"internal/awsproto/restjson":            {"internal/awsproto", "internal/awserr", "internal/awsproto/eventstream", "internal/awsmodel"},
	"internal/kinesisapi":                   {"internal/awsproto", "internal/awsproto/jsonrpc", "internal/awsproto/eventstream", "internal/awserr", "internal/datastream", "internal/arn"},
	"internal/config":                       {},
	"internal/server":                       {"*"},
	"internal/loadtest":                     {"internal/sdktest"},
	"internal/cli":                          {"internal/server", "internal/config", "internal/loadtest", "internal/kpl", "internal/analytics/engine", "internal/signaling/signalingclient", "internal/cli/webrtcdemo"},
	"internal/cli/webrtcdemo":               {}, // the embedded browser viewer of `rheos video webrtc-demo`: a leaf
	"internal/console":                      {}, // the web console: sessions, pages, embedded assets; reaches services only through the Backend server supplies
	"internal/kpl":                          {},
	"internal/sigv4":                        {},
	"internal/signaling":                    {}, // the WebRTC signaling relay: a domain with no Rheos imports
	"internal/turnserver":                   {}, // the built-in STUN/TURN server (pion/turn): a leaf
	"internal/signaling/signalingapi":       {"internal/awsproto", "internal/awsproto/restjson", "internal/awserr", "internal/awsmodel/videosignalingmodel", "internal/signaling"},
	"internal/signaling/signalingclient":    {}, // a Go client of the signaling WebSocket, for tests and tools
	"internal/webrtcingest":                 {}, // WebRTC ingestion (JoinStorageSession): a domain with no Rheos imports
	"internal/webrtcingest/webrtcingestapi": {"internal/awsproto", "internal/awsproto/restjson", "internal/awserr", "internal/awsmodel/videowebrtcmodel", "internal/webrtcingest"},
	"internal/sdktest":                      {},
	"internal/metrics":                      {},
	"internal/iampolicy":                    {},
	"cmd/rheos":                             {"internal/cli"},
}

func TestImportRules(t *testing.T) {
	seen := map[string]bool{}
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		pkg := filepath.ToSlash(filepath.Dir(path))
		if pkg == "." {
			return nil
		}
		rules, ok := allowed[pkg]
		if !ok {
			t.Errorf("package %s has no entry in the import rules (arch_test.go): add one", pkg)
			return nil
		}
		seen[pkg] = true
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(p, module) {
				continue
			}
			dep := strings.TrimPrefix(p, module)
			ok := false
			for _, a := range rules {
				ok = ok || a == "*" || a == dep
			}
			if !ok {
				t.Errorf("%s imports %s, which the import rules forbid", path, dep)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for pkg := range allowed {
		if !seen[pkg] {
			t.Errorf("import rules name %s, which has no Go files", pkg)
		}
	}
}
