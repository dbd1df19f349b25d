package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	kv "github.com/aws/aws-sdk-go-v2/service/kinesisvideo"
)

// ebmlElement encodes an element with an 8-byte size.
func ebmlElement(id []byte, payload []byte) []byte {
	out := append([]byte(nil), id...)
	out = append(out, 0x01)
	var sz [8]byte
	binary.BigEndian.PutUint64(sz[:], uint64(len(payload)))
	out = append(out, sz[1:]...)
	return append(out, payload...)
}

// benchCluster is a 1-second fragment: one key frame of size bytes.
func benchCluster(tc int64, frame []byte) []byte {
	block := append([]byte{0x81, 0, 0, 0x80}, frame...) // track 1, relative timecode 0, key frame
	var tcb [8]byte
	binary.BigEndian.PutUint64(tcb[:], uint64(tc))
	body := append(ebmlElement([]byte{0xE7}, tcb[:]), ebmlElement([]byte{0xA3}, block)...)
	return ebmlElement([]byte{0x1F, 0x43, 0xB6, 0x75}, body)
}

// fixtureHeader is the fixture's bytes before its first Cluster, with the
// Segment's size made unknown so that any number of clusters may follow.
func fixtureHeader(tb testing.TB) []byte {
	fx := videoFixture(tb)
	seg := bytes.Index(fx, []byte{0x18, 0x53, 0x80, 0x67})
	cl := bytes.Index(fx, []byte{0x1F, 0x43, 0xB6, 0x75})
	if seg < 0 || cl < 0 || fx[seg+4] != 0x01 {
		tb.Fatalf("fixture layout: segment at %d, cluster at %d", seg, cl)
	}
	h := append([]byte(nil), fx[:cl]...)
	copy(h[seg+4:seg+12], []byte{0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})
	return h
}

func benchInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkPutMediaStreams: RHEOS_BENCH_STREAMS producers (default 200)
// each stream 2 Mbit/s into PutMedia (a 250 KB fragment every second) for
// RHEOS_BENCH_SECONDS (default 15); reported: the PERSISTED latency
// (from the fragment's last byte sent to its PERSISTED ack) p50/p99, p99
// without each stream's first fragment (which waits for the stream's
// one-time setup commits), the fragments persisted, and the process's
// peak RSS (server and producers are one process).
//
//	go test ./internal/server -run '^$' -bench PutMediaStreams -benchtime 1x
func BenchmarkPutMediaStreams(b *testing.B) {
	streams, seconds := benchInt("RHEOS_BENCH_STREAMS", 200), benchInt("RHEOS_BENCH_SECONDS", 15)
	header := fixtureHeader(b)
	frame := make([]byte, 250_000-40)
	rand.Read(frame)
	for range b.N {
		ts := newServer(b)
		c := ts.videoClient()
		for i := range streams {
			if _, err := c.CreateStream(context.Background(), &kv.CreateStreamInput{StreamName: aws.String(fmt.Sprint("cam", i)), DataRetentionInHours: aws.Int32(1)}); err != nil {
				b.Fatal(err)
			}
		}
		time.Sleep(200 * time.Millisecond)
		var mu sync.Mutex
		var lat, steady []time.Duration // steady: without each stream's first fragment (its setup: log keys, headers)
		var wg sync.WaitGroup
		// A transport that streams request bodies (sdktest's reads them
		// whole first), one connection per producer.
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: streams}}
		start := time.Now()
		for i := range streams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(i) * time.Second / time.Duration(streams)) // spread the starts over a second
				pr, pw := io.Pipe()
				req, _ := http.NewRequest(http.MethodPost, ts.url+"/putMedia", pr)
				req.Header.Set("x-amzn-stream-name", fmt.Sprint("cam", i))
				req.Header.Set("x-amzn-fragment-timecode-type", "RELATIVE")
				req.Header.Set("x-amzn-producer-start-timestamp", "1767225600.000")
				if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}, req, "UNSIGNED-PAYLOAD", "kinesisvideo", region, time.Now()); err != nil {
					b.Error(err)
					return
				}
				sent := make([]time.Time, seconds)
				var smu sync.Mutex
				go func() {
					defer pw.Close()
					if _, err := pw.Write(header); err != nil {
						return
					}
					next := time.Now()
					for k := range seconds {
						cl := benchCluster(int64(k)*1000, frame)
						if _, err := pw.Write(cl); err != nil {
							return
						}
						smu.Lock()
						sent[k] = time.Now()
						smu.Unlock()
						next = next.Add(time.Second)
						time.Sleep(time.Until(next))
					}
				}()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				defer resp.Body.Close()
				sc := bufio.NewScanner(resp.Body)
				for sc.Scan() {
					var a struct {
						EventType        string
						FragmentTimecode int64
						ErrorId          int
					}
					if json.Unmarshal(sc.Bytes(), &a) != nil {
						continue
					}
					switch a.EventType {
					case "PERSISTED":
						now := time.Now()
						smu.Lock()
						s := sent[a.FragmentTimecode/1000]
						smu.Unlock()
						mu.Lock()
						lat = append(lat, now.Sub(s))
						if a.FragmentTimecode > 0 {
							steady = append(steady, now.Sub(s))
						}
						mu.Unlock()
					case "ERROR":
						b.Errorf("stream %d: error %d", i, a.ErrorId)
					}
				}
			}()
		}
		wg.Wait()
		took := time.Since(start)
		if len(lat) < streams*seconds*9/10 {
			b.Fatalf("%d of %d fragments persisted", len(lat), streams*seconds)
		}
		pct := func(d []time.Duration, p float64) float64 {
			sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
			return float64(d[int(p*float64(len(d)-1))].Microseconds()) / 1000
		}
		b.ReportMetric(pct(lat, 0.5), "persisted-p50-ms")
		b.ReportMetric(pct(lat, 0.99), "persisted-p99-ms")
		b.ReportMetric(pct(steady, 0.99), "steady-p99-ms")
		b.ReportMetric(float64(len(lat)), "fragments")
		b.ReportMetric(float64(len(lat))*float64(len(frame))*8/1e6/took.Seconds(), "Mbit/s")
		b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
	}
}

// peakRSSMiB is the process's peak resident set size (VmHWM).
func peakRSSMiB() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			kb, _ := strconv.Atoi(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(v), []byte("kB")))))
			return float64(kb) / 1024
		}
	}
	return 0
}
