package evaltest_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/clients/seat"
	"github.com/kaiping/kaiping/evaluation"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/signaling"
	"github.com/kaiping/kaiping/signaling/embedded"
	"github.com/kaiping/kaiping/signaling/recorder"
	"github.com/kaiping/kaiping/storage/blob"
	"github.com/kaiping/kaiping/storage/postgres"
)

// mediaPlane is an embedded SFU on loopback recording into MinIO and the recordings catalog,
// as the app wires it.
type mediaPlane struct {
	*embedded.Server
	blob   *blob.Store
	bucket string
}

func mustMediaPlane(tb testing.TB, s *scene) *mediaPlane {
	tb.Helper()
	ctx := context.Background()
	m := devenv.MinIOServer(tb)
	store, err := blob.New(blob.Config{Endpoint: m.Endpoint, AccessKey: m.AccessKey, SecretKey: m.SecretKey})
	must(tb, err)
	bucket := devenv.BucketName(tb)
	must(tb, store.EnsureBucket(ctx, bucket))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rec, err := recorder.New(recorder.Config{SpoolDir: tb.TempDir(), Loopback: true, CheckpointInterval: time.Second},
		testArchive{store, bucket}, testCatalog{postgres.NewRecordingStore(s.DB, s.Ledger)}, kaiping.SystemClock{}, log)
	must(tb, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(tb, err)
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	srv, err := embedded.New(embedded.Config{Secret: secret, URL: "ws://" + ln.Addr().String() + "/media/ws",
		UDPAddr: "127.0.0.1:0", Loopback: true, ResumeWindow: 30 * time.Second,
		ICEDisconnectedTimeout: time.Second, ICEFailedTimeout: 2 * time.Second}, rec, kaiping.SystemClock{}, log)
	must(tb, err)
	f := fiber.New(fiber.Config{DisableStartupMessage: true})
	f.Get("/media/ws", srv.FiberHandler())
	go func() { _ = f.Listener(ln) }()
	tb.Cleanup(func() {
		_ = srv.Close()
		_ = f.Shutdown()
		_ = rec.Close(context.Background())
	})
	return &mediaPlane{Server: srv, blob: store, bucket: bucket}
}

// testArchive and testCatalog adapt MinIO and the catalog to the recorder, as the app does.
type testArchive struct {
	store  *blob.Store
	bucket string
}

func (a testArchive) Put(ctx context.Context, key string, body io.Reader, size int64, contentType string) (recorder.Object, error) {
	info, err := a.store.Put(ctx, a.bucket, key, body, size, blob.PutOptions{ContentType: contentType})
	if kaiping.CodeOf(err) == blob.CodeExists {
		obj, err := a.Stat(ctx, key)
		obj.Existed = true
		return obj, err
	}
	return recorder.Object{Key: key, VersionID: info.VersionID, SHA256: info.SHA256, Size: info.Size}, err
}

func (a testArchive) Stat(ctx context.Context, key string) (recorder.Object, error) {
	info, err := a.store.Stat(ctx, a.bucket, key)
	if err == nil && info.SHA256 == "" {
		info.SHA256, info.Size, err = a.store.SHA256(ctx, a.bucket, key, info.VersionID)
	}
	return recorder.Object{Key: key, VersionID: info.VersionID, SHA256: info.SHA256, Size: info.Size}, err
}

func (a testArchive) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, _, err := a.store.Get(ctx, a.bucket, key)
	return rc, err
}

type testCatalog struct{ store *postgres.RecordingStore }

func (c testCatalog) row(p recorder.Pending) postgres.Recording {
	return postgres.Recording{ID: p.Recording, Room: p.Room, Prefix: p.Prefix, ManifestKey: p.ManifestKey,
		ManifestSHA256: p.ManifestSHA256, ManifestSize: p.ManifestSize, StartedAt: p.StartedAt, EndedAt: p.EndedAt, BegunAt: p.BegunAt}
}

func (c testCatalog) Begin(ctx context.Context, p recorder.Pending) error {
	return c.store.BeginRecording(ctx, c.row(p))
}

