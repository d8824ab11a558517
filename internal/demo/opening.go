package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/clients/holder"
	"github.com/kaiping/kaiping/clients/seat"
	"github.com/kaiping/kaiping/clients/web"
	"github.com/kaiping/kaiping/cmd/kaiping/app"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/internal/iox"
	"github.com/kaiping/kaiping/internal/sim"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/signaling"
)

// demoCheckIn is the opening demo's check-in period in minutes, the shortest a tender may
// set: the demo waits it out in real time before the host opens the decrypt window.
const demoCheckIn = 1

// demoOpeningLead is how far ahead the opening demo's deadline is set: the platform takes no
// deadline less than a minute ahead, and the demo waits for it in real time.
const demoOpeningLead = 62 * time.Second

// demoOpeningPrices are what the five bidders of demoBids bid on the opening demo's tender.
var demoOpeningPrices = []string{"3286000.00", "3195500.00", "3310200.00", "3249800.00", "3301000.00"}

// demoOpening runs a full no-show opening (不见面开标) on the demo server with the parties of
// demoBids' tender: its host, its three supervisors holding the 2-of-3 rescue key and its
// five bidders. The tender of demoBids opens at its deadline, minutes away, which the demo
// cannot wait for; so the same parties bid on a second tender whose deadline is a minute
// ahead (the least the platform takes), and the demo waits for it in real time. After the
// deadline the platform would wait a five-minute grace before sealing the bid set (uploads
// that started before the deadline finish being checked): every bid here was complete with
// its receipt before the deadline, so the demo seals at once, in the platform's own store
// and ledger, and says so. From there everything goes through the API as in a real
// opening: check-in, the decrypt window, four bidders unlocking on their own machines, the
// fifth rescued by two supervisors, the record published, archived as PDF and JSON,
// confirmed by every bidder's signature, an objection answered, and the hall closed. A
// second tender of the same bidders, sealed at the same deadline, is left live at check-in
// with a camera broadcasting (demoLive), which demoOpening stops before it returns and the
// demo command keeps running (runDemoOpening) until Ctrl-C.
// It returns the opened tender with what its bidders sealed.
func demoOpening(ctx context.Context, base, dir string, setup *app.DevSetup, admin *apiclient.Client, tender opening.Tender, say func(string, ...any)) (*demoOpened, error) {
	o, err := runDemoOpening(ctx, base, dir, setup, admin, tender, say)
	if o == nil {
		return nil, err
	}
	return o, errors.Join(err, o.live.Stop())
}

// demoOpened is what the opening demo leaves: the tender it opened, what each bidder sealed
// in it (the committee reads it back), and the live hall still broadcasting.
type demoOpened struct {
	tender  opening.Tender
	bidders []*sim.Party          // in demoBidders' order
	sealed  map[kaiping.ID]string // the plaintext each bidder sealed, by bidder
	live    *demoLive
}

