// SPDX-License-Identifier: Apache-2.0

package ztp

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	v := Version()
	var ma, mi, pa uint
	if _, err := fmt.Sscanf(v, "%d.%d.%d", &ma, &mi, &pa); err != nil {
		t.Fatalf("version %q: %v", v, err)
	}
	if VersionNum() != ma<<16|mi<<8|pa {
		t.Fatalf("VersionNum %x for %s", VersionNum(), v)
	}
	must(t, Init())
}

func TestStatusNames(t *testing.T) {
	seen := map[string]bool{}
	name := regexp.MustCompile(`^[a-z][a-z_]*$`)
	for c := OK; c >= EPIN; c-- {
		n := StatusName(c)
		if !name.MatchString(n) || seen[n] {
			t.Fatalf("code %d: bad or repeated name %q", c, n)
		}
		seen[n] = true
		if StatusText(c) == "unknown error" {
			t.Fatalf("code %d has no description", c)
		}
	}
	if StatusName(-1000) != "unknown" {
		t.Fatal("unknown code has a name")
	}
	for _, s := range []*Error{ErrInvalid, ErrNotFound, ErrReplay, ErrDenied} {
		if StatusName(s.Code) != s.Name {
			t.Fatalf("sentinel %v disagrees with the library", s)
		}
	}
}

func TestValidateID(t *testing.T) {
	for _, ok := range []string{"dev-1", "A", "a.b_c-d", strings.Repeat("x", 64)} {
		must(t, ValidateID(ok))
	}
	for _, bad := range []string{"", "a/b", "a+b", "a#b", "a b", "caf\u00e9",
		strings.Repeat("x", 65), "a\x00b"} {
		err := ValidateID(bad)
		wantCode(t, err, EINVAL)
		if !errors.Is(err, ErrInvalid) || errors.Is(err, ErrNotFound) {
			t.Fatalf("errors.Is does not follow the code: %v", err)
		}
	}
}

func TestNULInStringIsRefused(t *testing.T) {
	_, err := OpenStore("memory:\x00x")
	wantCode(t, err, EINVAL)
}