func (c testCatalog) Commit(ctx context.Context, s recorder.Stored) (int64, error) {
	row := c.row(s.Pending)
	obj := func(o recorder.Object) postgres.RecordingObject {
		return postgres.RecordingObject{Key: o.Key, VersionID: o.VersionID, SHA256: o.SHA256, Size: o.Size}
	}
	for _, f := range s.Files {
		row.Files = append(row.Files, obj(f))
	}
	return c.store.StoreRecording(ctx, kaiping.SystemActor(s.StoredAt), row, obj(s.Manifest))
}

func (c testCatalog) Pending(context.Context, time.Time) ([]recorder.Pending, error) { return nil, nil }

// manifests reads the stored manifests of room's recordings.
func (m *mediaPlane) manifests(tb testing.TB, s *scene, room string) []recorder.Manifest {
	tb.Helper()
	ctx := context.Background()
	rows, err := postgres.NewRecordingStore(s.DB, s.Ledger).Recordings(ctx, room)
	must(tb, err)
	var out []recorder.Manifest
	for _, r := range rows {
		rc, _, err := m.blob.Get(ctx, m.bucket, r.ManifestKey)
		must(tb, err)
		var mf recorder.Manifest
		err = json.NewDecoder(rc).Decode(&mf)
		rc.Close()
		must(tb, err)
		out = append(out, mf)
	}
	return out
}

// runSeat runs a seat agent with g until the test ends.
func runSeat(tb testing.TB, g signaling.Grant, adjust ...func(*seat.Config)) *seat.Agent {
	cfg := seat.ConfigFromGrant(g)
	cfg.Loopback, cfg.FPS, cfg.VideoBitrate = true, 15, 150_000
	for _, f := range adjust {
		f(&cfg)
	}
	a := seat.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.Run(ctx)
	}()
	tb.Cleanup(func() { cancel(); <-done })
	return a
}

func packetsFrom(a *seat.Agent, identity string, kind signaling.TrackKind) uint64 {
	var n uint64
	for _, t := range a.Stats().From(identity) {
		if kind == "" || t.Kind == kind {
			n += t.Packets
		}
	}
	return n
}

