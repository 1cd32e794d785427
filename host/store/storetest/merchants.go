package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/payhost/payhost/host/store"
)

// fullMerchant has every field set.
func fullMerchant(id, tenant string) *store.Merchant {
	return &store.Merchant{
		ID:             id,
		Tenant:         tenant,
		IdempotencyKey: "idem-" + id,
		Account:        "app",
		Plugin:         "adapay",
		Kind:           "enterprise",
		Name:           "上海测试科技有限公司 'quoted' \"too\"",
		Status:         "submitted",
		Stage:          store.StageApplication,
		Application:    []byte(`{"kind":"enterprise","name":"上海测试科技有限公司","legal":{"id_number":"3211**********5128"}}`),
		Sealed:         []byte(`{"kind":"enterprise","name":"上海测试科技有限公司","legal":{"id_number":"321121198606115128"}}`),
		ProviderID:     "api_live_0001",
		Issued:         map[string]string{"app_ids": "app_1,app_2", "sign_view_url": "https://x.example/c?a=1&b=2"},
		ProviderData:   map[string]string{"request_id": id, "stage": "entry"},
		Message:        "待补充商户证照",
		FailureCode:    "invalid_request",
		FailureMessage: "营业执照认证失败",
		ProviderCode:   "request_param_error",
		CreatedAt:      at(0),
		UpdatedAt:      at(time.Second),
		SubmittedAt:    at(2 * time.Second),
		NextPollAt:     at(time.Minute),
		PollAttempts:   2,
	}
}

func getMerchant(t *testing.T, s store.Store, id string) *store.Merchant {
	t.Helper()
	m, err := s.GetMerchant(t.Context(), id)
	must(t, err)
	return m
}

func newMerchant(id string) *store.Merchant {
	return &store.Merchant{ID: id, Tenant: "t1", Account: "app", Plugin: "adapay", Status: "submitted",
		Stage: store.StageApplication, CreatedAt: at(0), UpdatedAt: at(0)}
}

func channelRequest(id, merchantID string) *store.MerchantRequest {
	return &store.MerchantRequest{ID: id, Tenant: "t1", MerchantID: merchantID, Kind: store.RequestChannels,
		IdempotencyKey: "idem-" + id, Status: "submitted", Params: []byte(`{"channels":["wx_pub","alipay_qr"]}`),
		ProviderData: map[string]string{"k": "v"}, CreatedAt: at(time.Minute), UpdatedAt: at(time.Minute),
		NextPollAt: at(2 * time.Minute),
		Items: []store.MerchantRequestItem{
			{Name: "wx_pub", Status: "submitted", UpdatedAt: at(time.Minute)},
			{Name: "alipay_qr", Status: "submitted", UpdatedAt: at(time.Minute)},
		}}
}