// runDemoOpening is demoOpening leaving its live hall running.
func runDemoOpening(ctx context.Context, base, dir string, setup *app.DevSetup, admin *apiclient.Client, tender opening.Tender, say func(string, ...any)) (*demoOpened, error) {
	parties, err := loadDemoParties(ctx, base, filepath.Join(dir, "parties"))
	if err != nil {
		return nil, err
	}
	host, err := parties.named("交易中心主持人")
	if err != nil {
		return nil, err
	}
	var bidders, supervisors []*sim.Party
	for _, b := range demoBidders {
		p, err := parties.named(b.name)
		if err != nil {
			return nil, err
		}
		bidders = append(bidders, p)
	}
	for _, id := range tender.Rescue.Holders {
		p, ok := parties.byID[id]
		if !ok {
			return nil, fmt.Errorf("no certificate of rescue holder %s in %s", id, dir)
		}
		supervisors = append(supervisors, p)
	}

	t := opening.Tender{
		Code: tender.Code + "-K", Title: "某市滨江大道（一期）配套照明工程施工", Tenderer: tender.Tenderer,
		Deadline: time.Now().Add(demoOpeningLead).Truncate(time.Second), Plan: opening.SingleEnvelope,
		Suite: tender.Suite, SummaryFields: tender.SummaryFields,
		Rescue:   opening.RescuePolicy{Enabled: true, Threshold: 2, Holders: tender.Rescue.Holders},
		Sections: []opening.Section{{Code: "BD1", Name: "一标段：照明工程"}},
		Method:   demoMethod(),
	}
	// A second tender with the same deadline and bidders stays live at check-in after the
	// demo (demoLive): the first one's room is closed by the time a person opens a link.
	live := t
	live.Code, live.Title, live.Rescue = tender.Code+"-L", "某市滨江大道（一期）绿化景观工程施工", opening.RescuePolicy{}
	live.Sections = []opening.Section{{Code: "BD1", Name: "一标段：绿化景观工程"}}
	t.CheckInMinutes, live.CheckInMinutes = demoCheckIn, demoCheckIn
	for _, x := range []*opening.Tender{&t, &live} {
		if err := host.Client.Do(ctx, http.MethodPost, "/api/v1/tenders", *x, x); err != nil {
			return nil, fmt.Errorf("create the opening demo's tender %s: %w", x.Code, err)
		}
		if err := admin.AssignStaff(ctx, x.ID, kaiping.DutyHost, host.ID); err != nil {
			return nil, err
		}
		if err := admin.AssignStaff(ctx, x.ID, kaiping.DutySupervisor, tender.Rescue.Holders...); err != nil {
			return nil, err
		}
	}
	say("开标演示项目：%s（%s），投标截止即开标时间 %s；同一批投标人、监督员与补救方案（2/3）", t.Title, t.Code, kaiping.BeijingString(t.Deadline))
	sealed := map[kaiping.ID]string{}
	for i, p := range bidders {
		summary := fmt.Sprintf(`{"price":"%s","duration":%d,"quality":"合格"}`, demoOpeningPrices[i], 180+10*i)
		sealed[p.ID] = summary
		for _, x := range []opening.Tender{t, live} {
			if err := p.Client.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(x.ID)+"/sections/BD1/registrations",
				opening.RegisterRequest{Certificate: identity.Fingerprint(p.Cert.Cert.Raw)}, nil); err != nil {
				return nil, fmt.Errorf("%s registers for %s: %w", p.Name, x.Code, err)
			}
			if _, err := sim.SubmitSummary(ctx, x, p, summary); err != nil {
				return nil, err
			}
		}
	}
	say("  5 家投标人在本机加密开标一览表（国密 SM4-GCM，密钥封装给本人证书与补救公钥）并递交，均取得回执")
	say("  同一批投标人同时向直播演示项目 %s（%s）递交，该项目的开标大厅将在演示结束后保持直播", live.Title, live.Code)

	wait := time.Until(t.Deadline)
	say("等待投标截止（%d 秒，真实时间）…", int(wait.Round(time.Second)/time.Second))
	if err := iox.Sleep(ctx, wait+200*time.Millisecond); err != nil {
		return nil, err
	}
	set, err := waitSealed(ctx, host.Client, t)
	if err != nil {
		return nil, fmt.Errorf("the opening demo's bid set: %w", err)
	}
	if _, err := waitSealed(ctx, host.Client, live); err != nil {
		return nil, fmt.Errorf("the live demo's bid set: %w", err)
	}
	say("平台在截止 %v 后封存投标文件集合（截止前到达、仍在校验的递交完成后立即封存），用时 %.1f 秒；主持人即可开启签到",
		opening.SealSettle, set.SealedAt.Sub(t.Deadline).Seconds())
	say("  投标文件集合已封存：%d 家 %d 份，集合摘要 %.16s… 记入审计日志第 %d 条；投标截止前任何人都无法解密", set.Bidders, set.Envelopes, set.Digest, set.LedgerSeq)

	hall := "/api/v1/tenders/" + string(t.ID) + "/sections/BD1/hall"
	move := func(to opening.HallState) (opening.HallStatus, error) {
		var st opening.HallStatus
		err := host.Client.Do(ctx, http.MethodPost, hall+"/transitions", opening.TransitionRequest{To: to}, &st)
		if err != nil {
			err = fmt.Errorf("host moves the hall to %s: %w", to, err)
		}
		return st, err
	}
	checkIn, err := move(opening.HallCheckingIn)
	if err != nil {
		return nil, err
	}
	for _, p := range bidders {
		if err := p.Client.Do(ctx, http.MethodPost, hall+"/checkins", nil, nil); err != nil {
			return nil, fmt.Errorf("%s checks in: %w", p.Name, err)
		}
	}
	say("主持人开启签到：5 家投标人以数字证书签到；签到须进行至少 %d 分钟后方可开启解密（等待，真实时间）…", demoCheckIn)
	if err := iox.Sleep(ctx, time.Until(checkIn.CheckInOpenedAt.Add(demoCheckIn*time.Minute))+200*time.Millisecond); err != nil {
		return nil, err
	}
	st, err := move(opening.HallDecrypting)
	if err != nil {
		return nil, err
	}
	say("主持人开启解密：时限至 %s", kaiping.BeijingString(*st.WindowClosesAt))
	lost := bidders[2]
	for _, p := range bidders {
		if p == lost {
			continue
		}
		if err := sim.Unlock(ctx, p, hall); err != nil {
			return nil, err
		}
		say("  %s 在本机用证书私钥解出文件密钥并提交，平台逐块验证", p.Name)
	}
	say("  %s 的 UKEY 损坏，无法解密：两名监督员按解密失败补救方案各自在本机解开并校验份额，只对其投标文件做部分解密并提交（份额不离开本机）", lost.Name)
	for _, s := range supervisors[:2] {
		share, _, _, err := holder.Share(ctx, s.Client, string(t.ID), s.Cert.Cert, s.Cert.Key)
		if err != nil {
			return nil, fmt.Errorf("%s's share: %w", s.Name, err)
		}
		p, err := holder.DecryptForBid(ctx, s.Client, hall, lost.ID, share)
		if err != nil {
			return nil, fmt.Errorf("%s hands in partial decryptions: %w", s.Name, err)
		}
		say("  %s 提交部分解密值及证明（%d/%d）", s.Name, p.Shares, p.Threshold)
		if len(p.Opened) > 0 {
			say("  部分解密值已够：只开启了 %s 的投标文件，补救私钥从未合成；提交与开启均记入审计日志", lost.Name)
		}
	}
	if err := demoWaitDecrypted(ctx, host.Client, hall); err != nil {
		return nil, err
	}
	if _, err := move(opening.HallPublished); err != nil {
		return nil, err
	}
	pr, rec, err := bidder.FetchRecord(ctx, host.Client, hall)
	if err != nil {
		return nil, err
	}
	say("全部解密，主持人公布开标记录（唱标）：")
	bidder.PrintRecord(sayWriter(say), pr, rec)
	exports, err := demoWaitExports(ctx, host.Client, hall, 2)
	if err != nil {
		return nil, err
	}
	for _, e := range exports {
		say("  开标记录 %s 已归档（合规保留至 %s），SHA-256 %.16s… 记入审计日志第 %d 条", strings.ToUpper(e.Format),
			e.RetainUntil.In(kaiping.BeijingTime).Format(time.DateOnly), e.SHA256, e.LedgerSeq)
	}

	if _, err := move(opening.HallConfirming); err != nil {
		return nil, err
	}
	var o opening.Objection
	if err := lost.Client.Do(ctx, http.MethodPost, hall+"/objections", opening.ObjectionRequest{
		Text: "我方 UKEY 故障，投标文件经监督人员补救解密，请确认补救过程已完整记录"}, &o); err != nil {
		return nil, err
	}
	say("  %s 提出异议：%s", lost.Name, o.Text)
	answer := "补救由两名持有份额的监督员在解密时限内依方案完成，每份份额的提交与密钥合成均已记入审计日志，可随时核验"
	if err := host.Client.Do(ctx, http.MethodPost, hall+"/objections/"+string(o.ID)+"/answer", opening.AnswerRequest{Answer: answer}, nil); err != nil {
		return nil, err
	}
	say("  主持人当场答复：%s", answer)
	for _, p := range bidders {
		if _, err := bidder.ConfirmRecord(ctx, p.Client, p.Cert.Key, hall, pr.Digest, io.Discard); err != nil {
			return nil, fmt.Errorf("%s confirms: %w", p.Name, err)
		}
	}
	say("  5 家投标人以证书私钥对开标记录摘要签名确认")
	if st, err = move(opening.HallClosed); err != nil {
		return nil, err
	}
	say("主持人宣布开标结束：开标大厅状态「%s」，共 %d 个事件，全部记入审计日志", st.State.Label(), st.Version)
	if exports, err = demoWaitExports(ctx, host.Client, hall, 4); err != nil {
		return nil, err
	}
	for _, e := range exports {
		if e.Stage == opening.StageFinal {
			say("  最终开标记录（含确认、异议及答复）%s 已归档，SHA-256 %.16s… 记入审计日志第 %d 条", strings.ToUpper(e.Format), e.SHA256, e.LedgerSeq)
		}
	}

	first := bidders[0]
	section := "tender=" + string(t.ID) + "&section=BD1"
	say("")
	say("开标记录与开标大厅 / opening record and hall:")
	say("  开标记录 PDF       %s%s/record.pdf（需登录 / bearer token）", base, hall)
	say("  开标记录 JSON      %s%s/record.json", base, hall)
	say("  最终开标记录       %s%s/record.pdf?stage=final", base, hall)
	say("  开标记录公示（无需登录） %s/record/?%s", base, section)
	say("  投标人大厅（%s） %s", first.Name, web.LoginLink(base, "hall/bidder.html?"+section, first.Client.Token))
	say("  主持人控制台       %s", web.LoginLink(base, "hall/host.html?"+section, host.Client.Token))
	stem := filepath.Join(dir, "parties", string(first.ID))
	say("  命令行查看记录     go run ./cmd/kaiping record show --server %s --cert %s --key %s --tender %s --section BD1",
		base, stem+".cert.pem", stem+".key.pem", t.ID)
	cam, err := startDemoLive(ctx, base, dir, setup, admin, live, host, bidders, say)
	if err != nil {
		return nil, err
	}
	return &demoOpened{tender: t, bidders: bidders, sealed: sealed, live: cam}, nil
}

