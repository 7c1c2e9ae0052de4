package grpcserver_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tokenmeter/tokenmeter/libs/grpcserver"
)

// Walking a list page by page yields every item once, in order.
func TestPageSliceWalksEveryItem(t *testing.T) {
	var items []string
	for i := range 250 {
		items = append(items, "k"+strconv.Itoa(1000+i))
	}
	var seen []string
	token, pages := "", 0
	for {
		var bad grpcserver.Violations
		p := grpcserver.PageOf(&bad, "page_size", 100, token, "list", "acme")
		require.NoError(t, bad.Err())
		var page []string
		page, token = grpcserver.PageSlice(p, items, func(s string) string { return s })
		seen, pages = append(seen, page...), pages+1
		if token == "" {
			break
		}
	}
	require.Equal(t, items, seen)
	require.Equal(t, 3, pages)
}

func TestPageOfRefuses(t *testing.T) {
	var ok grpcserver.Violations
	token := grpcserver.PageOf(&ok, "page_size", 0, "", "list", "acme").Next("k1")
	for name, c := range map[string]struct {
		size  int32
		token string
		field string
	}{
		"negative size":     {-1, "", "page_size"},
		"size over 1000":    {1001, "", "page_size"},
		"not base64":        {0, "!!!", "page_token"},
		"not json":          {0, "bm90IGpzb24", "page_token"},
		"another list":      {0, grpcserver.PageOf(&ok, "page_size", 0, "", "other", "acme").Next("k1"), "page_token"},
		"another org":       {0, grpcserver.PageOf(&ok, "page_size", 0, "", "list", "globex").Next("k1"), "page_token"},
		"a 100 KB token":    {0, strings.Repeat("A", 100<<10), "page_token"},
		"a truncated token": {0, token[:len(token)-3], "page_token"},
	} {
		var bad grpcserver.Violations
		grpcserver.PageOf(&bad, "page_size", c.size, c.token, "list", "acme")
		require.Len(t, bad, 1, name)
		require.Equal(t, c.field, bad[0].GetField(), name)
		require.Less(t, len(bad.Err().Error()), 300, name)
	}
	require.Empty(t, ok)
	var bad grpcserver.Violations
	p := grpcserver.PageOf(&bad, "page_size", 0, token, "list", "acme")
	require.Empty(t, bad)
	require.Equal(t, "k1", p.After)
	require.Equal(t, grpcserver.DefaultPageSize, p.Size)
}
