package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/clients/web"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/certsign"
	"github.com/kaiping/kaiping/internal/sim"
)

// demoEvalRepNames are the tenderer's representatives the demo seats at the host site.
var demoEvalRepNames = []string{"刘卫东", "马丽娟"}

// demoConflictMember says which drawn member declares a conflict at the session: the last
// drawn one seated at a remote site, so that the chair, elected at the host site, stays.
func demoConflictMember(sess evaluation.Session) (evaluation.SessionMember, bool) {
	var out evaluation.SessionMember
	found := false
	for _, m := range sess.Members {
		if m.Kind == evaluation.MemberDrawn && !m.HostSite {
			out, found = m, true
		}
	}
	return out, found
}

// demoMeeting is the demo's evaluation session (评标会议) as its participants hold it: the
// session, and the login of every principal who sat on it.
type demoMeeting struct {
	c       *demoCommittee
	id      kaiping.ID
	members map[kaiping.ID]*sim.Party // by principal
	say     func(string, ...any)
}

// demoSession runs the committee's evaluation session of the opened tender end to end through
// the HTTP API, each step by the participant who takes it in a real session: the host books
// seats at the host site for the tenderer's two representatives and sets the session up;
// opens check-in; each venue's staff confirm the members seated there; every member signs
// the integrity pledge with their own certificate key and declares; one declares a conflict
// and the platform draws and seats the replacement from the draw's sequence, who accepts, is
// confirmed, pledges and declares; everyone votes for the chair; the host starts review; and
// every member reads every opened bid, which must be what the bidders sealed. It prints the
// session pages' login links and returns the session.
func demoSession(ctx context.Context, base string, o *demoOpened, c *demoCommittee, say func(string, ...any)) (sess evaluation.Session, seats demoSeatAgents, err error) {
	defer func() {
		if err != nil {
			err = errors.Join(err, seats.Stop())
			seats = nil
		}
	}()
	host := c.host.Client
	d := c.draw
	reps, err := demoSeatRepresentatives(ctx, c)
	if err != nil {
		return sess, seats, err
	}
	if err := host.Do(ctx, http.MethodPost, "/api/v1/sessions", evaluation.CreateSessionRequest{Tender: o.tender.ID,
		Groups: []evaluation.GroupRequest{{Name: "评标委员会", Draw: d.ID, Sections: []string{o.tender.Sections[0].Code}, Representatives: reps}},
	}, &sess); err != nil {
		return sess, seats, fmt.Errorf("set up the session: %w", err)
	}
	mt := &demoMeeting{c: c, id: sess.ID, members: map[kaiping.ID]*sim.Party{}, say: say}
	c.meeting = mt
	for _, p := range c.logins {
		mt.members[p.ID] = p
	}
	for _, r := range reps {
		mt.members[r.Principal] = c.reps[r.Principal]
	}
	say("主持人组织评标会议：%s，评审 %s；评标委员会 %d 人（抽取专家 %d 名、招标人代表 %d 名），评标时间 %s 至 %s（北京时间）",
		sess.TenderTitle, o.tender.Sections[0].Name, sess.Groups[0].Size, sess.Groups[0].Size-len(reps), len(reps),
		sess.Window.Start.In(kaiping.BeijingTime).Format("15:04"), sess.Window.End.In(kaiping.BeijingTime).Format("15:04"))
	for _, r := range reps {
		m, _ := mt.member(sess, r.Principal)
		say("  招标人代表 %s 坐主场 %s 工位 %s（主持人已为其预订）", m.Name, c.venues[m.City].Name, m.SeatCode)
	}

	if err := host.Do(ctx, http.MethodPost, mt.path("/checkin"), nil, &sess); err != nil {
		return sess, seats, fmt.Errorf("open check-in: %w", err)
	}
	say("主持人开启签到（评标开始前 %d 分钟内可签到）", int(evaluation.DefaultConfig.CheckInLead/time.Minute))
	if err := mt.confirmArrived(ctx); err != nil {
		return sess, seats, err
	}
	if sess, err = mt.session(ctx); err != nil {
		return sess, seats, err
	}
	seats, err = demoSeatMedia(ctx, sess, mt.members)
	if err != nil {
		return sess, seats, err
	}
	say("  %d 个工位代理以合成音视频加入评标委员会的音视频房间（全程录像）；主持人、场地工作人员和监督人员可在各自页面观看", len(seats))
	recusing, ok := demoConflictMember(sess)
	if !ok {
		return sess, seats, errors.New("no drawn member at a remote site to declare a conflict")
	}
	conflict := "本人配偶在投标人" + demoBidders[1].name + "任职"
	for _, m := range sitting(sess) {
		if err := mt.pledge(ctx, m); err != nil {
			return sess, seats, err
		}
	}
	say("  %d 名成员在各自工位阅读评标承诺书，用本人数字证书私钥签署，平台以登录证书验签", len(sitting(sess)))
	for _, m := range sitting(sess) {
		req := evaluation.DeclarationRequest{}
		if m.ID == recusing.ID {
			req = evaluation.DeclarationRequest{Conflict: true, Reason: conflict}
		}
		if err := mt.members[m.Principal].Client.Do(ctx, http.MethodPost, mt.expertPath("/declaration"), req, nil); err != nil {
			return sess, seats, fmt.Errorf("%s declares: %w", m.Name, err)
		}
	}
	say("  回避声明：%s（%s，%s）声明回避：%s；其余成员声明无须回避", recusing.Name, recusing.Code, cityOf(c.experts[recusing.ID].City), conflict)

	if sess, err = mt.session(ctx); err != nil {
		return sess, seats, err
	}
	in, err := mt.replacement(ctx, sess)
	if err != nil {
		return sess, seats, err
	}
	say("  平台按同一抽取序列自动递补：%s（%s，%s），调度至 %s 工位 %s", in.Name, in.Code, cityOf(c.experts[in.ID].City), c.venues[in.City].Name, in.SeatCode)
	joined, err := mt.c.replacementAccepts(ctx, in)
	if err != nil {
		return sess, seats, err
	}
	mt.members[joined.ID] = joined
	say("  %s 登录确认参加", in.Name)
	if err := mt.confirmArrived(ctx); err != nil {
		return sess, seats, err
	}
	if sess, err = mt.session(ctx); err != nil {
		return sess, seats, err
	}
	if in, err = mt.memberByID(sess, in.ID); err != nil {
		return sess, seats, err
	}
	if in.Confirmed == nil || in.Principal != joined.ID {
		return sess, seats, fmt.Errorf("the replacement %s is at stage %s as %q after accepting and the venue's check", in.Name, in.Stage(), in.Principal)
	}
	if err := mt.pledge(ctx, in); err != nil {
		return sess, seats, err
	}
	if err := mt.members[in.Principal].Client.Do(ctx, http.MethodPost, mt.expertPath("/declaration"), evaluation.DeclarationRequest{}, nil); err != nil {
		return sess, seats, fmt.Errorf("%s declares: %w", in.Name, err)
	}
	say("  %s 经现场核验、签署承诺书并声明无须回避", in.Name)

	if sess, err = mt.session(ctx); err != nil {
		return sess, seats, err
	}
	chair := demoChairCandidate(sess)
	for _, m := range sitting(sess) {
		if err := mt.members[m.Principal].Client.Do(ctx, http.MethodPost, mt.expertPath("/chair-votes"), evaluation.VoteRequest{Candidate: chair.ID}, nil); err != nil {
			return sess, seats, fmt.Errorf("%s votes: %w", m.Name, err)
		}
	}
	if sess, err = mt.session(ctx); err != nil {
		return sess, seats, err
	}
	if g := sess.Groups[0]; g.Chair != chair.ID {
		return sess, seats, fmt.Errorf("after every vote the chair is %q, want %s", g.Chair, chair.ID)
	}
	say("  推选组长：%d 名成员投票，%s（%s）以 %d 票当选组长", len(sitting(sess)), chair.Name, chair.Code, len(sitting(sess)))
	if err := host.Do(ctx, http.MethodPost, mt.path("/review"), nil, &sess); err != nil {
		return sess, seats, fmt.Errorf("start review: %w", err)
	}
	say("主持人宣布开始评审：评标会议状态「%s」", sess.State.Label())
	reads, err := mt.readBids(ctx, sess, o.sealed)
	if err != nil {
		return sess, seats, err
	}
	say("  %d 名成员各自调阅 %d 份已开启的投标文件（开标一览表），共 %d 次，解密流出的内容与投标人加密前逐字节一致；每次调阅均记入审计日志",
		len(sitting(sess)), len(o.sealed), reads)
	var rs struct{ Reads []evaluation.Read }
	if err := c.supervisor.Client.Do(ctx, http.MethodGet, mt.path("/reads"), nil, &rs); err != nil {
		return sess, seats, err
	}
	say("  %s查看调阅记录：%d 条（谁、何时、哪份文件，不含内容）", c.supervisor.Name, len(rs.Reads))
	mt.printLinks(base, sess, chair)
	return sess, seats, nil
}