// demoLive is the demo's live opening hall: a camera account's seat agent publishing
// synthetic audio and video into the hall's broadcast room until Stop.
type demoLive struct {
	cancel context.CancelFunc
	done   chan error
}

// Stop stops the camera and waits for it to leave the room; a nil demoLive stops nothing.
func (l *demoLive) Stop() error {
	if l == nil {
		return nil
	}
	l.cancel()
	return <-l.done
}

// demoLiveWait bounds each wait for the live hall's media.
const demoLiveWait = 30 * time.Second

// startDemoLive opens check-in of t's hall, which creates its broadcast room and starts
// recording it, and has a second host account, the hall's camera (开标现场摄像机), publish
// into the room with a grant from the hall's media route. Before it returns, the first
// bidder checks, with a grant of its own, that the camera's audio and video reach it.
func startDemoLive(ctx context.Context, base, dir string, setup *app.DevSetup, admin *apiclient.Client, t opening.Tender, host *sim.Party, bidders []*sim.Party, say func(string, ...any)) (*demoLive, error) {
	hall := "/api/v1/tenders/" + string(t.ID) + "/sections/" + string(t.Sections[0].ID) + "/hall"
	if err := host.Client.Do(ctx, http.MethodPost, hall+"/transitions", opening.TransitionRequest{To: opening.HallCheckingIn}, nil); err != nil {
		return nil, fmt.Errorf("host opens check-in of the live hall: %w", err)
	}
	camera, err := sim.NewParty(ctx, base, filepath.Join(dir, "parties"), setup, admin, devpki.SM2, "开标现场摄像机", kaiping.RoleHost)
	if err != nil {
		return nil, err
	}
	if err := admin.AssignStaff(ctx, t.ID, kaiping.DutyHost, camera.ID); err != nil {
		return nil, err
	}
	cam, err := demoMediaAgent(ctx, camera, hall+"/media", nil)
	if err != nil {
		return nil, err
	}
	first := bidders[0]
	watcher, err := demoMediaAgent(ctx, first, hall+"/media", func(s seat.Stats) bool {
		audio, video := false, false
		for _, tr := range s.From(string(camera.ID)) {
			audio = audio || tr.Kind == signaling.Audio && tr.Packets > 10
			video = video || tr.Kind == signaling.Video && tr.Packets > 10
		}
		return audio && video
	})
	if err == nil {
		err = watcher.Stop()
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("%s watches the live hall: %w", first.Name, err), cam.Stop())
	}
	section := "tender=" + string(t.ID) + "&section=" + string(t.Sections[0].ID)
	say("")
	say("开标直播 / live opening hall：%s（%s）停在「%s」，%s以合成音视频直播，房间全程录像，演示结束时存档", t.Title, t.Code,
		opening.HallCheckingIn.Label(), camera.Name)
	say("  %s 已收到现场音视频（自检）；投标人隐身观看，互不可见", first.Name)
	say("  投标人大厅（%s） %s", first.Name, web.LoginLink(base, "hall/bidder.html?"+section, first.Client.Token))
	say("  主持人控制台       %s", web.LoginLink(base, "hall/host.html?"+section, host.Client.Token))
	say("  主持人可在控制台开启自己的摄像头，与现场摄像机一同直播给投标人")
	return cam, nil
}

