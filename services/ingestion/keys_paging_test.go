package ingestion_test

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
)

// ListLauncherKeys pages with an opaque token to the end: every key once,
// oldest first, through both doors; a token of another query is refused.
func TestListLauncherKeysWalksEveryPage(t *testing.T) {
	t.Parallel()
	e := start(t, "", nil)
	ds := doors(t, e)
	ctx := t.Context()
	var made []string
	for i := range 150 {
		resp := &v1.CreateLauncherKeyResponse{}
		require.NoError(t, ds["grpc"].call(ctx, "admin-secret", "CreateLauncherKey",
			&v1.CreateLauncherKeyRequest{TeamId: "design", Label: "k" + strconv.Itoa(i)}, resp))
		made = append(made, resp.GetKey().GetKeyId())
	}
	for name, d := range ds {
		for _, size := range []int32{0, 40} {
			var seen []string
			req := &v1.ListLauncherKeysRequest{TeamId: "design", PageSize: size}
			for pages := 1; ; pages++ {
				resp := &v1.ListLauncherKeysResponse{}
				require.NoError(t, d.call(ctx, "admin-secret", "ListLauncherKeys", req, resp))
				require.LessOrEqual(t, len(resp.GetKeys()), max(int(size), 100))
				for _, k := range resp.GetKeys() {
					seen = append(seen, k.GetKeyId())
				}
				if resp.GetNextPageToken() == "" {
					require.Equal(t, map[int32]int{0: 2, 40: 4}[size], pages, "%s size %d", name, size)
					break
				}
				req.PageToken = resp.GetNextPageToken()
			}
			require.Equal(t, made, seen, "%s size %d: every key once, oldest first", name, size)
		}
		first := &v1.ListLauncherKeysResponse{}
		require.NoError(t, d.call(ctx, "admin-secret", "ListLauncherKeys", &v1.ListLauncherKeysRequest{PageSize: 10}, first))
		err := d.call(ctx, "admin-secret", "ListLauncherKeys",
			&v1.ListLauncherKeysRequest{TeamId: "design", PageToken: first.GetNextPageToken()}, &v1.ListLauncherKeysResponse{})
		require.Equal(t, []string{"page_token"}, badFields(t, err), "a token of another query")
		err = d.call(ctx, "admin-secret", "ListLauncherKeys", &v1.ListLauncherKeysRequest{PageToken: "garbage"}, &v1.ListLauncherKeysResponse{})
		require.Equal(t, []string{"page_token"}, badFields(t, err))
		err = d.call(ctx, "admin-secret", "ListLauncherKeys", &v1.ListLauncherKeysRequest{PageSize: 1001}, &v1.ListLauncherKeysResponse{})
		require.Equal(t, []string{"page_size"}, badFields(t, err))
	}
}
