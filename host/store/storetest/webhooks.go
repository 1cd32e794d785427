package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/payhost/payhost/host/store"
)

func endpoint(id, tenant string, events ...string) *store.WebhookEndpoint {
	return &store.WebhookEndpoint{ID: id, Tenant: tenant, URL: "https://hooks.example/" + id, Events: events,
		Secret: "whsec_" + id, Status: store.EndpointEnabled, CreatedAt: at(0), UpdatedAt: at(0)}
}

// paymentEvent is an EventSpec whose data is the payment's id, status and
// amount as the update left them.
func paymentEvent(id, typ string, created time.Time) *store.EventSpec {
	return &store.EventSpec{ID: id, Type: typ, CreatedAt: created, Data: func(obj any) ([]byte, error) {
		p, ok := obj.(*store.Payment)
		if !ok {
			return nil, fmt.Errorf("data of %T", obj)
		}
		return json.Marshal(map[string]any{"id": p.ID, "status": p.Status, "amount": p.Amount})
	}}
}

func refundEvent(id, typ string) *store.EventSpec {
	return &store.EventSpec{ID: id, Type: typ, CreatedAt: at(time.Hour), Data: func(obj any) ([]byte, error) {
		r, ok := obj.(*store.Refund)
		if !ok {
			return nil, fmt.Errorf("data of %T", obj)
		}
		return json.Marshal(map[string]any{"id": r.ID, "status": r.Status})
	}}
}

var errRender = errors.New("render refused")

// deliveriesTo lists an event's deliveries as endpoint id → status.
func deliveriesTo(t *testing.T, s store.Store, eventID string) map[string]string {
	t.Helper()
	ds, err := s.ListWebhookDeliveries(t.Context(), eventID)
	must(t, err)
	out := map[string]string{}
	for _, d := range ds {
		out[d.EndpointID] = d.Status
	}
	return out
}

// emit records n events about payment pay_e of tenant (updates without a
// status change), with ids prefix-0.. and types from types in turn.
func emit(t *testing.T, s store.Store, payment, prefix string, n int, types ...string) {
	t.Helper()
	for i := range n {
		_, err := s.UpdatePayment(t.Context(), store.PaymentUpdate{ID: payment,
			Event: paymentEvent(fmt.Sprintf("%s-%02d", prefix, i), types[i%len(types)], at(time.Duration(i)*time.Second))})
		must(t, err)
	}
}

