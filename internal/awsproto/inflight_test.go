package awsproto

import (
	"context"
	"testing"
	"time"
)

func TestInflightBudget(t *testing.T) {
	f := &Front{MaxInflightBytes: 100}
	rel, ok := f.reserve(context.Background(), 60)
	if !ok {
		t.Fatal("first reservation refused")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, ok := f.reserve(ctx, 60); ok {
		t.Fatal("the budget was exceeded")
	}
	rel()
	rel2, ok := f.reserve(context.Background(), 500) // larger than the budget: runs alone
	if !ok {
		t.Fatal("an oversized request can never run")
	}
	rel2()
}
