// SPDX-License-Identifier: Apache-2.0

package ztp

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var fp = func() string { h := sha256.Sum256([]byte("factory")); return hex.EncodeToString(h[:]) }()

var notIdent = regexp.MustCompile("[^a-z0-9]+")

// pgURI is a postgresql:// URI whose search_path is a new schema of the
// test PostgreSQL that run-tests.sh starts (tests/pg.sh) when libztp has
// the backend; the schema is dropped when the test ends.
func pgURI(t *testing.T) string {
	uri, psql := os.Getenv("ZTP_TEST_PG_URI"), os.Getenv("ZTP_TEST_PG_PSQL")
	if uri == "" || psql == "" {
		t.Skip("libztp built without the postgresql:// backend")
	}
	schema := fmt.Sprintf("go_%s_%d", notIdent.ReplaceAllString(strings.ToLower(t.Name()), "_"),
		time.Now().UnixNano()%1000000)
	if len(schema) > 60 {
		schema = schema[len(schema)-60:]
		schema = "g" + schema[1:]
	}
	args := strings.Fields(psql)
	sql := func(q string) {
		out, err := exec.Command(args[0], append(args[1:], "-c", q)...).CombinedOutput()
		if err != nil {
			t.Fatalf("psql %q: %v: %s", q, err, out)
		}
	}
	sql("CREATE SCHEMA " + schema)
	t.Cleanup(func() { sql("DROP SCHEMA " + schema + " CASCADE") })
	return uri + "&options=-csearch_path%3D" + schema
}

func eachStore(t *testing.T, f func(t *testing.T, s *Store)) {
	for _, kind := range []string{"memory", "sqlite", "postgresql"} {
		t.Run(kind, func(t *testing.T) {
			uri := "memory:"
			switch kind {
			case "sqlite":
				uri = "sqlite:" + filepath.Join(t.TempDir(), "reg.db")
			case "postgresql":
				uri = pgURI(t)
			}
			s, err := OpenStore(uri)
			must(t, err)
			defer s.Close()
			f(t, s)
		})
	}
}

// Two handles (two verifier instances) on one PostgreSQL registry: what
// one writes the other reads; a claim is taken once.
func TestStorePostgreSQLShared(t *testing.T) {
	uri := pgURI(t)
	a, err := OpenStore(uri)
	must(t, err)
	defer a.Close()
	b, err := OpenStore(strings.Replace(uri, "postgresql://", "postgres://", 1))
	must(t, err)
	defer b.Close()
	must(t, a.DeviceAdd("dev-1", fp, "", "", time.Unix(1700000000, 0)))
	h := sha256.Sum256([]byte("code"))
	must(t, a.ClaimSet("dev-1", h[:]))
	must(t, b.ClaimTake("dev-1", h[:], "acme"))
	wantCode(t, a.ClaimTake("dev-1", h[:], "evil"), ENOTFOUND)
	d, err := a.DeviceGet("dev-1")
	must(t, err)
	if d.Tenant == nil || *d.Tenant != "acme" {
		t.Fatalf("record %+v", d)
	}
	must(t, a.ChallengeUse([]byte("c1"), 1<<40, 1700000000))
	wantCode(t, b.ChallengeUse([]byte("c1"), 1<<40, 1700000000), EREPLAY)
}

func TestStoreDevices(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		must(t, s.DeviceAdd("dev-1", fp, "m1", "b\u00e9", time.Unix(1700000000, 0)))
		d, err := s.DeviceGet("dev-1")
		must(t, err)
		if d.DeviceID != "dev-1" || d.Fingerprint != fp || *d.Model != "m1" ||
			*d.Batch != "b\u00e9" || d.ManufacturedAt != 1700000000 ||
			d.State != StateManufactured || d.Tenant != nil {
			t.Fatalf("record %+v", d)
		}
		wantCode(t, s.DeviceAdd("dev-1", fp, "", "", time.Time{}), EEXISTS)
		_, err = s.DeviceGet("ghost")
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("want not found, got %v", err)
		}
		wantCode(t, s.DeviceAdd("bad/id", fp, "", "", time.Time{}), EINVAL)

		must(t, s.DeviceSetState("dev-1", StateManufactured, StateBootstrapped, ""))
		wantCode(t, s.DeviceSetState("dev-1", StateManufactured, StateActive, "acme"), ESTATE)
		must(t, s.DeviceSetInfo("dev-1", map[string]interface{}{"fw": "1.2"}))
		wantCode(t, s.DeviceSetInfo("dev-1", "[1]"), EPARSE)
		d, err = s.DeviceGet("dev-1")
		must(t, err)
		if d.State != StateBootstrapped || string(d.Info) != `{"fw":"1.2"}` {
			t.Fatalf("record %+v info %s", d, d.Info)
		}
	})
}

func TestStoreClaims(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		must(t, s.DeviceAdd("dev-1", fp, "", "", time.Time{}))
		h := sha256.Sum256([]byte("CODE"))
		g := sha256.Sum256([]byte("GUESS"))
		must(t, s.ClaimSet("dev-1", h[:]))
		wantCode(t, s.ClaimTake("dev-1", g[:], "acme"), EMISMATCH)
		must(t, s.ClaimTake("dev-1", h[:], "acme"))
		wantCode(t, s.ClaimTake("dev-1", h[:], "acme"), ENOTFOUND)
		d, err := s.DeviceGet("dev-1")
		must(t, err)
		if d.State != StateActive || d.Tenant == nil || *d.Tenant != "acme" {
			t.Fatalf("record %+v", d)
		}
	})
}

