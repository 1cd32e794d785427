package sim

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
)

// Order returns a snapshot of the pay order payOrderID.
func (s *Server) Order(payOrderID string) (PayOrder, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[payOrderID]
	if o == nil {
		return PayOrder{}, false
	}
	s.expireLocked(o)
	return o.PayOrder, true
}

// OrderByMchOrderNo returns a snapshot of the merchant's order mchOrderNo.
func (s *Server) OrderByMchOrderNo(mchNo, mchOrderNo string) (PayOrder, bool) {
	s.mu.Lock()
	id, ok := s.orderByMch[mchNo+"\x00"+mchOrderNo]
	s.mu.Unlock()
	if !ok {
		return PayOrder{}, false
	}
	return s.Order(id)
}

// Refund returns a snapshot of the refund refundOrderID.
func (s *Server) Refund(refundOrderID string) (RefundOrder, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.refunds[refundOrderID]
	if r == nil {
		return RefundOrder{}, false
	}
	return r.RefundOrder, true
}

// Transfer returns a snapshot of the transfer transferID.
func (s *Server) Transfer(transferID string) (TransferOrder, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.transfers[transferID]
	if t == nil {
		return TransferOrder{}, false
	}
	return *t, true
}

// Receiver returns a snapshot of the split receiver receiverID.
func (s *Server) Receiver(receiverID int64) (Receiver, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.receivers[receiverID]
	if r == nil {
		return Receiver{}, false
	}
	return *r, true
}

// Balance returns the channel balance in fen of the receiver receiverID.
func (s *Server) Balance(receiverID int64) (int64, bool) {
	r, ok := s.Receiver(receiverID)
	return r.Balance, ok
}

// MerchantBalance returns the merchant's transferable balance in fen:
// opening balance + Σ(paid − fee) − refunds − splits − transfers, where
// refunds, splits and transfers count from the moment they are accepted
// until they fail.
func (s *Server) MerchantBalance(mchNo string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.merchants[mchNo]
	if m == nil {
		return 0, false
	}
	return m.balance, true
}

// Batch returns a snapshot of the split batch batchOrderID.
func (s *Server) Batch(batchOrderID string) (DivisionBatch, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.batches[batchOrderID]
	if b == nil {
		return DivisionBatch{}, false
	}
	c := *b
	c.Records = slices.Clone(b.Records)
	return c, true
}

// Batches returns snapshots of the split batches of payOrderID, oldest
// first.
func (s *Server) Batches(payOrderID string) []DivisionBatch {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []DivisionBatch
	for _, b := range s.batches {
		if b.PayOrderID == payOrderID {
			c := *b
			c.Records = slices.Clone(b.Records)
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b DivisionBatch) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.BatchOrderID, b.BatchOrderID)
	})
	return out
}

// Device returns a snapshot of the merchant's POS device deviceNo, if it
// was initialised.
func (s *Server) Device(mchNo, deviceNo string) (Device, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.devices[mchNo+"\x00"+deviceNo]
	if d == nil {
		return Device{}, false
	}
	return *d, true
}

// State is what the simulator holds of its merchants' money: every pay
// order, refund and transfer, oldest first. GET /sim/state serves it as
// JSON (fields named as in Go), so that a process outside the simulator's
// — the crash test's checker — can compare it with what a server recorded.
type State struct {
	Orders    []PayOrder      `json:"orders"`
	Refunds   []RefundOrder   `json:"refunds"`
	Transfers []TransferOrder `json:"transfers"`
}

// State returns a snapshot of every pay order, refund and transfer.
func (s *Server) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{Orders: []PayOrder{}, Refunds: []RefundOrder{}, Transfers: []TransferOrder{}}
	for _, o := range s.orders {
		s.expireLocked(o)
		st.Orders = append(st.Orders, o.PayOrder)
	}
	for _, r := range s.refunds {
		st.Refunds = append(st.Refunds, r.RefundOrder)
	}
	for _, t := range s.transfers {
		st.Transfers = append(st.Transfers, *t)
	}
	slices.SortFunc(st.Orders, func(a, b PayOrder) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.PayOrderID, b.PayOrderID))
	})
	slices.SortFunc(st.Refunds, func(a, b RefundOrder) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.RefundOrderID, b.RefundOrderID))
	})
	slices.SortFunc(st.Transfers, func(a, b TransferOrder) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.TransferID, b.TransferID))
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
