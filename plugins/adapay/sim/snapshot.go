package sim

import "maps"

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
