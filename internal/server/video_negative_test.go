package server_test

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	awsv1 "github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/kinesisvideoarchivedmedia"
)

// longCluster is a cluster whose blocks span 11 s (one at 0, one at
// +11,000 ms): longer than a fragment may be.
func longCluster(tc int64) []byte {
	blk := func(rel int16) []byte {
		var r [2]byte
		binary.BigEndian.PutUint16(r[:], uint16(rel))
		return ebmlElement([]byte{0xA3}, append([]byte{0x81, r[0], r[1], 0x80}, make([]byte, 100)...))
	}
	var tcb [8]byte
	binary.BigEndian.PutUint64(tcb[:], uint64(tc))
	body := append(ebmlElement([]byte{0xE7}, tcb[:]), blk(0)...)
	body = append(body, blk(11000)...)
	return ebmlElement([]byte{0x1F, 0x43, 0xB6, 0x75}, body)
}

// TestVideoPutMediaNegative: a fragment longer than 10 s is refused with
// AWS's 4002 after the fragments before it were persisted; a producer
// that stops in the middle of a cluster leaves only its whole fragments
// stored, and the next upload continues.
func TestVideoPutMediaNegative(t *testing.T) {
	t.Setenv("AWS_CA_BUNDLE", "")
	ts := newServer(t)
	ts.createVideoStream(t, "neg", 24)
	hdr := map[string]string{"x-amzn-stream-name": "neg", "x-amzn-fragment-timecode-type": "RELATIVE",
		"x-amzn-producer-start-timestamp": "1767225600.000", "x-amzn-fragment-acknowledgment-required": "1"}
	frame := make([]byte, 1000)
	body := append(fixtureHeader(t), benchCluster(0, frame)...)
	body = append(body, longCluster(1000)...)
	status, acks := ts.putMedia(t, hdr, body)
	last := acks[len(acks)-1]
	if status != 200 || last.EventType != "ERROR" || last.ErrorId != 4002 || acks[2].EventType != "PERSISTED" {
		t.Fatalf("too long: %d %+v", status, acks)
	}
	// A producer stopping mid-cluster: the fixture cut in its sixth cluster.
	fx := videoFixture(t)
	cut := 0
	for i, n := 0, 0; i+4 <= len(fx); i++ {
		if fx[i] == 0x1F && fx[i+1] == 0x43 && fx[i+2] == 0xB6 && fx[i+3] == 0x75 {
			if n++; n == 6 {
				cut = i + 3000
				break
			}
		}
	}
	hdr["x-amzn-producer-start-timestamp"] = "1767225700.000"
	status, acks = ts.putMedia(t, hdr, fx[:cut])
	persisted := 0
	for _, a := range acks {
		if a.EventType == "PERSISTED" {
			persisted++
		}
	}
	if status != 200 || persisted != 5 {
		t.Fatalf("cut upload: %d, %d persisted: %+v", status, persisted, acks)
	}
	am := kinesisvideoarchivedmedia.New(ts.videoV1())
	t0 := time.Unix(1767225700, 0)
	out, err := am.ListFragments(&kinesisvideoarchivedmedia.ListFragmentsInput{StreamName: awsv1.String("neg"),
		FragmentSelector: &kinesisvideoarchivedmedia.FragmentSelector{FragmentSelectorType: awsv1.String("PRODUCER_TIMESTAMP"),
			TimestampRange: &kinesisvideoarchivedmedia.TimestampRange{StartTimestamp: awsv1.Time(t0), EndTimestamp: awsv1.Time(t0.Add(20 * time.Second))}}})
	if err != nil || len(out.Fragments) != 5 {
		t.Fatalf("after the cut upload: %v fragments, %v", len(out.Fragments), err)
	}
	// The next upload from the producer goes on.
	hdr["x-amzn-producer-start-timestamp"] = "1767225800.000"
	if status, acks := ts.putMedia(t, hdr, fx); status != 200 || len(acks) != 30 {
		t.Fatalf("next upload: %d, %d acks", status, len(acks))
	}
	_ = context.Background
}
