package core

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestError(t *testing.T) {
	cause := errors.New("connection reset")
	e := WrapError(CodeUnknownOutcome, cause, "no answer from %s", "gateway")
	wrapped := fmt.Errorf("create payment: %w", e)
	assert.ErrorIs(t, wrapped, cause)
	assert.ErrorIs(t, wrapped, &Error{Code: CodeUnknownOutcome})
	assert.NotErrorIs(t, wrapped, &Error{Code: CodeDeclined})
	assert.Equal(t, CodeUnknownOutcome, CodeOf(wrapped))
	assert.Equal(t, CodeInternal, CodeOf(errors.New("boom")))
	assert.Equal(t, Code(""), CodeOf(nil))
	assert.Contains(t, e.Error(), "unknown_outcome: no answer from gateway")
	for _, c := range Codes() {
		assert.True(t, c.Valid())
		assert.GreaterOrEqual(t, c.HTTPStatus(), 400, c)
	}
	assert.False(t, CodeUnknownOutcome.FailoverSafe())
	assert.True(t, CodeProviderUnavailable.FailoverSafe())
}