// demoMediaAgent joins a room as p with a grant from the media route at grantPath (the
// hall's broadcast, a session's committee room: both answer {"grant": …}), publishing what the
// grant allows. With until it waits until the agent's statistics satisfy it, otherwise until
// the agent has joined.
func demoMediaAgent(ctx context.Context, p *sim.Party, grantPath string, until func(seat.Stats) bool) (*demoLive, error) {
	var g struct {
		Grant signaling.Grant `json:"grant"`
	}
	if err := p.Client.Do(ctx, http.MethodPost, grantPath, nil, &g); err != nil {
		return nil, fmt.Errorf("%s's media grant: %w", p.Name, err)
	}
	cfg := seat.ConfigFromGrant(g.Grant)
	cfg.Loopback = true // the demo's SFU listens on loopback only
	// A modest stream: the demo runs every seat of a committee on one machine.
	cfg.FPS, cfg.VideoBitrate = 10, 100_000
	ag := seat.New(cfg)
	runCtx, cancel := context.WithCancel(ctx)
	l := &demoLive{cancel: cancel, done: make(chan error, 1)}
	go func() { l.done <- ag.Run(runCtx) }()
	deadline := time.After(demoLiveWait)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	joined := ag.Joined()
	for {
		select {
		case <-joined:
			if until == nil {
				return l, nil
			}
			joined = nil
		case <-tick.C:
			if joined == nil && until(ag.Stats()) {
				return l, nil
			}
		case err := <-l.done:
			cancel()
			return nil, fmt.Errorf("%s left the room: %w", p.Name, err)
		case <-deadline:
			return nil, errors.Join(fmt.Errorf("%s: no media in the room within %v", p.Name, demoLiveWait), l.Stop())
		}
	}
}

