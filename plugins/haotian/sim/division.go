package sim

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// relationTypes maps the seed's relationType values to the name the gateway
// stores; CUSTOM (and OTHERS, used by the seed's example) take the
// request's relationTypeName instead.
var relationTypes = map[string]string{
	"SERVICE_PROVIDER": "服务商",
	"STORE":            "门店",
	"STAFF":            "员工",
	"STORE_OWNER":      "店主",
	"PARTNER":          "合作伙伴",
	"HEADQUARTER":      "总部",
	"BRAND":            "品牌方",
	"DISTRIBUTOR":      "分销商",
	"USER":             "用户",
	"SUPPLIER":         "供应商",
	"CUSTOM":           "",
	"OTHERS":           "",
}

// divisionIfCodes are the interfaces with a split service.
var divisionIfCodes = map[string]bool{ifWxpay: true, ifAlipay: true}

var bindRequired = []required{
	{"ifCode", "支付接口代码不能为空"},
	{"receiverAlias", "接收者账号别名不能为空"},
	{"receiverGroupId", "组ID不能为空， 若不存在请先登录商户平台进行创建操作"},
	{"accType", "分账接收账号类型不能为空"},
	{"accNo", "分账接收账号不能为空"},
	{"relationType", "分账关系类型不能为空"},
	{"divisionProfit", "分账比例不能为空"},
}

func handleReceiverBind(s *Server, c *call) (fields, error) {
	accType, err := parseSmallInt(c.get("accType"), 0)
	if err != nil || accType > 1 {
		return nil, bizErr("分账接收账号类型设置有误")
	}
	groupID, err := strconv.ParseInt(c.get("receiverGroupId"), 10, 64)
	if err != nil {
		return nil, paramErr("receiverGroupId")
	}
	ifCode := c.get("ifCode")
	if !c.mch.ifCodes[ifCode] {
		return nil, bizErr("商户应用的支付配置不存在或已关闭")
	}
	g := s.groups[groupID]
	if g == nil || g.MchNo != c.mch.MchNo {
		return nil, bizErr("商户分账账号组不存在，请检查或进入商户平台进行创建操作")
	}
	profit, err := parseRatio(c.get("divisionProfit"))
	if err != nil || profit.isZero() {
		return nil, bizErr("账号分账比例有误, 配置值为[0.0001~1.0000]")
	}
	relType := c.get("relationType")
	relName, ok := relationTypes[relType]
	if !ok {
		return nil, bizErr("分账关系类型有误[" + relType + "]")
	}
	if relName == "" {
		relName = c.get("relationTypeName")
		if relName == "" {
			return nil, bizErr("relationType=" + relType + "时relationTypeName不能为空")
		}
	}
	if ifCode == ifAlipay && c.get("accName") == "" {
		return nil, bizErr("支付宝分账接收账号名称不能为空")
	}
	if !divisionIfCodes[ifCode] {
		return nil, bizErr("系统不支持该分账接口")
	}
	r := Receiver{
		MchNo:            c.mch.MchNo,
		AppID:            c.mch.AppID,
		IfCode:           ifCode,
		Alias:            c.get("receiverAlias"),
		GroupID:          groupID,
		AccType:          accType,
		AccNo:            c.get("accNo"),
		AccName:          c.get("accName"),
		RelationType:     relType,
		RelationTypeName: relName,
		ChannelExtInfo:   c.get("channelExtInfo"),
		DivisionProfit:   profit.String(),
	}
	out := fields{}
	if strings.HasPrefix(r.AccNo, "NOAUTH") {
		// The channel refuses the binding; nothing is stored.
		out.set("bindState", 0)
		out.set("errCode", "NOAUTH")
		out.set("errMsg", "无分账权限")
	} else {
		r.ID = s.nextReceiver
		s.nextReceiver++
		r.BindSuccessTime = s.now()
		rr := r
		s.receivers[r.ID] = &rr
		out.set("receiverId", r.ID)
		out.set("bindSuccessTime", r.BindSuccessTime.UnixMilli())
		out.set("bindState", 1)
	}
	out.set("receiverAlias", r.Alias)
	out.set("receiverGroupId", r.GroupID)
	out.set("mchNo", r.MchNo)
	out.set("appId", r.AppID)
	out.set("ifCode", r.IfCode)
	out.set("accType", r.AccType)
	out.set("accNo", r.AccNo)
	out.set("accName", r.AccName)
	out.set("relationType", r.RelationType)
	out.set("relationTypeName", r.RelationTypeName)
	out.set("channelExtInfo", r.ChannelExtInfo)
	out.set("divisionProfit", decimal(r.DivisionProfit))
	return out, nil
}

