package store_test

import (
	"testing"

	"github.com/atrest/atrest/internal/store"
	"github.com/atrest/atrest/internal/store/storetest"
)

func TestMemMeta(t *testing.T) {
	storetest.Meta(t, func(*testing.T) store.Meta { return store.NewMemMeta() })
}

func TestMemObjects(t *testing.T) {
	storetest.Objects(t, func(*testing.T) store.Objects { return store.NewMemObjects() })
}