// demoParties are the parties demoBids wrote to its folder, by name and by ID.
type demoParties struct {
	byName map[string]*sim.Party
	byID   map[kaiping.ID]*sim.Party
}

func (ps demoParties) named(name string) (*sim.Party, error) {
	p, ok := ps.byName[name]
	if !ok {
		return nil, fmt.Errorf("no certificate of %s among the demo's parties", name)
	}
	return p, nil
}

// loadDemoParties reads every "<id>.cert.pem" and its key from dir and logs each party in.
func loadDemoParties(ctx context.Context, base, dir string) (demoParties, error) {
	ps := demoParties{byName: map[string]*sim.Party{}, byID: map[kaiping.ID]*sim.Party{}}
	certs, err := filepath.Glob(filepath.Join(dir, "*.cert.pem"))
	if err != nil {
		return ps, err
	}
	for _, path := range certs {
		stem := strings.TrimSuffix(path, ".cert.pem")
		certPEM, err := os.ReadFile(path)
		if err != nil {
			return ps, err
		}
		keyPEM, err := os.ReadFile(stem + ".key.pem")
		if err != nil {
			return ps, err
		}
		leaf, err := bidder.LeafCertificate(certPEM)
		if err != nil {
			return ps, err
		}
		key, err := devpki.ParseKeyPEM(keyPEM)
		if err != nil {
			return ps, err
		}
		p := &sim.Party{Name: leaf.Subject.CommonName, ID: kaiping.ID(filepath.Base(stem)),
			Cert: &devpki.Issued{Cert: leaf, Key: key}, Client: apiclient.New(base)}
		if _, err := p.Client.Login(ctx, certPEM, key); err != nil {
			return ps, fmt.Errorf("login %s: %w", p.Name, err)
		}
		ps.byName[p.Name], ps.byID[p.ID] = p, p
	}
	return ps, nil
}

