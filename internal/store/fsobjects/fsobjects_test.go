package fsobjects

import (
	"testing"

	"github.com/atrest/atrest/internal/store"
	"github.com/atrest/atrest/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Objects(t, func(t *testing.T) store.Objects {
		d, err := Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
}