// printLinks prints the session pages with a login link each.
func (mt *demoMeeting) printLinks(base string, sess evaluation.Session, chair evaluation.SessionMember) {
	q := "?id=" + string(sess.ID)
	say := mt.say
	say("")
	say("评标会议页面（登录链接含会话令牌）/ evaluation session pages:")
	say("  专家工位 expert seat（组长 %s）  %s", chair.Name, web.LoginLink(base, "session/"+q, mt.members[chair.Principal].Client.Token))
	say("  主持人控制台 host console       %s", web.LoginLink(base, "session/console/"+q, mt.c.host.Client.Token))
	for _, dv := range demoEvalVenues {
		v := mt.c.venues[dv.venue.City]
		say("  场地工作人员 venue staff（%s） %s", strings.TrimSuffix(cityOf(v.City), "市"), web.LoginLink(base, "session/venue/"+q, mt.c.staff[v.ID].Client.Token))
	}
	say("  监督人员 supervisor            %s", web.LoginLink(base, "session/watch/"+q, mt.c.supervisor.Client.Token))
}

// demoSeatRepresentatives has the admin register the tenderer's representatives with the
// expert role (they log in at a seat like the drawn experts) and the host book a free seat
// of the host site for each over the session's window: dispatch books the drawn experts'
// seats, and a booking keeps a later replacement off the representatives' seats.
func demoSeatRepresentatives(ctx context.Context, c *demoCommittee) ([]evaluation.RepresentativeRequest, error) {
	var v evaluation.VenueWithSeats
	if err := c.host.Client.Do(ctx, http.MethodGet, "/api/v1/venues/"+string(c.draw.HostVenue), nil, &v); err != nil {
		return nil, err
	}
	// Dispatch takes the lowest free seat codes; the representatives sit from the other end.
	seats := slices.Clone(v.Seats)
	slices.SortFunc(seats, func(a, b evaluation.Seat) int { return strings.Compare(b.Code, a.Code) })
	window := c.draw.Request.Session
	c.reps = map[kaiping.ID]*sim.Party{}
	var out []evaluation.RepresentativeRequest
	for _, name := range demoEvalRepNames[:c.draw.Request.TendererReps] {
		p, err := c.party(name, kaiping.RoleExpert)
		if err != nil {
			return nil, err
		}
		booked := false
		for len(seats) > 0 && !booked {
			s := seats[0]
			seats = seats[1:]
			err := c.host.Client.Do(ctx, http.MethodPost, "/api/v1/seats/"+string(s.ID)+"/bookings", evaluation.Booking{
				Start: window.Start, End: window.End, Purpose: "远程异地评标 " + c.tender.Code + " 招标人代表 " + name}, nil)
			var ae *apiclient.Error
			switch {
			case err == nil:
				out = append(out, evaluation.RepresentativeRequest{Principal: p.ID, Seat: s.ID})
				booked = true
			case !errors.As(err, &ae) || ae.Status != http.StatusConflict:
				return nil, fmt.Errorf("book seat %s for %s: %w", s.Code, name, err)
			}
		}
		if !booked {
			return nil, fmt.Errorf("no free seat at the host site for %s", name)
		}
		c.reps[p.ID] = p
	}
	return out, nil
}