// waitSealed waits for the server's own sealer to seal the bid set of the tender's section,
// which it does SealSettle after the deadline once no completion is in flight.
func waitSealed(ctx context.Context, c *apiclient.Client, t opening.Tender) (opening.BidSet, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		var set opening.BidSet
		err := c.Do(ctx, http.MethodGet, "/api/v1/tenders/"+string(t.ID)+"/sections/BD1/bid-set", nil, &set)
		var ae *apiclient.Error
		if err == nil || !errors.As(err, &ae) || ae.Code != "bidset.not_sealed" {
			return set, err
		}
		if err := iox.Sleep(ctx, 200*time.Millisecond); err != nil {
			return set, fmt.Errorf("not sealed a minute after the deadline: %w", err)
		}
	}
}

// demoWaitDecrypted waits until the host's board shows every envelope decrypted.
func demoWaitDecrypted(ctx context.Context, host *apiclient.Client, hall string) error {
	for deadline := time.Now().Add(time.Minute); ; {
		var b opening.BoardView
		if err := host.Do(ctx, http.MethodGet, hall+"/board", nil, &b); err != nil {
			return err
		}
		if b.Envelopes > 0 && b.Decrypted == b.Envelopes {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d envelopes decrypted after a minute", b.Decrypted, b.Envelopes)
		}
		if err := iox.Sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

// demoWaitExports waits until n exports of the section's records are archived and ledgered
// (2: the published record's PDF and JSON; 4: the final record's too).
func demoWaitExports(ctx context.Context, host *apiclient.Client, hall string, n int) ([]opening.RecordExport, error) {
	for deadline := time.Now().Add(time.Minute); ; {
		var out struct{ Exports []opening.RecordExport }
		if err := host.Do(ctx, http.MethodGet, hall+"/record/exports", nil, &out); err != nil {
			return nil, err
		}
		if len(out.Exports) >= n {
			return out.Exports, nil
		}
		if time.Now().After(deadline) {
			return nil, errors.New("the opening record was not archived within a minute")
		}
		if err := iox.Sleep(ctx, 100*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// sayWriter writes each line it is given through say, indented.
type sayWriter func(string, ...any)

func (s sayWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		s("  %s", line)
	}
	return len(p), nil
}
