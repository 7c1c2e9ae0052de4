package ring

import "github.com/tokenmeter/tokenmeter/libs/ring"

// The members, their record and the pool → owner rule are libs/ring's,
// shared with ingestion, which sends each pool's calls to its owner.
type (
	Ring   = ring.Ring
	Member = ring.Member
)

// New is ring.New.
var New = ring.New

// MembersBucket is where the replicas announce themselves.
const MembersBucket = ring.MembersBucket
