package sim

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Notification is one asynchronous message to a merchant's notify_url: a
// form POST of id, created_time, type, object, app_id (payments), prod_mode,
// data (the object as a JSON string) and sign (SHA1withRSA over data,
// base64), retried on the schedule until an attempt is answered HTTP 200.
type Notification struct {
	Seq         int64
	ID          string // the event id (the form's id)
	Type        string // e.g. payment.succeeded, queryEntryUser.succeeded
	URL         string
	Form        map[string]string
	CreatedAt   time.Time
	Attempts    int
	Delivered   bool
	DeliveredAt time.Time
	GaveUp      bool
	Duplicate   bool // the second copy sent by FaultDuplicateNotify
	BadSign     bool // signed wrongly by FaultNotifyBadSign
	LastStatus  int
	LastError   string
}

// Pending reports whether delivery is still being attempted.
func (n Notification) Pending() bool { return !n.Delivered && !n.GaveUp }

// notifyLocked queues a notification of typ about data to notifyURL (none
// when it is empty).
func (s *Server) notifyLocked(notifyURL, typ, object, appID string, data obj) {
	if notifyURL == "" {
		return
	}
	now := s.now()
	dataText := marshal(data)
	form := map[string]string{
		"id":           s.newIDLocked("evt"),
		"created_time": strconv.FormatInt(now.Unix(), 10),
		"type":         typ,
		"object":       object,
		"prod_mode":    s.prodMode(),
		"data":         dataText,
		"sign":         Sign(s.key, dataText),
	}
	if appID != "" {
		form["app_id"] = appID
	}
	first := s.newNoteLocked(typ, notifyURL, form, now)
	if _, bad := s.takeFaultLocked(FaultNotifyBadSign, typ); bad {
		first.Form["sign"] = Sign(s.key, dataText+"tampered")
		first.BadSign = true
	}
	chain := []*Notification{first}
	if _, dup := s.takeFaultLocked(FaultDuplicateNotify, typ); dup {
		n := s.newNoteLocked(typ, notifyURL, maps.Clone(first.Form), now)
		n.Duplicate, n.BadSign = true, first.BadSign
		chain = append(chain, n)
	}
	s.goLocked(func() {
		for _, n := range chain {
			if !s.deliver(n) {
				return
			}
		}
	})
}

func (s *Server) newNoteLocked(typ, notifyURL string, form map[string]string, now time.Time) *Notification {
	n := &Notification{Seq: int64(len(s.notes) + 1), ID: form["id"], Type: typ, URL: notifyURL, Form: form, CreatedAt: now}
	s.notes = append(s.notes, n)
	return n
}

// deliver posts n on the schedule until an attempt is answered HTTP 200, or
// the schedule ends. It reports false when the server closed.
func (s *Server) deliver(n *Notification) bool {
	body := url.Values{}
	for k, v := range n.Form {
		body.Set(k, v)
	}
	encoded := body.Encode()
	for _, wait := range s.schedule {
		if !s.sleep(s.ctx, wait) {
			return false
		}
		status, err := s.post(n.URL, encoded)
		s.mu.Lock()
		n.Attempts++
		n.LastStatus, n.LastError = status, ""
		if err != nil {
			n.LastError = err.Error()
		}
		ok := err == nil && status == http.StatusOK
		if ok {
			n.Delivered, n.DeliveredAt = true, s.now()
		}
		s.mu.Unlock()
		if ok {
			return true
		}
		if s.ctx.Err() != nil {
			return false
		}
	}
	s.mu.Lock()
	n.GaveUp = true
	s.mu.Unlock()
	return true
}

func (s *Server) post(target, body string) (int, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.NotifyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, nil
}

// Notifications returns every notification made so far, oldest first, with
// its delivery state.
func (s *Server) Notifications() []Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Notification, len(s.notes))
	for i, n := range s.notes {
		c := *n
		c.Form = maps.Clone(n.Form)
		out[i] = c
	}
	return out
}

// PendingNotifications returns the notifications still being retried.
func (s *Server) PendingNotifications() []Notification {
	return slices.DeleteFunc(s.Notifications(), func(n Notification) bool { return !n.Pending() })
}
