package server

import (
	"strings"
	"testing"

	v1 "github.com/tokenmeter/tokenmeter/proto/gen/go/tokenmeter/v1"
	"github.com/tokenmeter/tokenmeter/services/ledger/internal/pool"
)

func FuzzCheckCreateUserGroup(f *testing.F) {
	fuzzValidator(f, func(r *v1.CreateUserGroupRequest) error { return checkGroupFields(r, checkGroupName(r.GetName())) },
		func(t *testing.T, r *v1.CreateUserGroupRequest) {
			inRange(t, "name", int64(len(r.GetName())), 1, pool.MaxGroupNameLen)
			inRange(t, "reason", int64(len(r.GetReason())), 0, pool.MaxReasonLen)
		},
		&v1.CreateUserGroupRequest{EventId: "group-0001", TeamId: "design", GroupId: "drafters", Name: "Drafters"},
		&v1.CreateUserGroupRequest{EventId: "group-0002", TeamId: "design", GroupId: "a b", Name: strings.Repeat("n", 200), Reason: "\x00"},
	)
}

func FuzzCheckUserGroupMembers(f *testing.F) {
	fuzzValidator(f, checkGroupMembers, func(t *testing.T, r *v1.ChangeUserGroupMembersRequest) {
		inRange(t, "add_user_ids", int64(len(r.GetAddUserIds())), 0, pool.MaxMembersPerGroup)
		inRange(t, "remove_user_ids", int64(len(r.GetRemoveUserIds())), 0, pool.MaxMembersPerGroup)
		inRange(t, "users", int64(len(r.GetAddUserIds())+len(r.GetRemoveUserIds())), 1, 2*pool.MaxMembersPerGroup)
	},
		&v1.ChangeUserGroupMembersRequest{EventId: "group-0001", TeamId: "design", GroupId: "drafters", AddUserIds: []string{"ann"}},
		&v1.ChangeUserGroupMembersRequest{EventId: "group-0002", TeamId: "design", GroupId: "drafters", AddUserIds: []string{"ann"}, RemoveUserIds: []string{"ann", ""}},
	)
}

func FuzzCheckUserGroupProducts(f *testing.F) {
	fuzzValidator(f, checkGroupProducts, func(t *testing.T, r *v1.SetUserGroupProductsRequest) {
		inRange(t, "product_codes", int64(len(r.GetProductCodes())), 0, pool.MaxProductsPerUser)
	},
		&v1.SetUserGroupProductsRequest{EventId: "group-0001", TeamId: "design", GroupId: "drafters", ProductCodes: []string{"*"}},
		&v1.SetUserGroupProductsRequest{EventId: "group-0002", TeamId: "design", GroupId: "drafters", ProductCodes: []string{"a.b"}},
	)
}
