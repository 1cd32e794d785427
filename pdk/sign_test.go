package pdk

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Jeepay signing string of PROVIDERS.md's test vector (before "&key=").
func TestSortedPairsJeepayVector(t *testing.T) {
	params := map[string]string{
		"amount": "1", "appId": "60cc09bce4b0f1c0b83761c9", "body": "商品描述", "currency": "cny",
		"mchNo": "M1621873433953", "mchOrderNo": "mho1624005107281", "notifyUrl": "https://www.jeequan.com",
		"reqTime": "1622016572190", "signType": "MD5", "subject": "商品标题", "version": "1.0", "wayCode": "ALI_QR",
		"sign": "ignored", "clientIp": "",
	}
	want := "amount=1&appId=60cc09bce4b0f1c0b83761c9&body=商品描述&currency=cny&mchNo=M1621873433953&mchOrderNo=mho1624005107281&notifyUrl=https://www.jeequan.com&reqTime=1622016572190&signType=MD5&subject=商品标题&version=1.0&wayCode=ALI_QR"
	assert.Equal(t, want, SortedPairs(params, "sign"))
	assert.Equal(t, "", SortedPairs(nil))
}

// The dougong string to sign of PROVIDERS.md: sorted keys, no HTML escaping.
func TestSortedJSONDougong(t *testing.T) {
	data := map[string]any{
		"req_date": "20240514", "req_seq_id": "20240514163256046l9da4ecgqugo7h", "huifu_id": "6666000108854952",
		"trade_type": "A_NATIVE", "trans_amt": "0.01", "goods_desc": "测试商品",
		"notify_url": "https://example.com/notify?a=1&b=2", "remark": nil,
	}
	got, err := SortedJSON(data)
	require.NoError(t, err)
	assert.Equal(t, `{"goods_desc":"测试商品","huifu_id":"6666000108854952","notify_url":"https://example.com/notify?a=1&b=2","req_date":"20240514","req_seq_id":"20240514163256046l9da4ecgqugo7h","trade_type":"A_NATIVE","trans_amt":"0.01"}`, string(got))
}