// sitting lists the members holding a place on the committee.
func sitting(sess evaluation.Session) []evaluation.SessionMember {
	var out []evaluation.SessionMember
	for _, m := range sess.Members {
		if m.Replaced == nil && m.Left == nil {
			out = append(out, m)
		}
	}
	return out
}

// demoChairCandidate is whom the committee elects chair: the first drawn expert seated at the
// host site, or the first drawn expert if none is.
func demoChairCandidate(sess evaluation.Session) evaluation.SessionMember {
	var first *evaluation.SessionMember
	for _, m := range sitting(sess) {
		if m.Kind != evaluation.MemberDrawn {
			continue
		}
		if m.HostSite {
			return m
		}
		if first == nil {
			first = &m
		}
	}
	return *first
}

func (mt *demoMeeting) path(suffix string) string {
	return "/api/v1/sessions/" + string(mt.id) + suffix
}

func (mt *demoMeeting) expertPath(suffix string) string {
	return "/api/v1/expert/sessions/" + string(mt.id) + suffix
}

// session reads the session as its host sees it.
func (mt *demoMeeting) session(ctx context.Context) (evaluation.Session, error) {
	var sess evaluation.Session
	err := mt.c.host.Client.Do(ctx, http.MethodGet, mt.path(""), nil, &sess)
	return sess, err
}