func TestStoreLimits(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		for i, want := range []int64{0, 0, 2} {
			r, err := s.LimitTake("device", "d1", 0.5, 2, 10)
			must(t, err)
			if r != want {
				t.Fatalf("take %d: retry %d, want %d", i, r, want)
			}
		}
		_, err := s.LimitTake("a/b", "d1", 1, 1, 10)
		wantCode(t, err, EINVAL)
		must(t, s.DeviceAdd("dev-1", fp, "", "", time.Time{}))
		h := sha256.Sum256([]byte("CODE"))
		g := sha256.Sum256([]byte("GUESS"))
		must(t, s.ClaimSet("dev-1", h[:]))
		wantCode(t, s.ClaimAttempt("dev-1", g[:], "acme", 1.0/60, 1, 100), EMISMATCH)
		wantCode(t, s.ClaimAttempt("dev-1", h[:], "acme", 1.0/60, 1, 100), ERATELIMIT)
		must(t, s.ClaimAttempt("dev-1", h[:], "acme", 1.0/60, 1, 160))
		must(t, s.DeviceSetFactoryKey("dev-1", []byte{0x30, 1, 0}))
		d, err := s.DeviceGet("dev-1")
		must(t, err)
		if d.FactoryKey == nil || *d.FactoryKey != "MAEA" {
			t.Fatalf("record %+v", d)
		}
	})
}

func TestStoreCerts(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		must(t, s.DeviceAdd("dev-1", fp, "", "", time.Time{}))
		must(t, s.CertAdd("1a", "dev-1", "bootstrap", 100, 200, fp))
		must(t, s.CertAdd("ff01", "dev-1", "operational", 100, 300, fp))
		must(t, s.CertAdd("2", "", "ca", 100, 300, fp))
		wantCode(t, s.CertAdd("1a", "dev-1", "bootstrap", 100, 200, fp), EEXISTS)
		wantCode(t, s.CertAdd("77", "ghost", "bootstrap", 100, 200, fp), ENOTFOUND)
		n, err := s.CertCount()
		must(t, err)
		if n != 3 {
			t.Fatalf("count %d", n)
		}
		must(t, s.CertRevoke("ff01", 1, time.Unix(150, 0)))
		c, err := s.CertGet("ff01")
		must(t, err)
		if !c.Revoked || c.Reason == nil || *c.Reason != 1 || *c.RevokedAt != 150 {
			t.Fatalf("record %+v", c)
		}
		k, err := s.DeviceRevokeCerts("dev-1", []string{"bootstrap"}, 4, time.Unix(160, 0))
		must(t, err)
		if k != 1 {
			t.Fatalf("revoked %d", k)
		}
		rl, err := s.RevokedList()
		must(t, err)
		if len(rl) != 2 || rl[0].Serial != "1a" || rl[1].Serial != "ff01" {
			t.Fatalf("revoked list %+v", rl)
		}
		dc, err := s.DeviceCerts("dev-1")
		must(t, err)
		if len(dc) != 2 {
			t.Fatalf("device certs %+v", dc)
		}
	})
}

func TestStoreChallengesEventsCounters(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		must(t, s.ChallengeUse([]byte("\x00n"), 2000, 1000))
		wantCode(t, s.ChallengeUse([]byte("\x00n"), 2000, 1001), EREPLAY)
		wantCode(t, s.ChallengeUse([]byte("old"), 999, 1000), EEXPIRED)

		at := time.Unix(1234, 0)
		must(t, s.SetClock(&at))
		must(t, s.EventAppend(map[string]string{"type": "x"}))
		at2 := time.Unix(1300, 0)
		must(t, s.SetClock(&at2))
		must(t, s.EventAppend(`{"type":"y"}`))
		must(t, s.SetClock(nil))
		wantCode(t, s.EventAppend("[]"), EPARSE)
		ev, err := s.EventList(0, 10)
		must(t, err)
		if len(ev) != 2 || ev[0].At != 1234 || ev[1].At != 1300 || string(ev[1].Event) != `{"type":"y"}` {
			t.Fatalf("events %+v", ev)
		}
		for i := uint64(1); i <= 3; i++ {
			n, err := s.CounterNext("crl")
			must(t, err)
			if n != i {
				t.Fatalf("counter %d, want %d", n, i)
			}
		}
	})
}

func TestStoreClosed(t *testing.T) {
	s, err := OpenStore("memory:")
	must(t, err)
	s.Close()
	s.Close()
	_, err = s.CertCount()
	wantCode(t, err, ESTATE)
}

func TestStoreConcurrent(t *testing.T) {
	s, err := OpenStore("sqlite:" + filepath.Join(t.TempDir(), "c.db"))
	must(t, err)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if err := s.DeviceAdd(fmt.Sprintf("d-%d-%d", g, i), fp, "", "", time.Time{}); err != nil {
					errs <- err
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Close while nothing runs, then once more from another goroutine.
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	<-done
}
