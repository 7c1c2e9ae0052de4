package tokenctl

import (
	"context"
	"fmt"
)

// allPages walks a list call to its end, pageSize items a page: page answers
// one page and the next token ("" when the list is complete); most stops
// once that many items are read (0: no bound).
func allPages[T any](ctx context.Context, pageSize, most int, page func(ctx context.Context, size int32, token string) ([]T, string, error)) ([]T, error) {
	var all []T
	seen := map[string]bool{}
	token := ""
	for {
		size := pageSize
		if most > 0 {
			size = min(size, most-len(all))
		}
		items, next, err := page(ctx, int32(size), token)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if next == "" || (most > 0 && len(all) >= most) {
			return all, nil
		}
		if seen[next] {
			return nil, fmt.Errorf("the server gave the same page token twice: stopping after %d items", len(all))
		}
		seen[next], token = true, next
	}
}
