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

// notifyPayLocked sends the pay order's terminal notification.
func (s *Server) notifyPayLocked(o *payOrder, prev PayOrder) {
	s.notifyLocked("pay", o.PayOrderID, o.NotifyURL, o.MchNo, payQueryFields(&o.PayOrder), payQueryFields(&prev))
}

// notifyLocked queues the notification of an object that reached a
// terminal state: the query fields plus reqTime and sign, posted form
// encoded to notifyURL. prev holds the object's fields before the change;
// FaultOutOfOrderNotify sends them (as state 1) after the terminal one.
func (s *Server) notifyLocked(kind, orderID, notifyURL, mchNo string, cur, prev fields) {
	if notifyURL == "" {
		return
	}
	m := s.merchants[mchNo]
	objPath := "/api/" + kind
	now := s.now()
	chain := []*Notification{s.newNoteLocked(kind, orderID, notifyURL, signNotification(cur, m.Secret, now), now)}
	if _, dup := s.takeFaultLocked(FaultDuplicateNotify, objPath); dup {
		n := s.newNoteLocked(kind, orderID, notifyURL, maps.Clone(chain[0].Params), now)
		n.Duplicate = true
		chain = append(chain, n)
	}
	if _, ooo := s.takeFaultLocked(FaultOutOfOrderNotify, objPath); ooo {
		stale := fields{}
		for k, v := range prev {
			stale[k] = v
		}
		stale["state"] = OrderStateProcessing // pay 1 paying, refund/transfer 1 processing
		delete(stale, "successTime")
		delete(stale, "errCode")
		delete(stale, "errMsg")
		n := s.newNoteLocked(kind, orderID, notifyURL, signNotification(stale, m.Secret, now.Add(time.Millisecond)), now)
		n.Stale = true
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

func signNotification(f fields, secret string, at time.Time) map[string]string {
	p := f.strings()
	p["reqTime"] = strconv.FormatInt(at.UnixMilli(), 10)
	p["sign"] = Sign(p, secret)
	return p
}

func (s *Server) newNoteLocked(kind, orderID, notifyURL string, params map[string]string, now time.Time) *Notification {
	s.nextNote++
	n := &Notification{ID: s.nextNote, Kind: kind, OrderID: orderID, URL: notifyURL, Params: params, CreatedAt: now}
	s.notes = append(s.notes, n)
	return n
}

// deliver posts n on the retry schedule until an attempt is acknowledged
// with HTTP 200 and body SUCCESS, or the schedule ends. It reports false
// when the server closed.
func (s *Server) deliver(n *Notification) bool {
	body := url.Values{}
	for k, v := range n.Params {
		body.Set(k, v)
	}
	encoded := body.Encode()
	for _, wait := range s.schedule {
		if !s.sleep(s.ctx, wait) {
			return false
		}
		status, text, err := s.post(n.URL, encoded)
		s.mu.Lock()
		n.Attempts++
		n.LastStatus, n.LastBody = status, text
		n.LastError = ""
		if err != nil {
			n.LastError = err.Error()
		}
		ok := err == nil && status == http.StatusOK && text == "SUCCESS"
		if ok {
			n.Delivered = true
			n.DeliveredAt = s.now()
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

func (s *Server) post(target, body string) (int, string, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.NotifyTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b), err
}

// Notifications returns every notification made so far, oldest first, with
// its delivery state.
func (s *Server) Notifications() []Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Notification, len(s.notes))
	for i, n := range s.notes {
		c := *n
		c.Params = maps.Clone(n.Params)
		out[i] = c
	}
	return out
}

// PendingNotifications returns the notifications still being retried.
func (s *Server) PendingNotifications() []Notification {
	return slices.DeleteFunc(s.Notifications(), func(n Notification) bool { return !n.Pending() })
}
