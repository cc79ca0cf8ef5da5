package keyvault

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// isoDuration is an ISO 8601 duration as rotation policies use them
// ("P30D", "P1Y2M", "PT12H", "P2W"). Calendar parts are added with
// AddDate, so "P1M" from January 31st lands where time.AddDate says.
type isoDuration struct {
	years, months, days int
	clock               time.Duration
}

func parseISODuration(s string) (isoDuration, error) {
	var d isoDuration
	u := strings.ToUpper(strings.TrimSpace(s))
	if !strings.HasPrefix(u, "P") || len(u) < 3 {
		return d, fmt.Errorf("%q is not an ISO 8601 duration such as P30D", s)
	}
	rest := u[1:]
	inTime, timeParts := false, 0
	seen := false
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return d, fmt.Errorf("%q has two T separators", s)
			}
			inTime, rest = true, rest[1:]
			continue
		}
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) || i > 6 {
			return d, fmt.Errorf("%q is not an ISO 8601 duration such as P30D", s)
		}
		n, _ := strconv.Atoi(rest[:i])
		unit := rest[i]
		rest = rest[i+1:]
		seen = true
		if inTime {
			timeParts++
		}
		switch {
		case !inTime && unit == 'Y':
			d.years += n
		case !inTime && unit == 'M':
			d.months += n
		case !inTime && unit == 'W':
			d.days += 7 * n
		case !inTime && unit == 'D':
			d.days += n
		case inTime && unit == 'H':
			d.clock += time.Duration(n) * time.Hour
		case inTime && unit == 'M':
			d.clock += time.Duration(n) * time.Minute
		case inTime && unit == 'S':
			d.clock += time.Duration(n) * time.Second
		default:
			return d, fmt.Errorf("%q: unexpected unit %c", s, unit)
		}
	}
	if !seen || (inTime && timeParts == 0) {
		return d, fmt.Errorf("%q has no value after P or T", s)
	}
	return d, nil
}

func (d isoDuration) addTo(t time.Time) time.Time {
	return t.AddDate(d.years, d.months, d.days).Add(d.clock)
}

func (d isoDuration) subFrom(t time.Time) time.Time {
	return t.AddDate(-d.years, -d.months, -d.days).Add(-d.clock)
}

// approx is the duration's length counted from a fixed date, for minimum checks.
func (d isoDuration) approx() time.Duration {
	base := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	return d.addTo(base).Sub(base)
}