// divEntry is one receiver's part of a split request.
type divEntry struct {
	rec *Receiver
	// ratio is nil for a fixed divisionAmount.
	ratio  *ratio
	amount int64
}

// receiverSpec is one element of the exec request's receivers array.
type receiverSpec struct {
	receiverID, groupID   int64
	profit, amount        string
	hasReceiver, hasGroup bool
	hasProfit, hasAmount  bool
}

func parseReceiverSpecs(text string) ([]receiverSpec, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return nil, paramErr("receivers")
	}
	specs := make([]receiverSpec, 0, len(raw))
	for _, item := range raw {
		m := map[string]string{}
		if err := parseJSONParams(item, m); err != nil {
			return nil, paramErr("receivers")
		}
		var sp receiverSpec
		if v := m["receiverId"]; v != "" {
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, paramErr("receivers.receiverId")
			}
			sp.receiverID, sp.hasReceiver = id, true
		}
		if v := m["receiverGroupId"]; v != "" {
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, paramErr("receivers.receiverGroupId")
			}
			sp.groupID, sp.hasGroup = id, true
		}
		sp.profit, sp.hasProfit = m["divisionProfit"], m["divisionProfit"] != ""
		sp.amount, sp.hasAmount = m["divisionAmount"], m["divisionAmount"] != ""
		specs = append(specs, sp)
	}
	return specs, nil
}

func handleDivisionExec(s *Server, c *call) (fields, error) {
	if c.get("payOrderId") == "" && c.get("mchOrderNo") == "" {
		return nil, bizErr("mchOrderNo 和 payOrderId不能同时为空")
	}
	o := s.findPayOrderLocked(c.mch.MchNo, c.get("payOrderId"), c.get("mchOrderNo"))
	if o == nil {
		return nil, bizErr("订单不存在")
	}
	if o.State != PayStateSuccess || o.DivisionMode != 2 {
		return nil, bizErr("当前订单状态不支持分账")
	}
	useSys, err := parseSmallInt(c.get("useSysAutoDivisionReceivers"), 0)
	if err != nil || useSys > 1 {
		return nil, paramErr("useSysAutoDivisionReceivers")
	}
	var entries []divEntry
	if useSys == 1 {
		entries = s.autoGroupEntriesLocked(o)
	} else {
		if strings.TrimSpace(c.get("receivers")) == "" {
			return nil, bizErr("分账接收者列表不能为空")
		}
		specs, err := parseReceiverSpecs(c.get("receivers"))
		if err != nil {
			return nil, err
		}
		entries, err = s.entriesLocked(o, specs)
		if err != nil {
			return nil, err
		}
	}
	if len(entries) == 0 {
		return nil, bizErr("无可用的分账接收者")
	}
	b, err := s.divideLocked(o, entries, useSys == 1)
	if err != nil {
		return nil, err
	}
	out := fields{}
	out.set("batchOrderId", b.BatchOrderID)
	out.set("channelBatchOrderId", b.ChannelBatchOrderID)
	state, code, msg := batchState(b)
	out.set("state", state)
	out.set("errCode", code)
	out.set("errMsg", msg)
	return out, nil
}

