package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/cmd/kaiping/app"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
	"github.com/kaiping/kaiping/storage/ledger"
)

// world is one case: a kaiping process behind proxies to PostgreSQL and object storage, a
// tender with one section and its registered bidders, and the receipts they hold.
type world struct {
	t     *testing.T
	dir   string
	setup *app.DevSetup
	// pg is the test's own PostgreSQL server (ownPostgres), nil on the shared one.
	pg      *devenv.Postgres
	tp      *devenv.Toxiproxy
	pgProxy *devenv.Proxy
	s3Proxy *devenv.Proxy
	kp      *devenv.Child
	env     []string // the child's environment: the configuration overrides
	// bids and archive are the buckets' names.
	bids, archive string
	base          string
	clock         string // the clock offset file
	offset        time.Duration
	db            *pgxpool.Pool // straight to PostgreSQL, for the checks
	admin         *apiclient.Client
	hostCert      *devpki.Issued
	host          *apiclient.Client
	tender        opening.Tender
	section       opening.Section
	deadline      time.Time
	bidders       []*bidderT
	// checkInOpened is when the host last opened check-in.
	checkInOpened time.Time
}

// bidderT is a registered bidder: its certificate, session, sealed summary and the
// receipts the platform gave it.
type bidderT struct {
	name     string
	cert     *devpki.Issued
	id       kaiping.ID
	c        *apiclient.Client
	file     []byte
	receipts []opening.Receipt
}

var bidderNames = []string{"甲建设工程有限公司", "乙建设集团", "丙工程有限公司", "丁建筑公司", "戊路桥公司",
	"己市政工程公司", "庚安装公司", "辛建工集团", "壬水利公司", "癸园林公司", "子午建设公司", "丑山路桥公司"}

type worldOptions struct {
	bidders     int
	ownPostgres bool // PostgreSQL is stopped in this case: not the shared server
}