func webhookCases() []testCase {
	return []testCase{
		{"Webhook/EndpointLifecycle", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			a := endpoint("we_a", "t1", "payment.*", "refund.succeeded")
			a.Description = "订单系统 'prod'"
			must(t, s.InsertWebhookEndpoint(ctx, a))
			must(t, s.InsertWebhookEndpoint(ctx, endpoint("we_b", "t1", "*")))
			must(t, s.InsertWebhookEndpoint(ctx, endpoint("we_c", "t2", "*")))
			wantErr(t, s.InsertWebhookEndpoint(ctx, endpoint("we_a", "t2", "*")), store.ErrDuplicate)
			got, err := s.GetWebhookEndpoint(ctx, "we_a")
			must(t, err)
			same(t, "endpoint", got, a)
			list, err := s.ListWebhookEndpoints(ctx, "t1")
			must(t, err)
			if len(list) != 2 || list[0].ID != "we_a" || list[1].ID != "we_b" {
				t.Fatalf("endpoints of t1: %v", list)
			}
			deleted, err := s.DeleteWebhookEndpoint(ctx, "we_a", at(time.Minute))
			must(t, err)
			if deleted.Status != store.EndpointDeleted || deleted.Secret != "" || !deleted.UpdatedAt.Equal(at(time.Minute)) {
				t.Fatalf("deleted endpoint: %+v", deleted)
			}
			got, err = s.GetWebhookEndpoint(ctx, "we_a")
			must(t, err)
			same(t, "deleted endpoint", got, deleted)
			_, err = s.DeleteWebhookEndpoint(ctx, "we_a", at(time.Minute))
			wantErr(t, err, store.ErrNotFound)
			_, err = s.GetWebhookEndpoint(ctx, "we_missing")
			wantErr(t, err, store.ErrNotFound)
			list, err = s.ListWebhookEndpoints(ctx, "t1")
			must(t, err)
			if len(list) != 1 || list[0].ID != "we_b" {
				t.Fatalf("endpoints of t1 after the delete: %v", list)
			}
		}},
		{"Webhook/EventWithPaymentUpdate", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			p := succeededPayment("pay_1", "t1", 100)
			p.Status = "processing"
			must(t, s.InsertPayment(ctx, p))
			must(t, s.InsertWebhookEndpoint(ctx, endpoint("we_pay", "t1", "payment.*")))
			must(t, s.InsertWebhookEndpoint(ctx, endpoint("we_ref", "t1", "refund.succeeded")))
			must(t, s.InsertWebhookEndpoint(ctx, endpoint("we_all", "t1", "*")))
			must(t, s.InsertWebhookEndpoint(ctx, endpoint("we_exact", "t1", "payment.succeeded")))
			must(t, s.InsertWebhookEndpoint(ctx, endpoint("we_other", "t2", "*")))
			must(t, s.InsertWebhookEndpoint(ctx, endpoint("we_gone", "t1", "*")))
			_, err := s.DeleteWebhookEndpoint(ctx, "we_gone", at(0))
			must(t, err)

			_, err = s.UpdatePayment(ctx, store.PaymentUpdate{ID: "pay_1", From: "processing", To: "succeeded",
				Now: at(time.Minute), Event: paymentEvent("evt_1", "payment.succeeded", at(time.Minute))})
			must(t, err)
			ev, err := s.GetEvent(ctx, "evt_1")
			must(t, err)
			same(t, "event", ev, &store.Event{Seq: ev.Seq, ID: "evt_1", Tenant: "t1", Type: "payment.succeeded", ObjectType: "payment",
				ObjectID: "pay_1", Data: []byte(`{"amount":100,"id":"pay_1","status":"succeeded"}`), CreatedAt: at(time.Minute)})
			same(t, "deliveries", deliveriesTo(t, s, "evt_1"),
				map[string]string{"we_pay": "pending", "we_all": "pending", "we_exact": "pending"})
			ds, err := s.ListWebhookDeliveries(ctx, "evt_1")
			must(t, err)
			for _, d := range ds {
				if d.Tenant != "t1" || d.Attempts != 0 || !d.NextAttemptAt.Equal(at(time.Minute)) || d.ClaimToken != "" {
					t.Fatalf("new delivery: %+v", d)
				}
			}
			_, err = s.GetEvent(ctx, "evt_missing")
			wantErr(t, err, store.ErrNotFound)
		}},
		{"Webhook/EventCommitsWithTheChangeOnly", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			p := succeededPayment("pay_1", "t1", 100)
			p.Status = "processing"
			must(t, s.InsertPayment(ctx, p))
			must(t, s.InsertWebhookEndpoint(ctx, endpoint("we_all", "t1", "*")))
			// a conditional update that does not apply writes no event
			_, err := s.UpdatePayment(ctx, store.PaymentUpdate{ID: "pay_1", From: "created", To: "failed",
				Event: paymentEvent("evt_no", "payment.failed", at(0))})
			wantErr(t, err, store.ErrConflict)
			_, err = s.GetEvent(ctx, "evt_no")
			wantErr(t, err, store.ErrNotFound)
			// an event that cannot be written undoes the change
			refused := paymentEvent("evt_refused", "payment.succeeded", at(0))
			refused.Data = func(any) ([]byte, error) { return nil, errRender }
			_, err = s.UpdatePayment(ctx, store.PaymentUpdate{ID: "pay_1", From: "processing", To: "succeeded", Event: refused})
			wantErr(t, err, errRender)
			if got := getPayment(t, s, "pay_1"); got.Status != "processing" {
				t.Fatalf("status %s after a refused event, want processing", got.Status)
			}
			_, err = s.UpdatePayment(ctx, store.PaymentUpdate{ID: "pay_1", Event: paymentEvent("evt_1", "payment.updated", at(0))})
			must(t, err)
			_, err = s.UpdatePayment(ctx, store.PaymentUpdate{ID: "pay_1", From: "processing", To: "succeeded",
				Event: paymentEvent("evt_1", "payment.succeeded", at(0))})
			wantErr(t, err, store.ErrDuplicate)
			if got := getPayment(t, s, "pay_1"); got.Status != "processing" {
				t.Fatalf("status %s after a repeated event id, want processing", got.Status)
			}
			same(t, "deliveries of the refused events", deliveriesTo(t, s, "evt_refused"), map[string]string{})
			// without an event the update still works alone
			_, err = s.UpdatePayment(ctx, store.PaymentUpdate{ID: "pay_1", From: "processing", To: "succeeded"})
			must(t, err)
		}},
		{"Webhook/EventWithRefundUpdate", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.InsertPayment(ctx, succeededPayment("pay_1", "t1", 100)))
			must(t, s.InsertRefund(ctx, newRefund("re_1", "t1", "pay_1", 30)))
			must(t, s.InsertWebhookEndpoint(ctx, endpoint("we_ref", "t1", "refund.*")))
			refused := refundEvent("evt_refused", "refund.succeeded")
			refused.Data = func(any) ([]byte, error) { return nil, errRender }
			_, err := s.UpdateRefund(ctx, store.RefundUpdate{ID: "re_1", From: "processing", To: "succeeded", Event: refused})
			wantErr(t, err, errRender)
			wantTotals(t, s, "pay_1", 30, 0)
			_, err = s.UpdateRefund(ctx, store.RefundUpdate{ID: "re_1", From: "processing", To: "succeeded",
				Event: refundEvent("evt_1", "refund.succeeded")})
			must(t, err)
			wantTotals(t, s, "pay_1", 30, 30)
			ev, err := s.GetEvent(ctx, "evt_1")
			must(t, err)
			if ev.ObjectType != "refund" || ev.ObjectID != "re_1" || ev.Tenant != "t1" ||
				string(ev.Data) != `{"id":"re_1","status":"succeeded"}` {
				t.Fatalf("refund event: %+v (data %s)", ev, ev.Data)
			}
			same(t, "deliveries", deliveriesTo(t, s, "evt_1"), map[string]string{"we_ref": "pending"})
			_, err = s.GetEvent(ctx, "evt_refused")
			wantErr(t, err, store.ErrNotFound)
		}},
		{"Webhook/ListEvents", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.InsertPayment(ctx, succeededPayment("pay_1", "t1", 100)))
			must(t, s.InsertPayment(ctx, succeededPayment("pay_2", "t1", 100)))
			must(t, s.InsertPayment(ctx, succeededPayment("pay_3", "t2", 100)))
			emit(t, s, "pay_1", "evt_a", 6, "payment.succeeded", "payment.reversed", "refund.failed")
			emit(t, s, "pay_2", "evt_b", 2, "payment.succeeded")
			emit(t, s, "pay_3", "evt_c", 3, "payment.succeeded")
			ids := func(q store.EventQuery) []string {
				t.Helper()
				evs, err := s.ListEvents(ctx, q)
				must(t, err)
				out := []string{}
				for _, e := range evs {
					out = append(out, e.ID)
				}
				return out
			}
			same(t, "all of t1", ids(store.EventQuery{Tenant: "t1"}),
				[]string{"evt_b-01", "evt_b-00", "evt_a-05", "evt_a-04", "evt_a-03", "evt_a-02", "evt_a-01", "evt_a-00"})
			same(t, "one type", ids(store.EventQuery{Tenant: "t1", Type: "payment.succeeded"}),
				[]string{"evt_b-01", "evt_b-00", "evt_a-03", "evt_a-00"})
			same(t, "payment.*", ids(store.EventQuery{Tenant: "t1", Type: "payment.*"}),
				[]string{"evt_b-01", "evt_b-00", "evt_a-04", "evt_a-03", "evt_a-01", "evt_a-00"})
			same(t, "refund.*", ids(store.EventQuery{Tenant: "t1", Type: "refund.*"}), []string{"evt_a-05", "evt_a-02"})
			same(t, "one object", ids(store.EventQuery{Tenant: "t1", ObjectID: "pay_2"}), []string{"evt_b-01", "evt_b-00"})
			same(t, "another tenant's object", ids(store.EventQuery{Tenant: "t1", ObjectID: "pay_3"}), []string{})
			// paging with the cursor
			var pages [][]string
			var before int64
			for {
				evs, err := s.ListEvents(ctx, store.EventQuery{Tenant: "t1", Limit: 3, BeforeSeq: before})
				must(t, err)
				if len(evs) == 0 {
					break
				}
				var page []string
				for _, e := range evs {
					page = append(page, e.ID)
				}
				pages = append(pages, page)
				before = evs[len(evs)-1].Seq
			}
			same(t, "pages", pages, [][]string{{"evt_b-01", "evt_b-00", "evt_a-05"}, {"evt_a-04", "evt_a-03", "evt_a-02"}, {"evt_a-01", "evt_a-00"}})
			same(t, "unknown tenant", ids(store.EventQuery{Tenant: "t9"}), []string{})
		}},
		{"Webhook/ClaimAndFinish", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.InsertPayment(ctx, succeededPayment("pay_1", "t1", 100)))
			must(t, s.InsertWebhookEndpoint(ctx, endpoint("we_1", "t1", "*")))
			emit(t, s, "pay_1", "evt", 1, "payment.succeeded") // due at t0
			none, err := s.ClaimWebhookDeliveries(ctx, at(-time.Second), time.Minute, 10)
			must(t, err)
			if len(none) != 0 {
				t.Fatalf("claimed a delivery not yet due: %v", none)
			}
			claimed, err := s.ClaimWebhookDeliveries(ctx, at(0), time.Minute, 10)
			must(t, err)
			if len(claimed) != 1 || claimed[0].ClaimToken == "" || claimed[0].EventID != "evt-00" || claimed[0].EndpointID != "we_1" ||
				!claimed[0].NextAttemptAt.Equal(at(time.Minute)) {
				t.Fatalf("claimed: %+v", claimed)
			}
			d := claimed[0]
			again, err := s.ClaimWebhookDeliveries(ctx, at(30*time.Second), time.Minute, 10)
			must(t, err)
			if len(again) != 0 {
				t.Fatalf("a leased delivery was claimed again: %v", again)
			}
			// a failed attempt: retry later
			first := &store.WebhookAttempt{Attempt: 1, StatusCode: 500, Error: "http_5xx", DurationMS: 12, CreatedAt: at(time.Second)}
			must(t, s.FinishWebhookDelivery(ctx, store.WebhookResult{DeliveryID: d.ID, ClaimToken: d.ClaimToken, Attempt: first,
				Status: store.DeliveryPending, NextAttemptAt: at(10 * time.Second), Now: at(time.Second)}))
			if first.ID == 0 || first.DeliveryID != d.ID {
				t.Fatalf("attempt ids not set: %+v", first)
			}
			wantErr(t, s.FinishWebhookDelivery(ctx, store.WebhookResult{DeliveryID: d.ID, ClaimToken: d.ClaimToken,
				Status: store.DeliveryDelivered, Now: at(time.Second)}), store.ErrConflict) // the claim ended with the finish
			claimed, err = s.ClaimWebhookDeliveries(ctx, at(10*time.Second), time.Minute, 10)
			must(t, err)
			if len(claimed) != 1 || claimed[0].Attempts != 1 || claimed[0].LastStatusCode != 500 || claimed[0].LastError != "http_5xx" {
				t.Fatalf("claimed for a retry: %+v", claimed)
			}
			d = claimed[0]
			wantErr(t, s.FinishWebhookDelivery(ctx, store.WebhookResult{DeliveryID: d.ID, ClaimToken: "not-the-token",
				Status: store.DeliveryDelivered, Now: at(11 * time.Second)}), store.ErrConflict)
			wantErr(t, s.FinishWebhookDelivery(ctx, store.WebhookResult{DeliveryID: 999999, ClaimToken: d.ClaimToken,
				Status: store.DeliveryDelivered, Now: at(11 * time.Second)}), store.ErrNotFound)
			second := &store.WebhookAttempt{Attempt: 2, StatusCode: 204, DurationMS: 3, CreatedAt: at(11 * time.Second)}
			must(t, s.FinishWebhookDelivery(ctx, store.WebhookResult{DeliveryID: d.ID, ClaimToken: d.ClaimToken, Attempt: second,
				Status: store.DeliveryDelivered, Now: at(11 * time.Second)}))
			ds, err := s.ListWebhookDeliveries(ctx, "evt-00")
			must(t, err)
			got := ds[0]
			if got.Status != store.DeliveryDelivered || got.Attempts != 2 || got.LastStatusCode != 204 || got.LastError != "" ||
				!got.DeliveredAt.Equal(at(11*time.Second)) || !got.NextAttemptAt.IsZero() || got.ClaimToken != "" {
				t.Fatalf("delivered: %+v", got)
			}
			attempts, err := s.ListWebhookAttempts(ctx, d.ID)
			must(t, err)
			same(t, "attempts", attempts, []*store.WebhookAttempt{first, second})
			later, err := s.ClaimWebhookDeliveries(ctx, at(time.Hour), time.Minute, 10)
			must(t, err)
			if len(later) != 0 {
				t.Fatalf("a delivered delivery was claimed: %v", later)
			}
		}},
		{"Webhook/DueAndEndpoints", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			has := func(want bool) {
				t.Helper()
				got, err := s.HasWebhookEndpoints(ctx)
				must(t, err)
				if got != want {
					t.Fatalf("HasWebhookEndpoints = %v, want %v", got, want)
				}
			}
			due := func(now time.Time, want bool) {
				t.Helper()
				got, err := s.WebhookDeliveriesDue(ctx, now)
				must(t, err)
				if got != want {
					t.Fatalf("WebhookDeliveriesDue(%v) = %v, want %v", now, got, want)
				}
			}
			has(false)
			due(at(time.Hour), false)
			must(t, s.InsertPayment(ctx, succeededPayment("pay_1", "t1", 100)))
			emit(t, s, "pay_1", "early", 1, "payment.succeeded") // no endpoint: no delivery
			due(at(time.Hour), false)
			must(t, s.InsertWebhookEndpoint(ctx, endpoint("we_1", "t2", "*")))
			has(true)
			emit(t, s, "pay_1", "other", 1, "payment.succeeded") // another tenant's endpoint
			due(at(time.Hour), false)
			must(t, s.InsertWebhookEndpoint(ctx, endpoint("we_2", "t1", "*")))
			emit(t, s, "pay_1", "evt", 1, "payment.succeeded") // due at t0
			due(at(-time.Second), false)
			due(at(0), true)
			claimed, err := s.ClaimWebhookDeliveries(ctx, at(0), time.Minute, 10)
			must(t, err)
			if len(claimed) != 1 {
				t.Fatalf("claimed %d deliveries, want 1", len(claimed))
			}
			due(at(30*time.Second), false) // leased
			due(at(time.Minute), true)     // the lease ran out
			must(t, s.FinishWebhookDelivery(ctx, store.WebhookResult{DeliveryID: claimed[0].ID, ClaimToken: claimed[0].ClaimToken,
				Status: store.DeliveryDelivered, Now: at(time.Second)}))
			due(at(time.Hour), false)
			_, err = s.DeleteWebhookEndpoint(ctx, "we_1", at(time.Second))
			must(t, err)
			has(true)
			_, err = s.DeleteWebhookEndpoint(ctx, "we_2", at(time.Second))
			must(t, err)
			has(false)
		}},
		{"Webhook/LeaseRunsOut", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.InsertPayment(ctx, succeededPayment("pay_1", "t1", 100)))
			must(t, s.InsertWebhookEndpoint(ctx, endpoint("we_1", "t1", "*")))
			emit(t, s, "pay_1", "evt", 1, "payment.succeeded")
			first, err := s.ClaimWebhookDeliveries(ctx, at(0), time.Minute, 10)
			must(t, err)
			// the claimant died; after the lease another takes the delivery
			second, err := s.ClaimWebhookDeliveries(ctx, at(time.Minute), time.Minute, 10)
			must(t, err)
			if len(first) != 1 || len(second) != 1 || first[0].ID != second[0].ID || first[0].ClaimToken == second[0].ClaimToken {
				t.Fatalf("claims: %+v then %+v", first, second)
			}
			late := &store.WebhookAttempt{Attempt: 1, StatusCode: 200, CreatedAt: at(time.Minute)}
			wantErr(t, s.FinishWebhookDelivery(ctx, store.WebhookResult{DeliveryID: first[0].ID, ClaimToken: first[0].ClaimToken,
				Attempt: late, Status: store.DeliveryDelivered, Now: at(time.Minute)}), store.ErrConflict)
			attempts, err := s.ListWebhookAttempts(ctx, first[0].ID)
			must(t, err)
			if len(attempts) != 1 {
				t.Fatalf("the late attempt is not in the log: %v", attempts)
			}
			must(t, s.FinishWebhookDelivery(ctx, store.WebhookResult{DeliveryID: second[0].ID, ClaimToken: second[0].ClaimToken,
				Attempt: &store.WebhookAttempt{Attempt: 1, Error: "timeout", CreatedAt: at(time.Minute)},
				Status:  store.DeliveryFailed, Now: at(time.Minute)}))
			same(t, "deliveries", deliveriesTo(t, s, "evt-00"), map[string]string{"we_1": "failed"})
		}},
		{"Webhook/DeleteCancelsPending", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.InsertPayment(ctx, succeededPayment("pay_1", "t1", 100)))
			must(t, s.InsertWebhookEndpoint(ctx, endpoint("we_1", "t1", "*")))
			must(t, s.InsertWebhookEndpoint(ctx, endpoint("we_2", "t1", "*")))
			emit(t, s, "pay_1", "evt", 1, "payment.succeeded")
			claimed, err := s.ClaimWebhookDeliveries(ctx, at(0), time.Minute, 10)
			must(t, err)
			_, err = s.DeleteWebhookEndpoint(ctx, "we_1", at(time.Second))
			must(t, err)
			same(t, "deliveries", deliveriesTo(t, s, "evt-00"), map[string]string{"we_1": "canceled", "we_2": "pending"})
			for _, d := range claimed {
				err := s.FinishWebhookDelivery(ctx, store.WebhookResult{DeliveryID: d.ID, ClaimToken: d.ClaimToken,
					Status: store.DeliveryDelivered, Now: at(2 * time.Second)})
				if d.EndpointID == "we_1" {
					wantErr(t, err, store.ErrConflict)
				} else {
					must(t, err)
				}
			}
			same(t, "deliveries", deliveriesTo(t, s, "evt-00"), map[string]string{"we_1": "canceled", "we_2": "delivered"})
			// later events skip the deleted endpoint
			emit(t, s, "pay_1", "evt_later", 1, "payment.reversed")
			same(t, "later deliveries", deliveriesTo(t, s, "evt_later-00"), map[string]string{"we_2": "pending"})
		}},
		{"Webhook/ConcurrentClaims", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.InsertPayment(ctx, succeededPayment("pay_1", "t1", 100)))
			must(t, s.InsertWebhookEndpoint(ctx, endpoint("we_1", "t1", "*")))
			must(t, s.InsertWebhookEndpoint(ctx, endpoint("we_2", "t1", "payment.*")))
			emit(t, s, "pay_1", "evt", 25, "payment.succeeded") // 50 deliveries
			var mu sync.Mutex
			seen := map[int64]int{}
			errs := race(8, func(int) error {
				for {
					ds, err := s.ClaimWebhookDeliveries(ctx, at(time.Hour), time.Hour, 3)
					if err != nil || len(ds) == 0 {
						return err
					}
					mu.Lock()
					for _, d := range ds {
						seen[d.ID]++
					}
					mu.Unlock()
				}
			})
			same(t, "claimers", count(t, errs), map[string]int{"ok": 8})
			var twice []int64
			for id, n := range seen {
				if n != 1 {
					twice = append(twice, id)
				}
			}
			sort.Slice(twice, func(i, j int) bool { return twice[i] < twice[j] })
			if len(seen) != 50 || len(twice) != 0 {
				t.Fatalf("%d deliveries claimed, want 50; claimed more than once: %v", len(seen), twice)
			}
		}},
	}
}