// entriesLocked resolves an explicit receivers array against the order's
// merchant application and interface.
func (s *Server) entriesLocked(o *payOrder, specs []receiverSpec) ([]divEntry, error) {
	var entries []divEntry
	seen := map[int64]bool{}
	ratioSum := new(big.Rat)
	var fixedSum int64
	add := func(r *Receiver, rt *ratio, amount int64) {
		if seen[r.ID] {
			return
		}
		seen[r.ID] = true
		if rt != nil {
			ratioSum.Add(ratioSum, rt.rat())
		}
		entries = append(entries, divEntry{rec: r, ratio: rt, amount: amount})
	}
	for _, sp := range specs {
		if !sp.hasReceiver && !sp.hasGroup {
			return nil, bizErr("分账用户组： receiverId 和 与receiverGroupId 必填一项")
		}
		if sp.hasProfit && sp.hasAmount {
			return nil, bizErr("分账比例和分账金额不支持共传，请确定一种计算方式")
		}
		var rt *ratio
		var amount int64
		if sp.hasProfit {
			r, err := parseRatio(sp.profit)
			if err != nil {
				if strings.HasPrefix(sp.profit, "-") {
					return nil, bizErr(fmt.Sprintf("分账用户receiverId=[%s],receiverGroupId=[%s] 分账比例不得小于0%%", idText(sp.hasReceiver, sp.receiverID), idText(sp.hasGroup, sp.groupID)))
				}
				return nil, bizErr(fmt.Sprintf("分账用户receiverId=[%s],receiverGroupId=[%s] 分账比例不得高于100%%", idText(sp.hasReceiver, sp.receiverID), idText(sp.hasGroup, sp.groupID)))
			}
			rt = &r
		}
		if sp.hasAmount {
			a, err := parseAmount(sp.amount)
			if err != nil || a < 1 {
				return nil, paramErr("receivers.divisionAmount")
			}
			if !sp.hasReceiver {
				return nil, bizErr("按组分账不支持指定分账金额(divisionAmount)")
			}
			amount = a
			fixedSum += a
		}
		if sp.hasReceiver {
			r := s.receivers[sp.receiverID]
			if r == nil || r.MchNo != o.MchNo || r.AppID != o.AppID || r.IfCode != o.IfCode {
				return nil, bizErr("分账[用户]中包含不存在或渠道不可用账号，请更改")
			}
			if rt == nil && !sp.hasAmount {
				def, _ := parseRatio(r.DivisionProfit)
				rt = &def
			}
			add(r, rt, amount)
			continue
		}
		g := s.groups[sp.groupID]
		if g == nil || g.MchNo != o.MchNo {
			return nil, bizErr("分账[账号组]中包含不存在或不可用组，请更改")
		}
		for _, r := range s.groupReceiversLocked(o, sp.groupID) {
			rr := rt
			if rr == nil {
				def, _ := parseRatio(r.DivisionProfit)
				rr = &def
			}
			add(r, rr, 0)
		}
	}
	if ratioSum.Cmp(big.NewRat(1, 1)) > 0 {
		return nil, bizErr("分账比例总和不得高于100%")
	}
	base := divisibleAmount(o)
	if base <= 0 {
		return nil, bizErr("订单可分账金额不足")
	}
	if fixedSum > base {
		return nil, bizErr(fmt.Sprintf("分账金额超出订单可分账金额[%d]", base))
	}
	return entries, nil
}

