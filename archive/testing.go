package archive

import (
	"context"
	"testing"
)

// TestArchive creates an empty archive in a temporary directory, open for
// writing, closed when the test ends. For this and other packages' tests.
func TestArchive(t testing.TB) *Archive {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	if err := Init(ctx, dir); err != nil {
		t.Fatal(err)
	}
	a, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// TestVerify fails the test unless Verify finds nothing wrong.
func TestVerify(t testing.TB, a *Archive) {
	t.Helper()
	rep, err := a.Verify(context.Background(), nil)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	for _, p := range rep.Problems {
		t.Errorf("verify: %s %s: %s", p.Kind, p.Path, p.Detail)
	}
}