func merchantCases() []testCase {
	return []testCase{
		{"Merchant/RoundTrip", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			full := fullMerchant("mer_full", "t1")
			must(t, s.InsertMerchant(ctx, full))
			same(t, "full", getMerchant(t, s, "mer_full"), full)
			bare := &store.Merchant{ID: "mer_bare", Tenant: "t1", Account: "app", Status: "draft"}
			must(t, s.InsertMerchant(ctx, bare))
			got := getMerchant(t, s, "mer_bare")
			same(t, "bare", got, bare)
			if got.Sealed != nil || got.Issued != nil || !got.SubmittedAt.IsZero() {
				t.Fatalf("empty fields read back as %q, %v, %s", got.Sealed, got.Issued, got.SubmittedAt)
			}
		}},
		{"Merchant/DuplicateAndMissing", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			first := fullMerchant("mer_1", "t1")
			must(t, s.InsertMerchant(ctx, first))
			again := fullMerchant("mer_1", "t2")
			again.Name = "another"
			wantErr(t, s.InsertMerchant(ctx, again), store.ErrDuplicate)
			same(t, "first after duplicate", getMerchant(t, s, "mer_1"), first)
			_, err := s.GetMerchant(ctx, "mer_missing")
			wantErr(t, err, store.ErrNotFound)
			_, err = s.UpdateMerchant(ctx, store.MerchantUpdate{ID: "mer_missing", From: "submitted", To: "approved"})
			wantErr(t, err, store.ErrNotFound)
		}},
		{"Merchant/ConditionalUpdate", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.InsertMerchant(ctx, fullMerchant("mer_1", "t1")))
			// another status, or another stage: nothing changes
			_, err := s.UpdateMerchant(ctx, store.MerchantUpdate{ID: "mer_1", From: "reviewing", To: "approved", Message: ptr("x")})
			wantErr(t, err, store.ErrConflict)
			_, err = s.UpdateMerchant(ctx, store.MerchantUpdate{ID: "mer_1", From: "submitted", FromStage: store.StageReview, To: "approved"})
			wantErr(t, err, store.ErrConflict)
			same(t, "unchanged", getMerchant(t, s, "mer_1"), fullMerchant("mer_1", "t1"))
			got, err := s.UpdateMerchant(ctx, store.MerchantUpdate{ID: "mer_1", From: "submitted", FromStage: store.StageApplication,
				To: "approved", ProviderID: ptr("api_live_0002"), Issued: map[string]string{"app_ids": "app_9"},
				Message: ptr(""), FailureCode: ptr(""), FailureMessage: ptr(""), ProviderCode: ptr(""), ClearSealed: true,
				NextPollAt: ptr(time.Time{}), PollAttempts: ptr(0), Now: at(time.Hour)})
			must(t, err)
			want := fullMerchant("mer_1", "t1")
			want.Status, want.ProviderID, want.Issued = "approved", "api_live_0002", map[string]string{"app_ids": "app_9"}
			want.Message, want.FailureCode, want.FailureMessage, want.ProviderCode, want.Sealed = "", "", "", "", nil
			want.NextPollAt, want.PollAttempts, want.UpdatedAt = time.Time{}, 0, at(time.Hour)
			same(t, "returned", got, want)
			same(t, "stored", getMerchant(t, s, "mer_1"), want)
			// the stage moves with the status; fields alone need no condition
			got, err = s.UpdateMerchant(ctx, store.MerchantUpdate{ID: "mer_1", From: "approved", To: "reviewing",
				Stage: ptr(store.StageReview), SubmittedAt: ptr(at(2 * time.Hour)), ProviderData: map[string]string{"stage": "audit"}})
			must(t, err)
			if got.Stage != store.StageReview || got.Status != "reviewing" || got.ProviderData["stage"] != "audit" ||
				!got.SubmittedAt.Equal(at(2*time.Hour)) || !got.UpdatedAt.Equal(at(time.Hour)) {
				t.Fatalf("after submit: %+v", got)
			}
			got, err = s.UpdateMerchant(ctx, store.MerchantUpdate{ID: "mer_1", Sealed: []byte(`{"name":"again"}`)})
			must(t, err)
			if string(got.Sealed) != `{"name":"again"}` || got.Status != "reviewing" {
				t.Fatalf("fields-only update: %+v", got)
			}
		}},
		{"Merchant/ClaimToPoll", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			for i, d := range []time.Duration{3 * time.Second, time.Second, 0, 2 * time.Second} {
				m := newMerchant(fmt.Sprintf("mer_%d", i))
				if d > 0 {
					m.NextPollAt = at(d)
				}
				must(t, s.InsertMerchant(ctx, m))
			}
			got, err := s.ClaimMerchantsToPoll(ctx, at(2*time.Second), time.Minute, 10)
			must(t, err)
			var ids []string
			for _, m := range got {
				ids = append(ids, m.ID)
				if !m.NextPollAt.Equal(at(2*time.Second + time.Minute)) {
					t.Fatalf("claimed %s polls next at %s", m.ID, m.NextPollAt)
				}
			}
			same(t, "claimed", sorted(ids), []string{"mer_1", "mer_3"})
			again, err := s.ClaimMerchantsToPoll(ctx, at(2*time.Second), time.Minute, 10)
			must(t, err)
			if len(again) != 0 {
				t.Fatalf("claimed twice: %d", len(again))
			}
			if m := getMerchant(t, s, "mer_2"); !m.NextPollAt.IsZero() {
				t.Fatal("a merchant without next poll was claimed")
			}
		}},
		{"Merchant/Documents", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.InsertMerchant(ctx, newMerchant("mer_1")))
			must(t, s.InsertMerchant(ctx, newMerchant("mer_2")))
			d1 := &store.MerchantDocument{ID: "doc_1", MerchantID: "mer_1", Type: "license", FileName: "营业执照.png",
				ContentType: "image/png", Size: 2048, SHA256: "ab12", Description: "licence", ProviderDocumentID: "pic_1", CreatedAt: at(0)}
			d2 := &store.MerchantDocument{ID: "doc_2", MerchantID: "mer_1", Type: "legal_id_front", Size: 1, CreatedAt: at(time.Second)}
			d3 := &store.MerchantDocument{ID: "doc_3", MerchantID: "mer_2", Type: "license", CreatedAt: at(0)}
			for _, d := range []*store.MerchantDocument{d1, d2, d3} {
				must(t, s.InsertMerchantDocument(ctx, d))
			}
			wantErr(t, s.InsertMerchantDocument(ctx, &store.MerchantDocument{ID: "doc_1", MerchantID: "mer_2", Type: "x"}), store.ErrDuplicate)
			wantErr(t, s.InsertMerchantDocument(ctx, &store.MerchantDocument{ID: "doc_9", MerchantID: "mer_missing", Type: "x"}), store.ErrNotFound)
			got, err := s.ListMerchantDocuments(ctx, "mer_1")
			must(t, err)
			same(t, "documents", got, []*store.MerchantDocument{d1, d2})
			none, err := s.ListMerchantDocuments(ctx, "mer_missing")
			must(t, err)
			if len(none) != 0 {
				t.Fatalf("documents of nobody: %d", len(none))
			}
		}},
		{"Merchant/Requests", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.InsertMerchant(ctx, newMerchant("mer_1")))
			must(t, s.InsertMerchant(ctx, newMerchant("mer_2")))
			r1 := channelRequest("mrq_1", "mer_1")
			must(t, s.InsertMerchantRequest(ctx, r1))
			r2 := &store.MerchantRequest{ID: "mrq_2", Tenant: "t1", MerchantID: "mer_1", Kind: store.RequestSettlement,
				Status: "submitted", Params: []byte(`{"account":{"number":"6222***4287"}}`), CreatedAt: at(2 * time.Minute)}
			must(t, s.InsertMerchantRequest(ctx, r2))
			must(t, s.InsertMerchantRequest(ctx, channelRequest("mrq_3", "mer_2")))
			wantErr(t, s.InsertMerchantRequest(ctx, channelRequest("mrq_1", "mer_2")), store.ErrDuplicate)
			wantErr(t, s.InsertMerchantRequest(ctx, channelRequest("mrq_9", "mer_missing")), store.ErrNotFound)
			dupItems := channelRequest("mrq_8", "mer_1")
			dupItems.Items[1].Name = "wx_pub"
			wantErr(t, s.InsertMerchantRequest(ctx, dupItems), store.ErrDuplicate)
			_, err := s.GetMerchantRequest(ctx, "mrq_8")
			wantErr(t, err, store.ErrNotFound) // the transaction left nothing behind

			got, err := s.GetMerchantRequest(ctx, "mrq_1")
			must(t, err)
			same(t, "request", got, r1)
			list, err := s.ListMerchantRequests(ctx, "mer_1")
			must(t, err)
			same(t, "requests", list, []*store.MerchantRequest{r1, r2})

			// the request moves conditionally
			_, err = s.UpdateMerchantRequest(ctx, store.MerchantRequestUpdate{ID: "mrq_1", From: "reviewing", To: "approved"})
			wantErr(t, err, store.ErrConflict)
			_, err = s.UpdateMerchantRequest(ctx, store.MerchantRequestUpdate{ID: "mrq_missing", From: "submitted", To: "approved"})
			wantErr(t, err, store.ErrNotFound)
			got, err = s.UpdateMerchantRequest(ctx, store.MerchantRequestUpdate{ID: "mrq_1", From: "submitted", To: "reviewing",
				Message: ptr("处理中"), ProviderData: map[string]string{"k": "w"}, NextPollAt: ptr(at(time.Hour)), PollAttempts: ptr(1),
				Now: at(3 * time.Minute)})
			must(t, err)
			want := channelRequest("mrq_1", "mer_1")
			want.Status, want.Message, want.ProviderData, want.NextPollAt, want.PollAttempts, want.UpdatedAt =
				"reviewing", "处理中", map[string]string{"k": "w"}, at(time.Hour), 1, at(3*time.Minute)
			same(t, "updated", got, want)

			// items: changed conditionally, added when new
			_, err = s.SetMerchantRequestItem(ctx, store.MerchantItemUpdate{RequestID: "mrq_1", Name: "wx_pub", From: "reviewing", To: "approved"})
			wantErr(t, err, store.ErrConflict)
			_, err = s.SetMerchantRequestItem(ctx, store.MerchantItemUpdate{RequestID: "mrq_1", Name: "wx_lite", From: "submitted", To: "approved"})
			wantErr(t, err, store.ErrNotFound)
			_, err = s.SetMerchantRequestItem(ctx, store.MerchantItemUpdate{RequestID: "mrq_1", Name: "wx_pub", To: "approved"})
			wantErr(t, err, store.ErrDuplicate)
			_, err = s.SetMerchantRequestItem(ctx, store.MerchantItemUpdate{RequestID: "mrq_missing", Name: "wx_pub", To: "approved"})
			wantErr(t, err, store.ErrNotFound)
			_, err = s.SetMerchantRequestItem(ctx, store.MerchantItemUpdate{RequestID: "mrq_1", Name: "wx_pub", From: "submitted",
				To: "approved", SubMerchantCode: ptr("0021000001"), Message: ptr(""), Now: at(4 * time.Minute)})
			must(t, err)
			got, err = s.SetMerchantRequestItem(ctx, store.MerchantItemUpdate{RequestID: "mrq_1", Name: "wechat", To: "needs_info",
				QRCode: ptr("https://qr.example/W?x=1&y=2"), ApplyState: ptr("待联系人确认"), AuthorizeState: ptr("unauthorised"),
				Now: at(5 * time.Minute)})
			must(t, err)
			want.Items = []store.MerchantRequestItem{
				{Name: "wx_pub", Status: "approved", SubMerchantCode: "0021000001", UpdatedAt: at(4 * time.Minute)},
				{Name: "alipay_qr", Status: "submitted", UpdatedAt: at(time.Minute)},
				{Name: "wechat", Status: "needs_info", QRCode: "https://qr.example/W?x=1&y=2", ApplyState: "待联系人确认",
					AuthorizeState: "unauthorised", UpdatedAt: at(5 * time.Minute)},
			}
			same(t, "items", got.Items, want.Items)
			list, err = s.ListMerchantRequests(ctx, "mer_1")
			must(t, err)
			same(t, "listed items", list[0].Items, want.Items)
			if len(list[1].Items) != 0 {
				t.Fatalf("settlement request has items %v", list[1].Items)
			}
		}},
		{"Merchant/ClaimRequestsToPoll", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.InsertMerchant(ctx, newMerchant("mer_1")))
			due := channelRequest("mrq_due", "mer_1")
			due.NextPollAt = at(time.Second)
			later := channelRequest("mrq_later", "mer_1")
			later.NextPollAt = at(time.Hour)
			never := channelRequest("mrq_never", "mer_1")
			never.NextPollAt = time.Time{}
			for _, r := range []*store.MerchantRequest{due, later, never} {
				must(t, s.InsertMerchantRequest(ctx, r))
			}
			got, err := s.ClaimMerchantRequestsToPoll(ctx, at(time.Minute), time.Minute, 10)
			must(t, err)
			if len(got) != 1 || got[0].ID != "mrq_due" || len(got[0].Items) != 2 || !got[0].NextPollAt.Equal(at(2*time.Minute)) {
				t.Fatalf("claimed %+v", got)
			}
			again, err := s.ClaimMerchantRequestsToPoll(ctx, at(time.Minute), time.Minute, 10)
			must(t, err)
			if len(again) != 0 {
				t.Fatalf("claimed twice: %d", len(again))
			}
		}},
		{"Merchant/EventsInTheTransaction", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.InsertMerchant(ctx, newMerchant("mer_1")))
			must(t, s.InsertMerchantRequest(ctx, channelRequest("mrq_1", "mer_1")))
			render := func(obj any) ([]byte, error) {
				switch o := obj.(type) {
				case *store.Merchant:
					return []byte(fmt.Sprintf(`{"id":%q,"status":%q}`, o.ID, o.Status)), nil
				case *store.MerchantRequest:
					return []byte(fmt.Sprintf(`{"id":%q,"status":%q,"items":%d}`, o.ID, o.Status, len(o.Items))), nil
				}
				return nil, fmt.Errorf("%T", obj)
			}
			spec := func(id, typ string) *store.EventSpec {
				return &store.EventSpec{ID: id, Type: typ, CreatedAt: at(time.Hour), Data: render}
			}
			// a refused conditional move records nothing
			_, err := s.UpdateMerchant(ctx, store.MerchantUpdate{ID: "mer_1", From: "reviewing", To: "approved", Event: spec("evt_0", "merchant.approved")})
			wantErr(t, err, store.ErrConflict)
			_, err = s.UpdateMerchantRequest(ctx, store.MerchantRequestUpdate{ID: "mrq_1", From: "reviewing", To: "approved", Event: spec("evt_00", "merchant.channels.approved")})
			wantErr(t, err, store.ErrConflict)
			_, err = s.UpdateMerchant(ctx, store.MerchantUpdate{ID: "mer_1", From: "submitted", To: "approved", Event: spec("evt_1", "merchant.approved")})
			must(t, err)
			_, err = s.UpdateMerchantRequest(ctx, store.MerchantRequestUpdate{ID: "mrq_1", From: "submitted", To: "reviewing", Event: spec("evt_2", "merchant.channels.reviewing")})
			must(t, err)
			// an event that cannot be written undoes the change
			_, err = s.UpdateMerchant(ctx, store.MerchantUpdate{ID: "mer_1", From: "approved", To: "reviewing", Event: spec("evt_1", "merchant.reviewing")})
			wantErr(t, err, store.ErrDuplicate)
			if m := getMerchant(t, s, "mer_1"); m.Status != "approved" {
				t.Fatalf("the change was kept without its event: %s", m.Status)
			}
			evs, err := s.ListEvents(ctx, store.EventQuery{Tenant: "t1", ObjectID: "mer_1"})
			must(t, err)
			if len(evs) != 2 {
				t.Fatalf("%d events, want 2", len(evs))
			}
			// newest first
			want := []struct{ id, typ, data string }{
				{"evt_2", "merchant.channels.reviewing", `{"id":"mrq_1","status":"reviewing","items":2}`},
				{"evt_1", "merchant.approved", `{"id":"mer_1","status":"approved"}`},
			}
			for i, w := range want {
				e := evs[i]
				if e.ID != w.id || e.Type != w.typ || string(e.Data) != w.data || e.ObjectType != "merchant" || e.ObjectID != "mer_1" || e.Tenant != "t1" {
					t.Fatalf("event %d: %+v (data %s), want %+v", i, e, e.Data, w)
				}
			}
		}},
		{"Merchant/ConcurrentMoves", func(t *testing.T, s store.Store) {
			ctx := t.Context()
			must(t, s.InsertMerchant(ctx, newMerchant("mer_1")))
			must(t, s.InsertMerchantRequest(ctx, channelRequest("mrq_1", "mer_1")))
			errs := race(30, func(i int) error {
				_, err := s.UpdateMerchant(ctx, store.MerchantUpdate{ID: "mer_1", From: "submitted", FromStage: store.StageApplication,
					To: "approved", ProviderID: ptr(fmt.Sprintf("key_%d", i))})
				return err
			})
			if c := count(t, errs, store.ErrConflict); c["ok"] != 1 {
				t.Fatalf("merchant moves: %v", c)
			}
			errs = race(30, func(int) error {
				_, err := s.SetMerchantRequestItem(ctx, store.MerchantItemUpdate{RequestID: "mrq_1", Name: "wx_pub", From: "submitted", To: "approved"})
				return err
			})
			if c := count(t, errs, store.ErrConflict); c["ok"] != 1 {
				t.Fatalf("item moves: %v", c)
			}
			errs = race(30, func(int) error {
				_, err := s.SetMerchantRequestItem(ctx, store.MerchantItemUpdate{RequestID: "mrq_1", Name: "wechat", To: "reviewing"})
				return err
			})
			if c := count(t, errs, store.ErrDuplicate); c["ok"] != 1 {
				t.Fatalf("item inserts: %v", c)
			}
			errs = race(30, func(int) error {
				_, err := s.UpdateMerchantRequest(ctx, store.MerchantRequestUpdate{ID: "mrq_1", From: "submitted", To: "rejected"})
				return err
			})
			if c := count(t, errs, store.ErrConflict); c["ok"] != 1 {
				t.Fatalf("request moves: %v", c)
			}
		}},
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