func idText(ok bool, id int64) string {
	if !ok {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

// groupReceiversLocked returns the bound receivers of a group usable for
// the order (same application and interface), by receiverId.
func (s *Server) groupReceiversLocked(o *payOrder, groupID int64) []*Receiver {
	var out []*Receiver
	for _, r := range s.receivers {
		if r.GroupID == groupID && r.MchNo == o.MchNo && r.AppID == o.AppID && r.IfCode == o.IfCode {
			out = append(out, r)
		}
	}
	sortReceivers(out)
	return out
}

func sortReceivers(rs []*Receiver) {
	slices.SortFunc(rs, func(a, b *Receiver) int { return cmp.Compare(a.ID, b.ID) })
}

// autoGroupEntriesLocked returns the merchant's automatic group receivers
// at their default ratios.
func (s *Server) autoGroupEntriesLocked(o *payOrder) []divEntry {
	var auto *ReceiverGroup
	for _, g := range s.groups {
		if g.MchNo == o.MchNo && g.AutoDivision && (auto == nil || g.ID < auto.ID) {
			auto = g
		}
	}
	if auto == nil {
		return nil
	}
	var entries []divEntry
	for _, r := range s.groupReceiversLocked(o, auto.ID) {
		rt, err := parseRatio(r.DivisionProfit)
		if err != nil {
			continue
		}
		entries = append(entries, divEntry{rec: r, ratio: &rt})
	}
	return entries
}

// autoDivideLocked runs the split of a divisionMode 1 order after payment.
func (s *Server) autoDivideLocked(payOrderID string) {
	o := s.orders[payOrderID]
	if o == nil || o.State != PayStateSuccess {
		return
	}
	entries := s.autoGroupEntriesLocked(o)
	if len(entries) == 0 || divisibleAmount(o) <= 0 {
		return
	}
	_, _ = s.divideLocked(o, entries, true)
}

// divisibleAmount is Jeepay's split base: paid − fee − refunded (and in
// flight) − already split.
func divisibleAmount(o *payOrder) int64 {
	return o.Amount - o.MchFeeAmount - o.RefundedAmount - o.PendingRefundAmount - o.DividedAmount
}

// divideLocked computes a batch, stores it as accepted (4) and schedules its
// progress: floor(base × ratio) per ratio receiver, the fixed amount per
// fixed receiver, each capped at what the batch has left of the base.
func (s *Server) divideLocked(o *payOrder, entries []divEntry, auto bool) (*DivisionBatch, error) {
	base := divisibleAmount(o)
	if base <= 0 {
		return nil, bizErr("订单可分账金额不足")
	}
	b := &DivisionBatch{
		BatchOrderID:        s.newIDLocked("D"),
		PayOrderID:          o.PayOrderID,
		MchNo:               o.MchNo,
		AppID:               o.AppID,
		ChannelBatchOrderID: s.newIDLocked("B"),
		Auto:                auto,
		Base:                base,
		CreatedAt:           s.now(),
	}
	left := base
	for _, e := range entries {
		amt := e.amount
		if e.ratio != nil {
			amt = e.ratio.of(base)
		}
		amt = min(amt, left)
		left -= amt
		profit := e.rec.DivisionProfit
		if e.ratio != nil {
			profit = e.ratio.String()
		}
		pr, _ := parseRatio(profit)
		b.Records = append(b.Records, DivisionRecord{
			RecordID:          s.nextRecord,
			ReceiverID:        e.rec.ID,
			ReceiverGroupID:   e.rec.GroupID,
			ReceiverAlias:     e.rec.Alias,
			AccType:           e.rec.AccType,
			AccNo:             e.rec.AccNo,
			AccName:           e.rec.AccName,
			RelationType:      e.rec.RelationType,
			RelationTypeName:  e.rec.RelationTypeName,
			DivisionProfit:    pr.format(6),
			CalDivisionAmount: amt,
			State:             DivisionStateAccepted,
		})
		s.nextRecord++
	}
	total := base - left
	o.DividedAmount += total
	s.merchants[o.MchNo].balance -= total
	s.batches[b.BatchOrderID] = b
	id := b.BatchOrderID
	s.afterLocked(s.cfg.DivisionAcceptDelay, func() {
		s.advanceBatchLocked(id, DivisionStateAccepted, DivisionStateProcessing)
		s.afterLocked(s.cfg.DivisionSettleDelay, func() { s.settleBatchLocked(id) })
	})
	return b, nil
}

func (s *Server) advanceBatchLocked(id string, from, to int) {
	b := s.batches[id]
	if b == nil {
		return
	}
	for i := range b.Records {
		if b.Records[i].State == from {
			b.Records[i].State = to
		}
	}
}

// settleBatchLocked ends every processing record: success credits the
// receiver's channel balance; failure (Receiver.FailSplits) gives the amount
// back to the order and the merchant.
func (s *Server) settleBatchLocked(id string) {
	b := s.batches[id]
	if b == nil {
		return
	}
	o := s.orders[b.PayOrderID]
	for i := range b.Records {
		rec := &b.Records[i]
		if rec.State != DivisionStateProcessing {
			continue
		}
		r := s.receivers[rec.ReceiverID]
		if r == nil || r.FailSplits {
			rec.State = DivisionStateFailed
			rec.ErrCode, rec.ErrMsg = "RECEIVER_INVALID", "分账接收方账户异常"
			o.DividedAmount -= rec.CalDivisionAmount
			s.merchants[o.MchNo].balance += rec.CalDivisionAmount
			continue
		}
		rec.State = DivisionStateSuccess
		r.Balance += rec.CalDivisionAmount
	}
}

// batchState summarises a batch for the exec response: 1 when every record
// succeeded, 2 when all are final and one failed (with its errCode and
// errMsg), else 3 while any record is processing, 4 while all are accepted.
func batchState(b *DivisionBatch) (int, string, string) {
	accepted, processing, failed := 0, 0, -1
	for i, r := range b.Records {
		switch r.State {
		case DivisionStateAccepted, DivisionStateWaiting:
			accepted++
		case DivisionStateProcessing:
			processing++
		case DivisionStateFailed:
			if failed < 0 {
				failed = i
			}
		}
	}
	switch {
	case processing > 0:
		return DivisionStateProcessing, "", ""
	case accepted > 0:
		return DivisionStateAccepted, "", ""
	case failed >= 0:
		return DivisionStateFailed, b.Records[failed].ErrCode, b.Records[failed].ErrMsg
	}
	return DivisionStateSuccess, "", ""
}

func handleDivisionQuery(s *Server, c *call) (fields, error) {
	if c.get("payOrderId") == "" && c.get("mchOrderNo") == "" {
		return nil, bizErr("mchOrderNo 和 payOrderId不能同时为空")
	}
	o := s.findPayOrderLocked(c.mch.MchNo, c.get("payOrderId"), c.get("mchOrderNo"))
	if o == nil {
		return nil, bizErr("订单不存在")
	}
	b := s.batches[c.get("batchOrderId")]
	if b == nil || b.PayOrderID != o.PayOrderID {
		return nil, bizErr("分账批次不存在")
	}
	var only int64
	if v := c.get("receiverId"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, paramErr("receiverId")
		}
		only = id
	}
	records := make([]map[string]any, 0, len(b.Records))
	for _, r := range b.Records {
		if only != 0 && r.ReceiverID != only {
			continue
		}
		m := map[string]any{
			"recordId":          r.RecordID,
			"state":             r.State,
			"receiverId":        r.ReceiverID,
			"receiverGroupId":   r.ReceiverGroupID,
			"accType":           r.AccType,
			"batchOrderId":      b.BatchOrderID,
			"calDivisionAmount": r.CalDivisionAmount,
			"divisionProfit":    decimal(r.DivisionProfit),
		}
		for k, v := range map[string]string{"receiverAlias": r.ReceiverAlias, "accNo": r.AccNo, "accName": r.AccName, "channelBatchOrderId": b.ChannelBatchOrderID} {
			if v != "" {
				m[k] = v
			}
		}
		records = append(records, m)
	}
	text, err := json.Marshal(records)
	if err != nil {
		return nil, fmt.Errorf("encode records: %w", err)
	}
	out := fields{}
	out.set("payOrderId", o.PayOrderID)
	out.set("batchOrderId", b.BatchOrderID)
	out.set("channelBatchOrderId", b.ChannelBatchOrderID)
	out.set("records", string(text))
	return out, nil
}

// receiverOfLocked finds the caller's receiver named by the receiverId
// parameter.
func (s *Server) receiverOfLocked(c *call) (*Receiver, error) {
	id, err := strconv.ParseInt(c.get("receiverId"), 10, 64)
	if err != nil {
		return nil, paramErr("receiverId")
	}
	r := s.receivers[id]
	if r == nil || r.MchNo != c.mch.MchNo || r.AppID != c.mch.AppID {
		return nil, bizErr("分账用户不存在")
	}
	return r, nil
}

func handleChannelBalanceQuery(s *Server, c *call) (fields, error) {
	r, err := s.receiverOfLocked(c)
	if err != nil {
		return nil, err
	}
	out := fields{}
	out.set("receiverId", r.ID)
	out.set("balanceAmount", r.Balance)
	return out, nil
}

// handleChannelBalanceCashout withdraws from a receiver's channel balance.
// An amount beyond the balance is not an envelope error: the channel
// answers state 0 with errCode NOTENOUGH (see README).
func handleChannelBalanceCashout(s *Server, c *call) (fields, error) {
	r, err := s.receiverOfLocked(c)
	if err != nil {
		return nil, err
	}
	amount, err := parseAmount(c.get("cashoutAmount"))
	if err != nil {
		return nil, paramErr("cashoutAmount")
	}
	if amount < 1 {
		return nil, bizErr("提现金额必须大于0")
	}
	out := fields{}
	out.set("receiverId", r.ID)
	if amount > r.Balance {
		out.set("state", 0)
		out.set("errCode", "NOTENOUGH")
		out.set("errMsg", fmt.Sprintf("可提现余额不足, 当前余额%d分", r.Balance))
		return out, nil
	}
	r.Balance -= amount
	out.set("state", 1)
	return out, nil
}

// AddGroup creates a receiver group, as the merchant portal would.
func (s *Server) AddGroup(g ReceiverGroup) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.ID <= 0 {
		return fmt.Errorf("add group %d: id must be positive: %w", g.ID, ErrInvalid)
	}
	if s.merchants[g.MchNo] == nil {
		return fmt.Errorf("add group %d: merchant %q: %w", g.ID, g.MchNo, ErrNotFound)
	}
	if s.groups[g.ID] != nil {
		return fmt.Errorf("add group %d: already exists: %w", g.ID, ErrInvalid)
	}
	s.groups[g.ID] = &g
	return nil
}

