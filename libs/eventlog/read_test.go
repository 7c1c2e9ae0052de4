package eventlog

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// ReadSubjects merges several subjects in stream order, from after on, and
// leaves out every other subject.
func TestReadSubjectsMergesInStreamOrder(t *testing.T) {
	ctx := t.Context()
	js := jetStream(t)
	subjects := []string{LedgerSubject("acme", "design"), CatalogSubject("acme"), LedgerSubject("acme", "civil")}
	var want []string
	for i := range 9 {
		id := fmt.Sprintf("e%d", i)
		_, err := Append(ctx, js, subjects[i%3], charged(id), nil)
		require.NoError(t, err)
		if i%3 != 2 {
			want = append(want, id)
		}
	}
	stream, err := js.Stream(ctx, LedgerStream)
	require.NoError(t, err)
	read := func(after uint64) (ids []string, seqs []uint64) {
		last, err := ReadSubjects(ctx, stream, subjects[:2], after, func(s Stored) error {
			ids, seqs = append(ids, s.Event.GetEventId()), append(seqs, s.Sequence)
			return nil
		})
		require.NoError(t, err)
		if len(seqs) > 0 {
			require.Equal(t, seqs[len(seqs)-1], last)
		}
		return ids, seqs
	}
	ids, seqs := read(0)
	require.Equal(t, want, ids, "design and the catalog in stream order; civil left out")
	ids, _ = read(seqs[2])
	require.Equal(t, want[3:], ids)
	ids, _ = read(seqs[len(seqs)-1])
	require.Empty(t, ids)
}
