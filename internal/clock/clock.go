// Package clock is a wall clock that can be moved forward.
//
// Services whose behaviour depends on dates (key expiry and not-before,
// rotation policies, soft-delete retention) read time through a *Clock so
// that tests and operators can jump ahead instead of waiting, as
// lowkey-vault's time shift does:
//
//	c := clock.New()
//	c.Advance(31 * 24 * time.Hour)
//	c.Now() // a month from now
//
// The offset only ever grows through Advance; SetOffset restores a saved one.
package clock

import (
	"sync/atomic"
	"time"
)

// Clock is the real time plus an offset. The zero value is the real time.
type Clock struct {
	offset atomic.Int64 // nanoseconds
}

// New returns a clock at the real time.
func New() *Clock { return &Clock{} }

// Now is the shifted current time in UTC.
func (c *Clock) Now() time.Time {
	return time.Now().Add(c.Offset()).UTC()
}

// Offset is how far this clock runs ahead of the real time.
func (c *Clock) Offset() time.Duration { return time.Duration(c.offset.Load()) }

// SetOffset sets the offset, e.g. one restored from storage. Negative
// offsets are refused: time never runs backwards for the services.
func (c *Clock) SetOffset(d time.Duration) bool {
	if d < 0 {
		return false
	}
	c.offset.Store(int64(d))
	return true
}

// Advance moves the clock forward by d (which must be positive) and
// returns the new offset.
func (c *Clock) Advance(d time.Duration) (time.Duration, bool) {
	if d <= 0 {
		return c.Offset(), false
	}
	return time.Duration(c.offset.Add(int64(d))), true
}