// AddReceiver binds a receiver directly (no HTTP call): the sandbox and
// tests use it to pre-wire receivers with chosen ids and opening balances.
// A zero ID takes the next receiverId; an empty AppID the merchant's; an
// empty IfCode wxpay; an empty DivisionProfit "0.1"; an empty RelationType
// PARTNER.
func (s *Server) AddReceiver(r Receiver) (Receiver, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.merchants[r.MchNo]
	if m == nil {
		return Receiver{}, fmt.Errorf("add receiver: merchant %q: %w", r.MchNo, ErrNotFound)
	}
	if r.AppID == "" {
		r.AppID = m.AppID
	}
	if r.IfCode == "" {
		r.IfCode = ifWxpay
	}
	if r.DivisionProfit == "" {
		r.DivisionProfit = "0.1"
	}
	if r.RelationType == "" {
		r.RelationType = "PARTNER"
	}
	if r.RelationTypeName == "" {
		r.RelationTypeName = relationTypes[r.RelationType]
	}
	if r.Alias == "" {
		r.Alias = r.AccNo
	}
	rt, err := parseRatio(r.DivisionProfit)
	if err != nil || rt.isZero() {
		return Receiver{}, fmt.Errorf("add receiver: divisionProfit %q: %w", r.DivisionProfit, ErrInvalid)
	}
	r.DivisionProfit = rt.String()
	if g := s.groups[r.GroupID]; g == nil || g.MchNo != r.MchNo {
		return Receiver{}, fmt.Errorf("add receiver: group %d: %w", r.GroupID, ErrNotFound)
	}
	if r.ID == 0 {
		r.ID = s.nextReceiver
	}
	if s.receivers[r.ID] != nil {
		return Receiver{}, fmt.Errorf("add receiver %d: already exists: %w", r.ID, ErrInvalid)
	}
	if r.ID >= s.nextReceiver {
		s.nextReceiver = r.ID + 1
	}
	if r.BindSuccessTime.IsZero() {
		r.BindSuccessTime = s.now()
	}
	rr := r
	s.receivers[r.ID] = &rr
	return r, nil
}

// SetReceiverFailing makes split records to receiverID fail (state 2) from
// now on, or succeed again.
func (s *Server) SetReceiverFailing(receiverID int64, fail bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.receivers[receiverID]
	if r == nil {
		return fmt.Errorf("receiver %d: %w", receiverID, ErrNotFound)
	}
	r.FailSplits = fail
	return nil
}