// member finds the member who logs in as principal.
func (mt *demoMeeting) member(sess evaluation.Session, principal kaiping.ID) (evaluation.SessionMember, bool) {
	i := slices.IndexFunc(sess.Members, func(m evaluation.SessionMember) bool { return m.Principal == principal })
	if i < 0 {
		return evaluation.SessionMember{}, false
	}
	return sess.Members[i], true
}

// confirmArrived has each venue's staff check, at the seat, every member their page shows
// arrived there.
func (mt *demoMeeting) confirmArrived(ctx context.Context) error {
	for _, dv := range demoEvalVenues {
		v := mt.c.venues[dv.venue.City]
		staff := mt.c.staff[v.ID]
		var view evaluation.VenueSessionView
		if err := staff.Client.Do(ctx, http.MethodGet, "/api/v1/venue/sessions/"+string(mt.id), nil, &view); err != nil {
			var ae *apiclient.Error
			if errors.As(err, &ae) && ae.Code == "session.not_venue_staff" {
				continue // nobody sits at this venue
			}
			return fmt.Errorf("%s reads the seats: %w", staff.Name, err)
		}
		var done []string
		for _, sc := range view.Seats {
			if sc.Stage() != evaluation.StageArrived {
				continue
			}
			if err := staff.Client.Do(ctx, http.MethodPost, "/api/v1/venue/sessions/"+string(mt.id)+"/members/"+string(sc.ID)+"/confirm",
				evaluation.ConfirmRequest{Seat: sc.Seat}, nil); err != nil {
				return fmt.Errorf("%s confirms %s: %w", staff.Name, sc.Name, err)
			}
			done = append(done, sc.Name+"（工位 "+sc.SeatCode+"）")
		}
		if len(done) > 0 {
			mt.say("  %s现场核验身份证件与人脸：%s", staff.Name, strings.Join(done, "、"))
		}
	}
	return nil
}

