package blob

import (
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/atrest/atrest/internal/edge"
)

// state is the lease state and status Azure reports at time t.
func (l *leaseRec) state(t time.Time) (state, status string) {
	switch {
	case l.ID == "" && !l.Broken:
		return "available", "unlocked"
	case l.Broken:
		return "broken", "unlocked"
	case !l.BreakAt.IsZero():
		if t.Before(l.BreakAt) {
			return "breaking", "locked"
		}
		return "broken", "unlocked"
	case l.Duration > 0 && !t.Before(l.Expires):
		return "expired", "unlocked"
	}
	return "leased", "locked"
}

func (l *leaseRec) locked(t time.Time) bool {
	_, status := l.state(t)
	return status == "locked"
}

func (l *leaseRec) writeHeaders(h http.Header, t time.Time) {
	state, status := l.state(t)
	h.Set("x-ms-lease-state", state)
	h.Set("x-ms-lease-status", status)
	if state == "leased" {
		if l.Duration < 0 {
			h.Set("x-ms-lease-duration", "infinite")
		} else {
			h.Set("x-ms-lease-duration", "fixed")
		}
	}
}

// checkWrite enforces a lease on a write (or a read naming a lease id).
func (l *leaseRec) check(r *http.Request, t time.Time, isContainer bool) error {
	given := r.Header.Get("x-ms-lease-id")
	if l.locked(t) {
		if given == "" {
			if isContainer {
				return errContainerLeaseMissing
			}
			return errLeaseIDMissing
		}
		if given != l.ID {
			if isContainer {
				return errContainerLeaseMismatch
			}
			return errLeaseIDMismatchOp
		}
		return nil
	}
	if given != "" {
		if isContainer {
			return errContainerLeaseNotHere
		}
		return errLeaseNotPresentOp
	}
	return nil
}

// leaseResult is what a lease action tells the client.
type leaseResult struct {
	status int
	id     string
	time   int // x-ms-lease-time for break
}

// apply runs the x-ms-lease-action of r against the lease.
func (l *leaseRec) apply(r *http.Request, t time.Time) (leaseResult, error) {
	h := r.Header
	action := h.Get("x-ms-lease-action")
	given := h.Get("x-ms-lease-id")
	state, _ := l.state(t)
	switch action {
	case "acquire":
		d, err := strconv.Atoi(h.Get("x-ms-lease-duration"))
		if err != nil || !(d == -1 || d >= 15 && d <= 60) {
			return leaseResult{}, edge.ErrInvalidHeaderValue.With("x-ms-lease-duration must be -1 or between 15 and 60.")
		}
		id := h.Get("x-ms-proposed-lease-id")
		if id == "" {
			id = uuid.NewString()
		} else if _, err := uuid.Parse(id); err != nil {
			return leaseResult{}, edge.ErrInvalidHeaderValue.With("x-ms-proposed-lease-id is not a GUID.")
		}
		switch state {
		case "leased":
			if id != l.ID {
				return leaseResult{}, errLeaseAlreadyPresent
			}
		case "breaking":
			return leaseResult{}, errLeaseBreakingAcquire
		}
		*l = leaseRec{ID: id, Duration: d}
		if d > 0 {
			l.Expires = t.Add(time.Duration(d) * time.Second)
		}
		return leaseResult{status: http.StatusCreated, id: id}, nil
	case "renew":
		if given == "" {
			return leaseResult{}, edge.ErrMissingHeader.With("x-ms-lease-id is required.")
		}
		switch {
		case l.ID == "":
			return leaseResult{}, errLeaseNotPresentLeaseOp
		case given != l.ID:
			return leaseResult{}, errLeaseIDMismatchLeaseOp
		case state == "broken" || state == "breaking":
			return leaseResult{}, errLeaseBrokenRenew
		}
		if l.Duration > 0 {
			l.Expires = t.Add(time.Duration(l.Duration) * time.Second)
		}
		return leaseResult{status: http.StatusOK, id: l.ID}, nil
	case "change":
		proposed := h.Get("x-ms-proposed-lease-id")
		if given == "" || proposed == "" {
			return leaseResult{}, edge.ErrMissingHeader.With("x-ms-lease-id and x-ms-proposed-lease-id are required.")
		}
		switch {
		case state == "breaking":
			return leaseResult{}, errLeaseBreakingChange
		case state != "leased":
			return leaseResult{}, errLeaseNotPresentLeaseOp
		case given != l.ID && proposed != l.ID:
			return leaseResult{}, errLeaseIDMismatchLeaseOp
		}
		l.ID = proposed
		return leaseResult{status: http.StatusOK, id: proposed}, nil
	case "release":
		if given == "" {
			return leaseResult{}, edge.ErrMissingHeader.With("x-ms-lease-id is required.")
		}
		if l.ID == "" {
			return leaseResult{}, errLeaseNotPresentLeaseOp
		}
		if given != l.ID {
			return leaseResult{}, errLeaseIDMismatchLeaseOp
		}
		*l = leaseRec{}
		return leaseResult{status: http.StatusOK}, nil
	case "break":
		if state == "available" || (l.ID == "" && !l.Broken) {
			return leaseResult{}, errLeaseNotPresentLeaseOp
		}
		if state == "broken" || state == "expired" {
			l.Broken = true
			l.BreakAt = time.Time{}
			return leaseResult{status: http.StatusAccepted}, nil
		}
		remaining := 0
		if l.Duration > 0 {
			remaining = int(l.Expires.Sub(t).Round(time.Second) / time.Second)
		}
		if v := h.Get("x-ms-lease-break-period"); v != "" {
			p, err := strconv.Atoi(v)
			if err != nil || p < 0 || p > 60 {
				return leaseResult{}, edge.ErrInvalidHeaderValue.With("x-ms-lease-break-period must be between 0 and 60.")
			}
			if l.Duration < 0 || p < remaining {
				remaining = p
			}
		}
		if state == "breaking" {
			remaining = max(int(l.BreakAt.Sub(t)/time.Second), 0)
			return leaseResult{status: http.StatusAccepted, time: remaining}, nil
		}
		if remaining <= 0 {
			l.Broken = true
			l.BreakAt = time.Time{}
		} else {
			l.BreakAt = t.Add(time.Duration(remaining) * time.Second)
		}
		return leaseResult{status: http.StatusAccepted, time: remaining}, nil
	}
	return leaseResult{}, edge.ErrInvalidHeaderValue.With("x-ms-lease-action %q is not valid.", action)
}

func writeLeaseResult(w http.ResponseWriter, res leaseResult, etag string, modified time.Time) {
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Last-Modified", httpTime(modified))
	if res.id != "" {
		h.Set("x-ms-lease-id", res.id)
	}
	if res.status == http.StatusAccepted {
		h.Set("x-ms-lease-time", strconv.Itoa(res.time))
	}
	w.WriteHeader(res.status)
}
