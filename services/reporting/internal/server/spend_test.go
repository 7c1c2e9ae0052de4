package server

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/services/reporting/internal/query"
)

// Totals per currency are refused, never wrapped, past int64.
func TestAddAmountRefusesOverflow(t *testing.T) {
	t.Parallel()
	sums, err := addAmount(nil, query.SpendAmount{Currency: "EUR", AmountMicros: math.MaxInt64 - 1, Tokens: 1})
	require.NoError(t, err)
	sums, err = addAmount(sums, query.SpendAmount{Currency: "USD", AmountMicros: 5, Tokens: 1})
	require.NoError(t, err, "another currency is another sum")
	sums, err = addAmount(sums, query.SpendAmount{Currency: "EUR", AmountMicros: 1, Tokens: 1})
	require.NoError(t, err)
	require.Equal(t, int64(math.MaxInt64), sums[0].AmountMicros)
	_, err = addAmount(sums, query.SpendAmount{Currency: "EUR", AmountMicros: 1, Tokens: 1})
	require.ErrorIs(t, err, query.ErrAmountTooLarge)
}
