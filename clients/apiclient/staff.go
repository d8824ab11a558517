package apiclient

import (
	"context"
	"fmt"
	"net/http"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/opening"
)

// Me is the ID of the principal this client is logged in as.
func (c *Client) Me(ctx context.Context) (kaiping.ID, error) {
	var me kaiping.Principal
	err := c.Do(ctx, http.MethodGet, "/api/v1/me", nil, &me)
	return me.ID, err
}

// AssignStaff has the client (an administrator) assign each principal the duty on tender, as
// a centre does before an opening or a draw: hosts and supervisors act only on the tenders
// they are assigned to.
func (c *Client) AssignStaff(ctx context.Context, tender kaiping.ID, duty kaiping.Duty, principals ...kaiping.ID) error {
	for _, p := range principals {
		if err := c.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(tender)+"/staff",
			opening.AssignRequest{Principal: p, Duty: duty}, nil); err != nil {
			return fmt.Errorf("assign %s as %s of tender %s: %w", p, duty, tender, err)
		}
	}
	return nil
}
