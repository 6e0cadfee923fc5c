package secret

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	ctx := context.Background()
	f := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(f, []byte("s3cret\nignored\n"), 0o600)
	t.Setenv("MAILARK_TEST_PW", "from-env")
	for _, tc := range []struct {
		src  Source
		want string
	}{
		{Source{File: f}, "s3cret"},
		{Source{Env: "MAILARK_TEST_PW"}, "from-env"},
		{Source{Cmd: "printf 'from-cmd\\r\\nmore'"}, "from-cmd"},
	} {
		got, err := tc.src.Read(ctx)
		if err != nil || got != tc.want {
			t.Errorf("%+v: %q, %v; want %q", tc.src, got, err, tc.want)
		}
	}
	for _, bad := range []Source{{}, {File: f, Env: "X"}, {Env: "MAILARK_TEST_UNSET_VAR"}, {Cmd: "echo leaked-secret; exit 3"}, {File: filepath.Join(t.TempDir(), "none")}} {
		_, err := bad.Read(ctx)
		if err == nil {
			t.Errorf("%+v: no error", bad)
			continue
		}
		if strings.Contains(err.Error(), "leaked-secret") {
			t.Errorf("error shows the command's output: %v", err)
		}
	}
}
