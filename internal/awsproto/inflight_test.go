package awsproto

import (
	"context"
	"testing"
	"time"
)

func TestInflightBudget(t *testing.T) {
	b := NewBudget(100)
	rel, ok := b.Reserve(context.Background(), 60)
	if !ok {
		t.Fatal("first reservation refused")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, ok := b.Reserve(ctx, 60); ok {
		t.Fatal("the budget was exceeded")
	}
	rel()
	rel2, ok := b.Reserve(context.Background(), 500) // larger than the budget: runs alone
	if !ok {
		t.Fatal("an oversized request can never run")
	}
	rel2()
}