// newWorld starts kaiping for the case and creates a tender whose deadline is 20 minutes
// ahead on kaiping's clock, with n registered bidders.
func newWorld(t *testing.T, o worldOptions) *world {
	t.Helper()
	w := &world{t: t, dir: t.TempDir()}
	ctx := context.Background()
	began := time.Now()
	defer func() { t.Logf("world ready in %s", time.Since(began).Round(time.Millisecond)) }()
	var direct string
	if o.ownPostgres {
		w.pg = devenv.OwnPostgres(t)
		// What the server acknowledged must survive an immediate stop, as in production:
		// the test servers run with synchronous_commit=off for speed.
		if err := w.pg.StopImmediate(ctx); err != nil {
			t.Fatal(err)
		}
		if err := w.pg.Restart(ctx, "synchronous_commit=on"); err != nil {
			t.Fatal(err)
		}
		if err := w.pg.CreateDatabase(ctx, "kaiping"); err != nil {
			t.Fatal(err)
		}
		direct = w.pg.URL("kaiping")
	} else {
		direct = devenv.Database(t)
	}
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	tp := devenv.NewToxiproxy()
	w.tp = tp
	w.tp = tp
	w.pgProxy = tp.Proxy(t, "postgres", u.Host)
	m := devenv.MinIOServer(t)
	w.s3Proxy = tp.Proxy(t, "minio", m.Endpoint)
	u.Host = w.pgProxy.Addr()
	if w.db, err = pgxpool.New(ctx, direct); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.db.Close)

	w.setup, err = app.NewDevSetup(filepath.Join(w.dir, "setup"), app.DevServers{
		DatabaseURL: u.String(), BlobEndpoint: w.s3Proxy.Addr(), BlobAccess: m.AccessKey, BlobSecret: m.SecretKey,
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	listen := freeAddr(t)
	w.base = "http://" + listen
	w.clock = filepath.Join(w.dir, "clock")
	w.setClock(0)
	w.bids, w.archive = devenv.BucketName(t), devenv.BucketName(t)
	w.env = append(environWithout("KAIPING_"),
		envChildConfig+"="+w.setup.ConfigPath,
		envChildClock+"="+w.clock,
		"KAIPING_LISTEN="+listen,
		"KAIPING_PUBLIC_URL="+w.base,
		"KAIPING_BLOB_BIDS_BUCKET="+w.bids,
		"KAIPING_BLOB_ARCHIVE_BUCKET="+w.archive,
	)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	w.kp, err = devenv.StartChild(ctx, "kaiping", filepath.Join(w.dir, "kaiping.log"), w.ready, w.env, self)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.kp.Stop()
		// kaiping runs race-instrumented when the suite does: a race it found is in its log,
		// and a killed process never gets to exit with the race detector's status.
		if log, err := os.ReadFile(filepath.Join(w.dir, "kaiping.log")); err == nil && bytes.Contains(log, []byte("WARNING: DATA RACE")) {
			t.Errorf("kaiping reported a data race; its log: %s", filepath.Join(w.dir, "kaiping.log"))
		}
		if t.Failed() || os.Getenv("KAIPING_FAULTS_LOG") != "" {
			t.Logf("kaiping's log ends:\n%s", w.kp.LogTail(20000))
		}
	})

	w.admin = w.login(w.setup.Admin)
	w.hostCert = w.register(devpki.SM2, "开标主持人", kaiping.RoleHost)
	w.host = w.login(w.hostCert)
	w.deadline = w.now().Add(20 * time.Minute).Truncate(time.Second)
	tender := opening.Tender{
		Code: "KP-FAULT-001", Title: "某市第一中学教学楼建设工程施工", Tenderer: "某市第一中学",
		Deadline: w.deadline, Plan: opening.SingleEnvelope, CheckInMinutes: 1,
		SummaryFields: []opening.SummaryField{
			{Key: "price", Label: "投标报价（元）", Type: opening.FieldMoney, Required: true},
			{Key: "duration", Label: "工期（日历天）", Type: opening.FieldDays, Required: true},
		},
		Sections: []opening.Section{{Code: "BD1", Name: "一标段：土建"}},
	}
	w.do(w.host, http.MethodPost, "/api/v1/tenders", tender, &w.tender)
	w.section = w.tender.Sections[0]
	var me kaiping.Principal
	w.do(w.host, http.MethodGet, "/api/v1/me", nil, &me)
	w.do(w.login(w.setup.Admin), http.MethodPost, "/api/v1/tenders/"+string(w.tender.ID)+"/staff",
		opening.AssignRequest{Principal: me.ID, Duty: kaiping.DutyHost}, nil)
	algs := []devpki.Algorithm{devpki.SM2, devpki.ECDSA, devpki.RSA}
	for i := range o.bidders {
		b := &bidderT{name: bidderNames[i]}
		b.cert = w.register(algs[i%3], b.name, kaiping.RoleBidder)
		b.c = w.login(b.cert)
		var me kaiping.Principal
		w.do(b.c, http.MethodGet, "/api/v1/me", nil, &me)
		b.id = me.ID
		w.do(b.c, http.MethodPost, w.sectionPath("/registrations"), opening.RegisterRequest{Certificate: identity.Fingerprint(b.cert.Cert.Raw)}, nil)
		b.file = w.seal(b, fmt.Appendf(nil, `{"price":"%d.50","duration":%d}`, 12000000+i*100000, 300+i))
		w.bidders = append(w.bidders, b)
	}
	return w
}

// in is the world seen from subtest t: the same servers, tender and bidders, with failures
// reported to t.
func (w *world) in(t *testing.T) *world {
	c := *w
	c.t = t
	return &c
}

// environWithout is this process's environment without the variables starting with
// prefix: a developer's own KAIPING_* settings must not reach the server under test.
func environWithout(prefix string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) || strings.HasPrefix(kv, "KAIPING_CACHE=") {
			env = append(env, kv)
		}
	}
	return env
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// ready is kaiping answering HTTP.
func (w *world) ready(ctx context.Context) error { return devenv.HTTPOK(ctx, w.base+"/healthz") }

// setClock moves kaiping's clock to the wall clock plus offset (written whole, then renamed,
// so that the server never reads half a number).
func (w *world) setClock(offset time.Duration) {
	w.t.Helper()
	w.offset = offset
	tmp := w.clock + ".new"
	if err := os.WriteFile(tmp, []byte(strconv.FormatInt(int64(offset), 10)), 0o600); err != nil {
		w.t.Fatal(err)
	}
	if err := os.Rename(tmp, w.clock); err != nil {
		w.t.Fatal(err)
	}
}

// now is kaiping's time.
func (w *world) now() time.Time { return time.Now().Add(w.offset) }

// jumpTo moves kaiping's clock to at (never back) and renews every session, which last 30
// minutes of that clock.
func (w *world) jumpTo(at time.Time) {
	w.t.Helper()
	if d := time.Until(at); d > w.offset {
		w.setClock(d)
	}
	w.relogin()
}

