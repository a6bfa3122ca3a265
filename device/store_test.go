package device

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestStorePersistAndReload(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	st, err := openStore(ctx, f.dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.load(ctx); !errors.Is(err, ErrNotEnrolled) {
		t.Fatalf("empty store: %v, want ErrNotEnrolled", err)
	}
	rec := f.record(t)
	rec.Retired = []string{"delta-0"}
	rec.AnchorCert = []byte("anchor")
	rec.ServerTimeMs = 12345
	if err := st.put(ctx, rec); err != nil {
		t.Fatal(err)
	}
	st.close()

	st, err = openStore(ctx, f.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	got, err := st.load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rec) {
		t.Fatalf("reloaded\n%+v\nwant\n%+v", got, rec)
	}
}

func TestStoreFileModes(t *testing.T) {
	f := newFixture(t)
	dir := filepath.Join(f.dir, "state")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	st, err := openStore(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.put(context.Background(), f.record(t)); err != nil {
		t.Fatal(err)
	}
	st.close()
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, StateFile): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", path, got, want)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		fi, _ := e.Info()
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s readable by others: %o", e.Name(), fi.Mode().Perm())
		}
	}
}

func TestOpen(t *testing.T) {
	f := newFixture(t)
	if _, err := Open(f.dir, f.options()); !errors.Is(err, ErrNotEnrolled) {
		t.Fatalf("Open of an empty dir: %v, want ErrNotEnrolled", err)
	}
	if _, err := os.Stat(filepath.Join(f.dir, StateFile)); !os.IsNotExist(err) {
		t.Fatalf("Open created the state file: %v", err)
	}
	c := f.client(t)
	want := c.Current()
	c.Close()
	c2, err := Open(f.dir, f.options())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if got := c2.Current(); got != want {
		t.Fatalf("reopened %+v, want %+v", got, want)
	}
	if want.DeviceID != testDevice || want.TenantID != testTenant || want.Cursor != 1 || want.Status != StatusActive ||
		!want.NotAfter.Equal(t0.Add(certLife)) {
		t.Fatalf("state %+v", want)
	}
}
