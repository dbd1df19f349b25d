package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/rheos/rheos/internal/video/mkv"
)

var videoCreds = aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}

// videoCall makes a signed kinesisvideo REST-JSON call and returns the
// status and body.
func videoCall(t *testing.T, addr, path string, body any) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(b)
	if err := v4.NewSigner().SignHTTP(context.Background(), videoCreds, req, hex.EncodeToString(sum[:]), "kinesisvideo", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// slowReader hands the body out in small pieces with pauses, as a camera
// sends, so that a kill lands in the middle of a cluster.
type slowReader struct {
	b     []byte
	pause time.Duration
}

func (s *slowReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	time.Sleep(s.pause)
	n := copy(p[:min(len(p), 2048)], s.b)
	s.b = s.b[n:]
	return n, nil
}

// TestVideoPutMediaSurvivesKill9: the server is killed with SIGKILL ten
// times while a producer streams Matroska into PutMedia; after each
// restart every fragment acknowledged PERSISTED before the kill is listed
// and served whole, and nothing partial is served.
func TestVideoPutMediaSurvivesKill9(t *testing.T) {
	fixture, err := os.ReadFile("../internal/video/testdata/test.mkv")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	addr := freePort(t)
	persisted := map[string]bool{}
	rng := rand.New(rand.NewPCG(7, 11))
	for cycle := 0; cycle < 10; cycle++ {
		p := startServer(t, dir, addr)
		if cycle == 0 {
			if st, b := videoCall(t, addr, "/createStream", map[string]any{"StreamName": "cam", "DataRetentionInHours": 24}); st != 200 {
				t.Fatalf("createStream: %d %s", st, b)
			}
			time.Sleep(100 * time.Millisecond) // CREATING → ACTIVE
		}
		checkFragments(t, addr, persisted, cycle)
		// Stream the fixture slowly; kill the server part way.
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/putMedia", &slowReader{b: fixture, pause: 3 * time.Millisecond})
		req.Header.Set("x-amzn-stream-name", "cam")
		req.Header.Set("x-amzn-fragment-timecode-type", "RELATIVE")
		req.Header.Set("x-amzn-producer-start-timestamp", fmt.Sprintf("%d.000", 1767225600+cycle*100))
		req.Header.Set("x-amzn-fragment-acknowledgment-required", "1")
		if err := v4.NewSigner().SignHTTP(context.Background(), videoCreds, req, "UNSIGNED-PAYLOAD", "kinesisvideo", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		acked := make(chan []string, 1)
		go func() {
			var got []string
			defer func() { acked <- got }()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				var a struct{ EventType, FragmentNumber string }
				if json.Unmarshal(sc.Bytes(), &a) == nil && a.EventType == "PERSISTED" {
					got = append(got, a.FragmentNumber)
				}
			}
		}()
		time.Sleep(time.Duration(100+rng.IntN(250)) * time.Millisecond)
		p.kill()
		for _, n := range <-acked {
			persisted[n] = true
		}
	}
	startServer(t, dir, addr)
	checkFragments(t, addr, persisted, 10)
	if len(persisted) == 0 {
		t.Fatal("no fragment was acknowledged PERSISTED before any kill")
	}
}

// checkFragments lists the stream's fragments and reads them all back: each
// PERSISTED one is listed, and every listed one is a whole cluster of 25
// frames (1 s at 25 fps), with its Matroska headers.
func checkFragments(t *testing.T, addr string, persisted map[string]bool, cycle int) {
	t.Helper()
	st, b := videoCall(t, addr, "/listFragments", map[string]any{"StreamName": "cam", "MaxResults": 1000})
	if st != 200 {
		t.Fatalf("cycle %d: listFragments %d %s", cycle, st, b)
	}
	var list struct {
		Fragments []struct{ FragmentNumber string }
	}
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	var numbers []string
	for _, f := range list.Fragments {
		listed[f.FragmentNumber] = true
		numbers = append(numbers, f.FragmentNumber)
	}
	for n := range persisted {
		if !listed[n] {
			t.Fatalf("cycle %d: PERSISTED fragment %s is not listed (%d listed)", cycle, n, len(listed))
		}
	}
	if len(numbers) == 0 {
		return
	}
	st, b = videoCall(t, addr, "/getMediaForFragmentList", map[string]any{"StreamName": "cam", "Fragments": numbers})
	if st != 200 {
		t.Fatalf("cycle %d: getMediaForFragmentList %d %s", cycle, st, b)
	}
	r := mkv.NewReader(bytes.NewReader(b), mkv.Limits{})
	clusters := 0
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("cycle %d: the fragments read back do not parse after %d clusters: %v", cycle, clusters, err)
		}
		if ev.Kind == mkv.KindCluster {
			clusters++
			if _, frames, err := mkv.ClusterFrames(ev.Cluster.Raw); err != nil || len(frames) != 25 {
				t.Fatalf("cycle %d: cluster %d has %d frames (%v): a partial fragment was served", cycle, clusters, len(frames), err)
			}
		}
	}
	if clusters != len(numbers) {
		t.Fatalf("cycle %d: %d clusters for %d listed fragments", cycle, clusters, len(numbers))
	}
	t.Logf("cycle %d: %d fragments listed, %d acknowledged PERSISTED so far", cycle, len(numbers), len(persisted))
}
