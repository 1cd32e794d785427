package sim

import (
	"cmp"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
)

// Entry returns a snapshot of entry requestID.
func (s *Server) Entry(requestID string) (Entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[requestID]
	if e == nil {
		return Entry{}, false
	}
	c := e.Entry
	c.Params = maps.Clone(e.Params)
	return c, true
}

// SubMerchant returns a snapshot of the sub-merchant with API key apiKey.
func (s *Server) SubMerchant(apiKey string) (SubMerchant, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[apiKey]
	if a == nil || a.sub == nil {
		return SubMerchant{}, false
	}
	c := *a.sub
	c.Apps = append([]App(nil), a.sub.Apps...)
	c.Audit = maps.Clone(a.sub.Audit)
	return c, true
}

// Settle returns a snapshot of card change orderNo made by agent apiKey.
func (s *Server) Settle(apiKey, orderNo string) (SettleChange, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.settles[apiKey+"\x00"+orderNo]
	if c == nil {
		return SettleChange{}, false
	}
	return *c, true
}

// Resident returns a snapshot of channel registration requestID.
func (s *Server) Resident(requestID string) (Resident, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.residents[requestID]
	if r == nil {
		return Resident{}, false
	}
	c := r.Resident
	c.Channels = make(map[string]ChannelResult, len(r.Channels))
	for k, v := range r.Channels {
		c.Channels[k] = v
	}
	c.Params = maps.Clone(r.Params)
	return c, true
}

// ResidentModify returns a snapshot of registration change requestID.
func (s *Server) ResidentModify(requestID string) (ResidentModify, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.modifies[requestID]
	if m == nil {
		return ResidentModify{}, false
	}
	c := *m
	c.Params = maps.Clone(m.Params)
	return c, true
}

// RealName returns a snapshot of real-name application requestID.
func (s *Server) RealName(requestID string) (RealName, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rn := s.realnames[requestID]
	if rn == nil {
		return RealName{}, false
	}
	c := rn.RealName
	c.Wallets = append([]RealNameWallet(nil), rn.Wallets...)
	c.Params = maps.Clone(rn.Params)
	return c, true
}

// Picture returns a snapshot of uploaded picture picID.
func (s *Server) Picture(picID string) (Picture, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pictures[picID]
	if p == nil {
		return Picture{}, false
	}
	return *p, true
}

// Payment returns a snapshot of payment id.
func (s *Server) Payment(id string) (Payment, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[id]
	if p == nil {
		return Payment{}, false
	}
	s.expireLocked(p)
	c := p.Payment
	c.Expend = maps.Clone(p.Expend)
	return c, true
}

// PaymentByOrderNo returns a snapshot of the payment order_no of app appID.
func (s *Server) PaymentByOrderNo(appID, orderNo string) (Payment, bool) {
	s.mu.Lock()
	id, ok := s.payByOrder[appID+"\x00"+orderNo]
	s.mu.Unlock()
	if !ok {
		return Payment{}, false
	}
	return s.Payment(id)
}

// Refund returns a snapshot of refund id.
func (s *Server) Refund(id string) (Refund, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.refunds[id]
	if r == nil {
		return Refund{}, false
	}
	return r.Refund, true
}

// State is what the simulator holds of its merchants' money: every payment
// and refund, oldest first. GET /sim/state serves it as JSON (fields named
// as in Go), so that a process outside the simulator's — the crash test's
// checker — can compare it with what a server recorded.
type State struct {
	Payments []Payment `json:"payments"`
	Refunds  []Refund  `json:"refunds"`
}

// State returns a snapshot of every payment and refund.
func (s *Server) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{Payments: []Payment{}, Refunds: []Refund{}}
	for _, p := range s.payments {
		s.expireLocked(p)
		c := p.Payment
		c.Expend = maps.Clone(p.Expend)
		st.Payments = append(st.Payments, c)
	}
	for _, r := range s.refunds {
		st.Refunds = append(st.Refunds, r.Refund)
	}
	slices.SortFunc(st.Payments, func(a, b Payment) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	slices.SortFunc(st.Refunds, func(a, b Refund) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return st
}

// serveState is GET /sim/state: State as JSON. It is read-only and not in
// the request log.
func (s *Server) serveState(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := json.Marshal(s.State())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}
