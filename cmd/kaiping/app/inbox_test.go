package app

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/notice"
)

// TestInboxIsOwn: each principal reads only their own notices, newest first with the unread
// count, and marks only their own read; another's notice is not found (as a missing one) and
// stays unread; marking twice keeps the first time.
func TestInboxIsOwn(t *testing.T) {
	ta := mustApp(t)
	ctx := context.Background()
	admin := ta.mustLogin(t, ta.setup.Admin)
	wang := ta.mustLogin(t, ta.mustRegister(t, admin, devpki.SM2, "王专家", kaiping.RoleExpert))
	li := ta.mustLogin(t, ta.mustRegister(t, admin, devpki.SM2, "李投标人", kaiping.RoleBidder))
	send := func(to kaiping.ID, title string) notice.Notice {
		n, err := ta.Inbox.Send(ctx, notice.Notice{Principal: to, Kind: "draw.drawn", Title: title, Body: title + "：正文",
			Link: expertPage}, notice.Address{})
		mustNil(t, err)
		ta.clock.Advance(time.Second)
		return n
	}
	first := send(principalID(t, wang), "第一条")
	second := send(principalID(t, wang), "第二条")
	theirs := send(principalID(t, li), "李的通知")
	inbox := func(c interface {
		Do(context.Context, string, string, any, any) error
	}) notice.Inbox {
		var in notice.Inbox
		mustNil(t, c.Do(ctx, http.MethodGet, "/api/v1/inbox", nil, &in))
		return in
	}

	in := inbox(wang)
	if in.Unread != 2 || len(in.Notices) != 2 || in.Notices[0].ID != second.ID || in.Notices[1].ID != first.ID {
		t.Fatalf("王's inbox %+v", in)
	}
	if in.Notices[0].Title != "第二条" || in.Notices[0].Link != expertPage || in.Notices[0].ReadAt != nil {
		t.Errorf("notice %+v", in.Notices[0])
	}
	if in := inbox(admin); in.Unread != 0 || len(in.Notices) != 0 {
		t.Errorf("the admin sees %+v", in)
	}

	for _, id := range []kaiping.ID{theirs.ID, kaiping.NewID(), "not-an-id"} {
		err := wang.Do(ctx, http.MethodPost, "/api/v1/inbox/"+string(id)+"/read", nil, nil)
		if apiCode(err) != "inbox.not_found" {
			t.Errorf("marking %s: %v", id, err)
		}
	}
	if in := inbox(li); in.Unread != 1 || in.Notices[0].ReadAt != nil {
		t.Errorf("李's notice after 王 tried to mark it: %+v", in)
	}

	var read notice.Notice
	mustNil(t, wang.Do(ctx, http.MethodPost, "/api/v1/inbox/"+string(first.ID)+"/read", nil, &read))
	if read.ReadAt == nil || !read.ReadAt.Equal(ta.clock.Now()) {
		t.Fatalf("marked %+v", read)
	}
	at := *read.ReadAt
	ta.clock.Advance(time.Minute)
	mustNil(t, wang.Do(ctx, http.MethodPost, "/api/v1/inbox/"+string(first.ID)+"/read", nil, &read))
	if !read.ReadAt.Equal(at) {
		t.Errorf("marking twice moved read_at from %s to %s", at, read.ReadAt)
	}
	if in := inbox(wang); in.Unread != 1 || in.Notices[1].ReadAt == nil || in.Notices[0].ReadAt != nil {
		t.Errorf("after marking: %+v", in)
	}
}
