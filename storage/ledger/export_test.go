package ledger

import "context"

// VerifyPaged is Verify reading pageSize entries per query, so tests can put page
// boundaries next to the damage.
func VerifyPaged(ctx context.Context, q Querier, v Verifier, origin string, pageSize int) (Report, error) {
	return verify(ctx, q, v, origin, nil, pageSize, "ledger.Verify")
}