func (w *world) relogin() {
	w.t.Helper()
	w.admin = w.login(w.setup.Admin)
	w.host = w.login(w.hostCert)
	for _, b := range w.bidders {
		b.c = w.login(b.cert)
	}
}

// kill kills kaiping with SIGKILL.
func (w *world) kill() {
	w.t.Helper()
	w.kp.Kill()
	w.t.Logf("kaiping killed (SIGKILL) at %s", time.Now().Format("15:04:05.000"))
}

// restart starts kaiping again on the same configuration, port and clock.
func (w *world) restart() {
	w.t.Helper()
	if err := w.kp.Start(context.Background()); err != nil {
		w.t.Fatalf("restart kaiping: %v", err)
	}
}

func (w *world) login(who *devpki.Issued) *apiclient.Client { return w.loginAt(w.base, who) }

// loginAt logs who in at base (kaiping, or a proxy in front of it).
func (w *world) loginAt(base string, who *devpki.Issued) *apiclient.Client {
	w.t.Helper()
	c := apiclient.New(base)
	if _, err := c.Login(context.Background(), who.CertPEM(), who.Key); err != nil {
		w.t.Fatalf("login %s: %v", who.Cert.Subject.CommonName, err)
	}
	return c
}

func (w *world) register(alg devpki.Algorithm, name string, roles ...kaiping.Role) *devpki.Issued {
	w.t.Helper()
	now := time.Now()
	cert, err := w.setup.CA.Issue(alg, name, "测试单位", now.Add(-time.Hour), now.AddDate(1, 0, 0))
	if err != nil {
		w.t.Fatal(err)
	}
	w.do(w.admin, http.MethodPost, "/api/v1/principals",
		identity.NewPrincipal{Name: name, Roles: roles, Certificate: string(cert.CertPEM())}, nil)
	return cert
}

// do makes an API call that must succeed.
func (w *world) do(c *apiclient.Client, method, path string, in, out any) {
	w.t.Helper()
	if err := c.Do(context.Background(), method, path, in, out); err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
}

func (w *world) sectionPath(rest string) string {
	return "/api/v1/tenders/" + string(w.tender.ID) + "/sections/BD1" + rest
}

func (w *world) hallPath(rest string) string { return w.sectionPath("/hall" + rest) }

// seal seals plain as b's summary, to b's certificate.
func (w *world) seal(b *bidderT, plain []byte) []byte {
	w.t.Helper()
	r, err := seal.NewCertRecipient(b.cert.Cert)
	if err != nil {
		w.t.Fatal(err)
	}
	var out bytes.Buffer
	binding := seal.Binding{Tender: w.tender.ID, Section: w.section.ID, Bidder: b.id, Kind: seal.Summary}
	if _, err := seal.Seal(&out, bytes.NewReader(plain), binding, []seal.Recipient{r}); err != nil {
		w.t.Fatal(err)
	}
	return out.Bytes()
}