// pledge has member m read the pledge and sign it with their certificate key, as the seat's
// page does with the key on their token.
func (mt *demoMeeting) pledge(ctx context.Context, m evaluation.SessionMember) error {
	p := mt.members[m.Principal]
	var me evaluation.MemberSessionView
	if err := p.Client.Do(ctx, http.MethodGet, mt.expertPath(""), nil, &me); err != nil {
		return fmt.Errorf("%s reads the session: %w", m.Name, err)
	}
	var text evaluation.PledgeView
	if err := p.Client.Do(ctx, http.MethodGet, "/api/v1/expert/pledge", nil, &text); err != nil {
		return err
	}
	sig, err := certsign.Sign(p.Cert.Key, evaluation.PledgeMessage(mt.id, me.Me.ID, text.Digest))
	if err != nil {
		return err
	}
	if err := p.Client.Do(ctx, http.MethodPost, mt.expertPath("/pledge"), evaluation.PledgeRequest{
		Digest: text.Digest, Certificate: identity.Fingerprint(p.Cert.Cert.Raw), Signature: sig}, nil); err != nil {
		return fmt.Errorf("%s pledges: %w", m.Name, err)
	}
	return nil
}

// replacement is the member the platform drew and seated in place of the one who recused.
func (mt *demoMeeting) replacement(ctx context.Context, sess evaluation.Session) (evaluation.SessionMember, error) {
	for _, m := range sitting(sess) {
		if m.Kind == evaluation.MemberDrawn && !m.Accepted {
			if m.Seat == "" {
				return m, fmt.Errorf("the replacement %s was drawn but not seated", m.Name)
			}
			return m, nil
		}
	}
	return evaluation.SessionMember{}, errors.New("no replacement joined the session after the declared conflict")
}

// replacementAccepts has the replacement drawn at the session log in and accept the draw,
// and returns their login.
func (c *demoCommittee) replacementAccepts(ctx context.Context, in evaluation.SessionMember) (*sim.Party, error) {
	m, p, err := c.loginPending(ctx)
	if err != nil {
		return nil, err
	}
	if p == nil || m.Expert != in.ID {
		return nil, fmt.Errorf("the draw's pending member is %s, not the session's replacement %s", m.Expert, in.ID)
	}
	if err := p.Client.Do(ctx, http.MethodPost, "/api/v1/expert/draws/"+string(c.draw.ID)+"/accept", nil, nil); err != nil {
		return nil, fmt.Errorf("%s accepts: %w", in.Name, err)
	}
	return p, nil
}

// memberByID finds the member id.
func (mt *demoMeeting) memberByID(sess evaluation.Session, id kaiping.ID) (evaluation.SessionMember, error) {
	i := slices.IndexFunc(sess.Members, func(m evaluation.SessionMember) bool { return m.ID == id })
	if i < 0 {
		return evaluation.SessionMember{}, fmt.Errorf("%s is not a member of the session", id)
	}
	return sess.Members[i], nil
}

// readBids has every sitting member list the opened bids and read each, checking that what
// streams out is what the bidder sealed. It returns the number of reads.
func (mt *demoMeeting) readBids(ctx context.Context, sess evaluation.Session, sealed map[kaiping.ID]string) (int, error) {
	n := 0
	for _, m := range sitting(sess) {
		p := mt.members[m.Principal]
		var list struct{ Bids []evaluation.OpenedEnvelope }
		if err := p.Client.Do(ctx, http.MethodGet, mt.expertPath("/bids"), nil, &list); err != nil {
			return n, fmt.Errorf("%s lists the bids: %w", m.Name, err)
		}
		if len(list.Bids) != len(sealed) {
			return n, fmt.Errorf("%s sees %d opened bids, want %d", m.Name, len(list.Bids), len(sealed))
		}
		for _, b := range list.Bids {
			got, err := p.Client.Raw(ctx, mt.expertPath("/bids/"+string(b.ID)))
			if err != nil {
				return n, fmt.Errorf("%s reads %s's bid: %w", m.Name, b.BidderName, err)
			}
			want, ok := sealed[b.Bidder]
			if !ok || !bytes.Equal(got, []byte(want)) {
				return n, fmt.Errorf("%s read %q as %s's bid, which sealed %q", m.Name, got, b.BidderName, want)
			}
			n++
		}
	}
	return n, nil
}