func waitUntil(tb testing.TB, what string, timeout time.Duration, ok func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSessionMedia: from check-in a committee group's room exists with the recorder in it;
// members confirmed at their seats join with their grants and see and hear each other, the
// host sees and hears all and speaks, the supervisor and venue staff watch unseen (the staff
// their own venue's seats only); the host mutes and removes a seat; a seat whose network
// drops comes back by itself, the session showing it reconnecting then online (never gone),
// and the recording's manifest the gap; the routes refuse who they must; voiding the session
// closes the room and stores its recording.
func TestSessionMedia(t *testing.T) {
	s := mustSessionScene(t)
	media := mustMediaPlane(t, s.scene)
	s.Service.StreamWith(media)
	watchCtx, stopWatch := context.WithCancel(context.Background())
	watching := make(chan struct{})
	go func() { defer close(watching); s.Service.WatchSeats(watchCtx) }()
	t.Cleanup(func() { stopWatch(); <-watching })
	a := mustAPI(t, s.scene)
	ctx := context.Background()

	sess, err := s.Service.CreateSession(ctx, s.Actor(s.Host), s.request)
	must(t, err)
	base := "/api/v1/sessions/" + string(sess.ID)
	if err := a.as(s.Host).Do(ctx, http.MethodPost, base+"/media", nil, nil); !hasCode(err, 409, "session.media_not_open") {
		t.Fatalf("host grant before check-in: %v", err)
	}
	s.Clock.Set(s.session.Start.Add(-30 * time.Minute))
	sess, err = s.Service.OpenCheckIn(ctx, s.Actor(s.Host), sess.ID)
	must(t, err)
	room := evaluation.SessionRoom(sess.ID, "G1")
	if err := signaling.ValidRoomName(room); err != nil {
		t.Fatal(err)
	}
	ps, err := media.Participants(ctx, room)
	if err != nil || len(ps) != 1 || !ps[0].Hidden || ps[0].Name != signaling.RecorderName {
		t.Fatalf("room at check-in: %+v, %v; want the recorder alone", ps, err)
	}

	// Three drawn members, A and B in different cities.
	var drawn []evaluation.SessionMember
	for _, m := range sitting(sess) {
		if m.Kind == evaluation.MemberDrawn {
			drawn = append(drawn, m)
		}
	}
	mA := drawn[0]
	var mB, mC evaluation.SessionMember
	for _, m := range drawn[1:] {
		switch {
		case mB.ID == "" && m.Venue != mA.Venue:
			mB = m
		case mC.ID == "":
			mC = m
		}
	}
	if mB.ID == "" || mC.ID == "" {
		t.Fatalf("drawn members %+v: want three, two of them in different cities", drawn)
	}
	seated := []evaluation.SessionMember{mA, mB, mC}
	memberPath := "/api/v1/expert/sessions/" + string(sess.ID) + "/media"
	grantOf := func(c *apiclient.Client, path string) (evaluation.SessionMediaGrant, error) {
		var g evaluation.SessionMediaGrant
		err := c.Do(ctx, http.MethodPost, path, nil, &g)
		return g, err
	}

	// Refusals.
	if _, err := grantOf(a.as(s.logins[mA.ID].Principal), memberPath); !hasCode(err, 403, "session.not_confirmed") {
		t.Fatalf("a member not yet confirmed: %v", err)
	}
	stranger := s.CertifiedExpert(t, s.Expert(t, "KF99", "开九", "开封市某设计院", kaifeng, "A0101"))
	if _, err := grantOf(a.as(stranger.Principal), memberPath); !hasCode(err, 403, "session.not_member") {
		t.Fatalf("a stranger: %v", err)
	}
	far := s.Venue(t, "411000-001", "许昌市公共资源交易中心", 34.0357, 113.8523, false, 2)
	farStaff := s.Principal(t, "许昌工作人员", far.Name, kaiping.RoleVenueStaff)
	must(t, s.Service.AddStaff(ctx, s.Actor(s.Admin), far.ID, farStaff.ID))
	venuePath := "/api/v1/venue/sessions/" + string(sess.ID) + "/media"
	if _, err := grantOf(a.as(farStaff), venuePath); !hasCode(err, 403, "session.not_venue_staff") {
		t.Fatalf("staff of a venue without seats: %v", err)
	}
	if _, err := grantOf(a.as(s.Host), base+"/media?group=G9"); !hasCode(err, 404, "session.group_not_found") {
		t.Fatalf("an unknown group: %v", err)
	}

	for _, m := range seated {
		sess = s.confirm(t, sess, m)
	}
	grants := map[kaiping.ID]evaluation.SessionMediaGrant{}
	for _, m := range seated {
		g, err := grantOf(a.as(s.logins[m.ID].Principal), memberPath)
		p := g.Grant.Permissions
		if err != nil || g.Role != evaluation.MediaMember || g.Grant.Room != room || g.Grant.Identity != string(m.Principal) ||
			!p.PublishAudio || !p.PublishVideo || !p.Subscribe.All || p.Hidden || g.Members[g.Grant.Identity] != m.ID {
			t.Fatalf("member grant: %+v, %v", g, err)
		}
		grants[m.ID] = g
	}
	hostG, err := grantOf(a.as(s.Host), base+"/media")
	if err != nil || hostG.Role != evaluation.MediaEvalHost || !hostG.Grant.Permissions.PublishVideo || hostG.Grant.Permissions.Hidden {
		t.Fatalf("host grant: %+v, %v", hostG, err)
	}
	supG, err := grantOf(a.as(s.Supervisor), base+"/media?group=G1")
	if err != nil || supG.Role != evaluation.MediaSupervisor || !supG.Grant.Permissions.Hidden || supG.Grant.Permissions.PublishAudio {
		t.Fatalf("supervisor grant: %+v, %v", supG, err)
	}
	staffG, err := grantOf(a.as(s.staff[mB.Venue]), venuePath)
	if err != nil || staffG.Role != evaluation.MediaVenueStaff || !staffG.Grant.Permissions.Hidden || staffG.Grant.Permissions.Subscribe.All ||
		!staffG.Grant.Permissions.Subscribe.Allows(string(mB.Principal)) || staffG.Grant.Permissions.Subscribe.Allows(string(mA.Principal)) {
		t.Fatalf("venue staff grant: %+v, %v", staffG, err)
	}

	nb, err := seat.NewCutNet()
	must(t, err)
	t.Cleanup(func() { nb.Close() })
	agents := map[kaiping.ID]*seat.Agent{
		mA.ID: runSeat(t, grants[mA.ID].Grant),
		mB.ID: runSeat(t, grants[mB.ID].Grant, nb.Tune),
		mC.ID: runSeat(t, grants[mC.ID].Grant),
	}
	host := runSeat(t, hostG.Grant)
	sup := runSeat(t, supG.Grant)
	staff := runSeat(t, staffG.Grant)
	idA, idB, idC, idHost := string(mA.Principal), string(mB.Principal), string(mC.Principal), hostG.Grant.Identity
	waitUntil(t, "every seat to see and hear the others and the host", 60*time.Second, func() bool {
		for _, x := range []kaiping.ID{mA.ID, mB.ID, mC.ID} {
			for _, y := range []string{idA, idB, idC, idHost} {
				if y != string(memberOf(t, sess, x).Principal) && packetsFrom(agents[x], y, signaling.Video) == 0 {
					return false
				}
			}
		}
		return packetsFrom(host, idA, signaling.Video) > 0 && packetsFrom(sup, idC, signaling.Video) > 0 && packetsFrom(staff, idB, signaling.Video) > 0
	})
	if packetsFrom(staff, idA, "") != 0 || packetsFrom(staff, idHost, "") != 0 || mC.Venue != mB.Venue && packetsFrom(staff, idC, "") != 0 {
		t.Errorf("venue staff receive beyond their venue's seat")
	}
	for id, ag := range agents {
		for p := range ag.Stats().Peers {
			if p == supG.Grant.Identity || p == staffG.Grant.Identity {
				t.Errorf("member %s sees a hidden watcher %s", id, p)
			}
		}
	}
	seatState := func(id kaiping.ID) evaluation.SeatState {
		cur, err := s.Service.Session(ctx, sess.ID)
		must(t, err)
		if p := memberOf(t, cur, id).Presence; p != nil {
			return p.State
		}
		return ""
	}
	waitUntil(t, "the seats to show online", 20*time.Second, func() bool {
		return seatState(mA.ID) == evaluation.SeatOnline && seatState(mB.ID) == evaluation.SeatOnline && seatState(mC.ID) == evaluation.SeatOnline
	})

	// The host mutes A's video, and removes C from the room (C stays on the committee).
	seatPath := func(m evaluation.SessionMember, what string) string {
		return base + "/groups/G1/seats/" + string(m.ID) + "/" + what
	}
	if err := a.as(s.Supervisor).Do(ctx, http.MethodPost, seatPath(mA, "mute"), evaluation.SeatMuteRequest{Kind: signaling.Video, Muted: true}, nil); !hasCode(err, 403, "auth.role_forbidden") {
		t.Fatalf("a supervisor mutes: %v", err)
	}
	if err := a.as(s.Host).Do(ctx, http.MethodPost, seatPath(mA, "mute"), evaluation.SeatMuteRequest{Kind: "screen", Muted: true}, nil); !hasCode(err, 400, "session.track_kind") {
		t.Fatalf("mute of an unknown kind: %v", err)
	}
	if err := a.as(s.Host).Do(ctx, http.MethodPost, seatPath(mA, "mute"), evaluation.SeatMuteRequest{Kind: signaling.Video, Muted: true}, nil); err != nil {
		t.Fatalf("mute: %v", err)
	}
	time.Sleep(500 * time.Millisecond) // what was in flight
	before := packetsFrom(host, idA, signaling.Video)
	time.Sleep(time.Second)
	if after := packetsFrom(host, idA, signaling.Video); after > before+3 {
		t.Errorf("A's video still forwarded after the mute: %d then %d packets", before, after)
	}
	if packetsFrom(host, idA, signaling.Audio) == 0 {
		t.Errorf("A's audio stopped too")
	}
	// Unmuted, A's video flows again (the recording's gap closes).
	if err := a.as(s.Host).Do(ctx, http.MethodPost, seatPath(mA, "mute"), evaluation.SeatMuteRequest{Kind: signaling.Video, Muted: false}, nil); err != nil {
		t.Fatalf("unmute: %v", err)
	}
	waitUntil(t, "A's video after the unmute", 20*time.Second, func() bool { return packetsFrom(host, idA, signaling.Video) > before+10 })
	if err := a.as(s.Host).Do(ctx, http.MethodPost, seatPath(mC, "remove"), nil, nil); err != nil {
		t.Fatalf("remove: %v", err)
	}
	waitUntil(t, "C to show gone", 20*time.Second, func() bool { return seatState(mC.ID) == evaluation.SeatGone })
	cur, _ := s.Service.Session(ctx, sess.ID)
	if c := memberOf(t, cur, mC.ID); c.Stage() == evaluation.StageLeft || c.Presence.Reason != "removed" || c.Presence.GraceUntil == nil {
		t.Errorf("C after removal from the room: stage %s, presence %+v", c.Stage(), c.Presence)
	}
	if err := a.as(s.Host).Do(ctx, http.MethodPost, seatPath(mC, "remove"), nil, nil); !hasCode(err, 404, signaling.CodeParticipantNotFound) {
		t.Errorf("removing a seat not in the room: %v", err)
	}

	// B's network drops for three seconds and returns: B resumes by itself.
	nb.Set(true)
	waitUntil(t, "B to show reconnecting", 30*time.Second, func() bool { return seatState(mB.ID) == evaluation.SeatReconnecting })
	time.Sleep(2 * time.Second)
	fromB := packetsFrom(host, idB, signaling.Video)
	nb.Set(false)
	returned := time.Now()
	waitUntil(t, "B's video again", 30*time.Second, func() bool { return packetsFrom(host, idB, signaling.Video) > fromB })
	t.Logf("network back to B's video at the host: %s", time.Since(returned).Round(time.Millisecond))
	waitUntil(t, "B to show online", 30*time.Second, func() bool { return seatState(mB.ID) == evaluation.SeatOnline })

	evs, err := s.Service.SessionEvents(ctx, sess.ID, 0, evaluation.SessionReader{Venues: []kaiping.ID{mB.Venue}}, 500)
	must(t, err)
	var bStates []string
	for _, e := range evs {
		var p struct {
			Member kaiping.ID `json:"member"`
		}
		_ = json.Unmarshal(e.Payload, &p)
		if p.Member == mB.ID && e.Type != evaluation.ActionSessionConfirm {
			bStates = append(bStates, e.Type)
		}
	}
	want := []string{evaluation.ActionSessionSeatOnline, evaluation.ActionSessionSeatReconnecting, evaluation.ActionSessionSeatOnline}
	if len(bStates) != len(want) || bStates[0] != want[0] || bStates[1] != want[1] || bStates[2] != want[2] {
		t.Errorf("B's seat events seen by B's venue staff: %v, want %v", bStates, want)
	}

	// Voiding closes the room; its recording is stored, with B's gap in the manifest.
	if _, err := s.Service.Void(ctx, s.Actor(s.Host), sess.ID, evaluation.ReasonRequest{Reason: "测试结束"}); err != nil {
		t.Fatal(err)
	}
	if _, err := media.Participants(ctx, room); kaiping.CodeOf(err) != signaling.CodeRoomNotFound {
		t.Errorf("room after void: %v", err)
	}
	if _, err := grantOf(a.as(s.Host), base+"/media"); !hasCode(err, 409, "session.media_not_open") {
		t.Errorf("host grant after void: %v", err)
	}
	if _, err := grantOf(a.as(s.logins[mA.ID].Principal), memberPath); !hasCode(err, 409, "session.media_not_open") {
		t.Errorf("member grant after void: %v", err)
	}
	var gapB, mutedA bool
	for _, mf := range media.manifests(t, s.scene, room) {
		for _, g := range mf.Gaps {
			gapB = gapB || g.Participant == idB && g.Reason == recorder.GapMediaInterrupted
			mutedA = mutedA || g.Participant == idA && g.Reason == recorder.GapMuted
		}
	}
	if !gapB || !mutedA {
		t.Errorf("manifest gaps: B's drop %v, A's mute %v; want both", gapB, mutedA)
	}
}

// TestSeatPastGrace: a seat that leaves the committee's room shows gone at once and, once the
// centre's grace has run out without it coming back, gone past the grace, after which the
// host may record its member as having left; back in the room, it shows online again.
func TestSeatPastGrace(t *testing.T) {
	s := mustSessionScene(t)
	media := mustMediaPlane(t, s.scene)
	cfg := evaluation.DefaultConfig
	cfg.SeatGrace = 2 * time.Second
	svc := evaluation.NewService(s.Store, s.Notices, s.Clock, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)
	svc.StreamWith(media)
	watchCtx, stopWatch := context.WithCancel(context.Background())
	watching := make(chan struct{})
	go func() { defer close(watching); svc.WatchSeats(watchCtx) }()
	t.Cleanup(func() { stopWatch(); <-watching })
	ctx := context.Background()

	sess, err := svc.CreateSession(ctx, s.Actor(s.Host), s.request)
	must(t, err)
	s.Clock.Set(s.session.Start.Add(-30 * time.Minute))
	sess, err = svc.OpenCheckIn(ctx, s.Actor(s.Host), sess.ID)
	must(t, err)
	m := sess.Members[0]
	sess = s.confirm(t, sess, m)
	g, err := svc.MemberMediaGrant(ctx, s.logins[m.ID].Principal, sess.ID)
	must(t, err)

	stateOf := func() evaluation.SeatState {
		cur, err := svc.Session(ctx, sess.ID)
		must(t, err)
		if p := memberOf(t, cur, m.ID).Presence; p != nil {
			return p.State
		}
		return ""
	}
	// waitFor follows the session's events until the seat reaches state.
	after := sess.Version
	waitFor := func(state evaluation.SeatState) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for stateOf() != state {
			if time.Now().After(deadline) {
				t.Fatalf("the seat is %q after 30 s, want %q", stateOf(), state)
			}
			evs, err := svc.SessionEvents(ctx, sess.ID, after, evaluation.SessionReader{Overseer: true}, 100)
			must(t, err)
			if len(evs) > 0 {
				after = evs[len(evs)-1].Version
				continue
			}
			time.Sleep(100 * time.Millisecond) // no event yet: the watcher writes within its gap
		}
	}

	join := func() context.CancelFunc {
		cfg := seat.ConfigFromGrant(g.Grant)
		cfg.Loopback, cfg.FPS, cfg.VideoBitrate = true, 15, 150_000
		a := seat.New(cfg)
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = a.Run(runCtx) }()
		return func() { cancel(); <-done }
	}
	leave := join()
	waitFor(evaluation.SeatOnline)
	leave()
	waitFor(evaluation.SeatGone)
	waitFor(evaluation.SeatGonePastGrace)
	cur, err := svc.Session(ctx, sess.ID)
	must(t, err)
	if p := memberOf(t, cur, m.ID).Presence; p.GraceUntil == nil || p.GraceUntil.Sub(p.Since) != cfg.SeatGrace {
		t.Fatalf("presence %+v: grace until since + %s", p, cfg.SeatGrace)
	}
	// Back in the room: online again.
	leave = join()
	defer leave()
	waitFor(evaluation.SeatOnline)
}