// digest checks b's sealed file as the bidder's tool does before any byte leaves (every
// chunk opened with b's own key) and returns what it declares.
func (w *world) digest(b *bidderT) bidder.FileDigest {
	w.t.Helper()
	id, err := seal.NewCertIdentity(b.cert.Cert, b.cert.Key)
	if err != nil {
		w.t.Fatal(err)
	}
	d, err := bidder.Check(bytes.NewReader(b.file), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return d
}

// submit submits b's sealed summary; the receipt is kept.
func (w *world) submit(b *bidderT) {
	w.t.Helper()
	rc, err := bidder.NewSubmitter(b.c).Submit(context.Background(), string(w.tender.ID), "BD1", "summary", bytes.NewReader(b.file), w.digest(b))
	if err != nil {
		w.t.Fatalf("%s submits: %v", b.name, err)
	}
	b.receipts = append(b.receipts, rc)
}

// resume finishes upload id as the bidder's tool does after a crash, keeping the receipt.
// Like the tool, it tries again for a while when the platform answers that it failed (5xx)
// or cannot be reached: the platform's trouble must not cost the bidder the bid.
func (w *world) resume(b *bidderT, id kaiping.ID) {
	w.t.Helper()
	var rc opening.Receipt
	w.retrying(b.name+" resumes upload "+string(id)+" after the fault", func() error {
		var err error
		rc, err = bidder.NewSubmitter(b.c).Resume(context.Background(), string(id), bytes.NewReader(b.file), w.digest(b))
		return err
	})
	b.receipts = append(b.receipts, rc)
}

// retrying runs do until it succeeds, retrying for up to 40 seconds (longer than any outage
// the suite makes) while it fails with a platform error (5xx) or a connection error; any
// other refusal fails the test at once.
func (w *world) retrying(what string, do func() error) {
	w.t.Helper()
	end := time.Now().Add(40 * time.Second)
	for {
		err := do()
		if err == nil {
			return
		}
		var ae *apiclient.Error
		transient := !errors.As(err, &ae) || ae.Status >= 500
		if !transient || time.Now().After(end) {
			w.t.Fatalf("%s: %v", what, err)
		}
		w.t.Logf("%s: %v (trying again)", what, err)
		time.Sleep(250 * time.Millisecond)
	}
}

// settle is how long the suite waits for what the platform does on its own (seal the set,
// verify a key, publish, archive, store a recording): long, because `make test` runs it on
// a loaded machine beside other packages; a case that passes waits far less.
const settle = 60 * time.Second

// sealedBy is how long after the deadline the bid set is sealed at the latest when no
// completion is under way (opening.SealSettle), and a second for the sealer to look.
const sealedBy = opening.SealSettle + time.Second

// sealSet moves kaiping's clock past the deadline and the time the sealing may wait, and
// waits until the bid set is sealed.
func (w *world) sealSet() opening.BidSet {
	w.t.Helper()
	w.jumpTo(w.deadline.Add(sealedBy))
	began := time.Now()
	defer func() { w.t.Logf("bid set sealed %s after the settle", time.Since(began).Round(time.Millisecond)) }()
	var set opening.BidSet
	w.eventually("the bid set is sealed", settle, func() error {
		return w.host.Do(context.Background(), http.MethodGet, w.sectionPath("/bid-set"), nil, &set)
	})
	return set
}

// eventually polls cond until it returns nil, failing the test with its last error after
// timeout.
func (w *world) eventually(what string, timeout time.Duration, cond func() error) {
	w.t.Helper()
	end := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(end) {
			w.t.Fatalf("%s: still not after %s: %v", what, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkBidSet: the sealed set holds exactly the envelopes the bidders hold receipts for
// (the last receipted version of each): nothing receipted lost, nothing unreceipted counted.
func (w *world) checkBidSet(set opening.BidSet) {
	w.t.Helper()
	var digests []string
	for _, b := range w.bidders {
		if len(b.receipts) == 0 {
			continue
		}
		last := b.receipts[len(b.receipts)-1]
		for _, e := range last.Envelopes {
			digests = append(digests, e.SHA256)
		}
	}
	if set.Digest != opening.BidSetDigest(digests) || set.Envelopes != len(digests) {
		w.t.Errorf("sealed bid set %d envelopes %v, want exactly the %d receipted %v", set.Envelopes, set.Digests, len(digests), digests)
	}
	var rows int
	if err := w.db.QueryRow(context.Background(), `SELECT count(*) FROM bid_envelopes
		WHERE section_id = $1 AND superseded_at IS NULL AND withdrawn_at IS NULL`, w.section.ID).Scan(&rows); err != nil || rows != len(digests) {
		w.t.Errorf("%d current envelope rows, %v; want the %d receipted", rows, err, len(digests))
	}
}

// verifyLedger runs `kaiping ledger verify` on kaiping's configuration, as an operator
// would.
func (w *world) verifyLedger() {
	w.t.Helper()
	cmd := exec.Command(kaipingBinary(w.t), "ledger", "verify", "--config", w.setup.ConfigPath)
	cmd.Env = w.env
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ledger OK") {
		w.t.Errorf("kaiping ledger verify: %v\n%s", err, out)
	}
}

// verifier checks signatures with the platform's public key, as a bidder does.
func (w *world) verifier() ledger.Verifier {
	w.t.Helper()
	pk, err := w.setup.LedgerPublicKey()
	if err != nil {
		w.t.Fatal(err)
	}
	v, err := ledger.ParseVerifier(pk)
	if err != nil {
		w.t.Fatal(err)
	}
	return v
}

// apiCode is the stable code of an API error, or "".
func apiCode(err error) string {
	var ae *apiclient.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// jsonString is v as JSON, for messages.
func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
