package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/opening"
)

// principalOf is the ID of the principal logged in as c.
func principalOf(ctx context.Context, c *apiclient.Client) (kaiping.ID, error) {
	var me kaiping.Principal
	err := c.Do(ctx, http.MethodGet, "/api/v1/me", nil, &me)
	return me.ID, err
}

// assignStaff has the administrator assign each principal the duty on tender, as a centre
// does before an opening or a draw: hosts and supervisors act only on the tenders they are
// assigned to.
func assignStaff(ctx context.Context, admin *apiclient.Client, tender kaiping.ID, duty kaiping.Duty, principals ...kaiping.ID) error {
	for _, p := range principals {
		if err := admin.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(tender)+"/staff",
			opening.AssignRequest{Principal: p, Duty: duty}, nil); err != nil {
			return fmt.Errorf("assign %s as %s of tender %s: %w", p, duty, tender, err)
		}
	}
	return nil
}
