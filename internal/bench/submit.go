package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/cmd/kaiping/app"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/identity/devpki"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/internal/iox"
	"github.com/kaiping/kaiping/internal/sim"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

// putAnchor names the anchor of the submission figures.
const putAnchor = "minio-go PutObject, default options"

// secretEnv carries the MinIO secret to the PutObject child, out of its command line.
const secretEnv = "KAIPING_BENCH_S3_SECRET"

func benchSubmitCommand() *cli.Command {
	return &cli.Command{
		Name:   "submit",
		Usage:  "submit a sealed file through the whole product path against a plain PutObject of the same bytes",
		Flags:  append(benchFlags("1GiB"), profileFlag()),
		Action: benchSubmit,
	}
}

// benchServers are PostgreSQL, MinIO and a kaiping server on loopback.
type benchServers struct {
	minio *devenv.MinIO
	setup *app.DevSetup
	app   *app.App
	base  string
}

// startBenchServers starts the servers under dir, the app with opts; stop stops whatever
// started, also after an error.
func startBenchServers(ctx context.Context, dir string, opts ...app.Option) (srv *benchServers, stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	pg, err := devenv.StartPostgres(ctx, filepath.Join(dir, "pg"))
	if err != nil {
		return nil, stop, err
	}
	stops = append(stops, pg.Stop)
	if err := pg.CreateDatabase(ctx, "kaiping"); err != nil {
		return nil, stop, err
	}
	m, err := devenv.StartMinIO(ctx, filepath.Join(dir, "minio"))
	if err != nil {
		return nil, stop, err
	}
	stops = append(stops, m.Stop)
	setup, err := app.NewDevSetup(filepath.Join(dir, "kaiping"), app.DevServers{
		DatabaseURL: pg.URL("kaiping"), BlobEndpoint: m.Endpoint, BlobAccess: m.AccessKey, BlobSecret: m.SecretKey,
	}, time.Now())
	if err != nil {
		return nil, stop, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, stop, err
	}
	base := "http://" + ln.Addr().String()
	setup.Config.PublicURL = base
	quiet := app.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	a, err := app.New(ctx, setup.Config, append([]app.Option{quiet}, opts...)...)
	if err != nil {
		ln.Close()
		return nil, stop, err
	}
	go func() { _ = a.Serve(ln) }()
	stops = append(stops, func() {
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Shutdown(shutdown)
	})
	if err := sim.WaitReady(ctx, base); err != nil {
		return nil, stop, err
	}
	return &benchServers{minio: m, setup: setup, app: a, base: base}, stop, nil
}

// submitWorld is a tender open for submissions, with a rescue plan, and a registered
// bidder whose certificate and key are in files for the children to log in with.
type submitWorld struct {
	tender   opening.Tender
	binding  seal.Binding
	bidder   *sim.Party
	certFile string
	keyFile  string
}

// newSubmitWorld registers a host, three supervisors and a bidder (as the demo does), has the
// host create a tender whose rescue key is split 2-of-3 among the supervisors and which takes
// envelopes of maxEnvelope bytes, and registers the bidder for its section.
func newSubmitWorld(ctx context.Context, srv *benchServers, dir string, maxEnvelope int64) (*submitWorld, error) {
	admin := apiclient.New(srv.base)
	if _, err := admin.Login(ctx, srv.setup.Admin.CertPEM(), srv.setup.Admin.Key); err != nil {
		return nil, fmt.Errorf("admin login: %w", err)
	}
	party := func(alg devpki.Algorithm, name string, role kaiping.Role) (*sim.Party, error) {
		return sim.NewParty(ctx, srv.base, dir, srv.setup, admin, alg, name, role)
	}
	host, err := party(devpki.SM2, "性能测试主持人", kaiping.RoleHost)
	if err != nil {
		return nil, err
	}
	var holders []kaiping.ID
	for _, name := range []string{"性能测试监督员甲", "性能测试监督员乙", "性能测试监督员丙"} {
		sup, err := party(devpki.SM2, name, kaiping.RoleSupervisor)
		if err != nil {
			return nil, err
		}
		holders = append(holders, sup.ID)
	}
	// A P-256 certificate, so that the envelope's bidder stanza is the P-256 one.
	b, err := party(devpki.ECDSA, "性能测试投标人", kaiping.RoleBidder)
	if err != nil {
		return nil, err
	}
	var t opening.Tender
	err = host.Client.Do(ctx, http.MethodPost, "/api/v1/tenders", opening.Tender{
		Code: "BENCH-" + string(kaiping.NewID())[:8], Title: "性能测试：大文件投标", Tenderer: "性能测试招标人",
		Deadline: time.Now().Add(6 * time.Hour), Plan: opening.SingleEnvelope, Suite: string(seal.AES256GCM),
		SummaryFields:    []opening.SummaryField{{Key: "price", Label: "投标报价（元）", Type: opening.FieldMoney, Required: true}},
		MaxEnvelopeBytes: min(max(maxEnvelope, 1<<20), opening.MaxEnvelopeBytesCap),
		Rescue:           opening.RescuePolicy{Enabled: true, Threshold: 2, Holders: holders},
		Sections:         []opening.Section{{Code: "BD1", Name: "一标段"}},
	}, &t)
	if err != nil {
		return nil, fmt.Errorf("create tender: %w", err)
	}
	err = b.Client.Do(ctx, http.MethodPost, "/api/v1/tenders/"+string(t.ID)+"/sections/BD1/registrations",
		opening.RegisterRequest{Certificate: identity.Fingerprint(b.Cert.Cert.Raw)}, nil)
	if err != nil {
		return nil, fmt.Errorf("register for the section: %w", err)
	}
	stem := filepath.Join(dir, string(b.ID))
	return &submitWorld{
		tender:  t,
		binding: seal.Binding{Tender: t.ID, Section: t.Sections[0].ID, Bidder: b.ID, Kind: seal.Technical},
		bidder:  b, certFile: stem + ".cert.pem", keyFile: stem + ".key.pem",
	}, nil
}

// sealFile seals plain into path as the bidder's tool would: to the bidder's certificate
// and the tender's rescue key.
func (w *submitWorld) sealFile(plain, path string) (*seal.Sealed, error) {
	to, err := bidder.Recipients(w.tender, w.bidder.Cert.Cert)
	if err != nil {
		return nil, err
	}
	in, err := os.Open(plain)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	out, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	s, err := seal.Seal(out, in, w.binding, to, seal.WithDigest())
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return s, err
}

func benchSubmit(ctx context.Context, cmd *cli.Command) error {
	b, cleanup, err := newBenchSetup(cmd)
	if err != nil {
		return err
	}
	defer cleanup()
	srv, stop, err := startBenchServers(ctx, b.dir)
	if err != nil {
		return err
	}
	defer stop()
	w, err := newSubmitWorld(ctx, srv, b.dir, 2*b.size)
	if err != nil {
		return err
	}
	plain, file := b.path("plain.bin"), b.path("bid.kpseal")
	if err := writeRandomFile(ctx, plain, b.size); err != nil {
		return err
	}
	sealed, err := w.sealFile(plain, file)
	if err != nil {
		return err
	}
	if err := os.Remove(plain); err != nil {
		return err
	}
	mc, err := srv.minio.Client()
	if err != nil {
		return err
	}
	bucket := srv.setup.Config.Blob.BidsBucket
	submitArgs := []string{"submit", "--base", srv.base, "--cert", w.certFile, "--key", w.keyFile,
		"--tender", string(w.tender.ID), "--section", "BD1", "--kind", string(w.binding.Kind), "--file", file}
	sides := []benchSide{
		{name: "submit", args: submitArgs},
		{name: "put", env: []string{secretEnv + "=" + srv.minio.SecretKey}, args: []string{"put", "--endpoint", srv.minio.Endpoint,
			"--access", srv.minio.AccessKey, "--bucket", bucket, "--key", "bench/raw.kpseal", "--file", file}},
	}
	profileSides(cmd.String("profile"), sides)
	serverProfile := ""
	if dir := cmd.String("profile"); dir != "" {
		serverProfile = filepath.Join(dir, "server")
	}
	stopProfile, err := startProfile(serverProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	// After each anchor run, read its object back as the server's completion reads every
	// envelope: with SHA-256 alone, with the ciphertext screen beside it (this AES tender),
	// and with SM3 and the screen (what a national-mode tender costs).
	readBack := map[readBackWork][]float64{}
	got, err := runAlternating(ctx, b.runs, sides, func(sd benchSide, s benchSample) error {
		if sd.name != "put" {
			return nil
		}
		version := s.Extra["version_id"]
		for _, work := range []readBackWork{{}, {screen: true}, {sm3: true, screen: true}} {
			secs, err := readBackSeconds(ctx, mc, bucket, "bench/raw.kpseal", version, sealed.SHA256, work)
			if err != nil {
				return err
			}
			readBack[work] = append(readBack[work], secs)
		}
		return mc.RemoveObject(ctx, bucket, "bench/raw.kpseal", minio.RemoveObjectOptions{VersionID: version})
	})
	if err != nil {
		return err
	}
	sub, put := got["submit"], got["put"]
	size := float64(sealed.Size)
	seconds := func(s benchSample) float64 { return s.Seconds }
	r := b.result("Submit a sealed bid file", fmt.Sprintf("Both sides upload the same sealed file (%d bytes: the %s plaintext sealed to the bidder's P-256 certificate and the tender's rescue key, split 2-of-3) from disk to the same bucket (Object Lock, versioned) of one local MinIO. "+
		"Ours is clients/bidder.Submitter.Submit with its defaults (16 MiB parts, 4 in flight, on presigned URLs) through a kaiping server in the benchmark's process: start the upload, PUT the parts, complete (the server completes the multipart upload, reads the whole object back to check its size and SHA-256 (the tender is AES; SM3 is checked only in national mode) and, in the same read, that every chunk is ciphertext, parses the header and checks both recipients, locks the version, writes the bid and its ledger entry, signs the receipt). "+
		"The anchor is one minio-go PutObject of the same file. Timed from the first request to the receipt (ours) or PutObject's return (anchor); logging in is not timed, nor, in the first figure, bidder.Check before Submit.",
		sealed.Size, formatSize(b.size)))
	r.Figures = []benchFigure{
		newFigure("submit", "MB/s", putAnchor, "median", sampleValues(sub, benchSample.MBps), sampleValues(put, benchSample.MBps), &benchGoal{MinRatio: 0.8}),
		newFigure("bidder.Check + submit, as `kaiping bid submit` does", "MB/s", putAnchor, "median",
			sampleValues(sub, func(s benchSample) float64 { return size / (s.Seconds + s.Phases["check"]) / 1e6 }), sampleValues(put, benchSample.MBps), nil),
		newFigure("submit: parts upload phase only", "MB/s", putAnchor, "median",
			sampleValues(sub, func(s benchSample) float64 { return size / s.Phases["upload"] / 1e6 }), sampleValues(put, benchSample.MBps), nil),
		newFigure("peak memory, submit", "MiB", putAnchor, "max", sampleValues(sub, benchSample.PeakMiB), sampleValues(put, benchSample.PeakMiB), &benchGoal{Below: 64}),
	}
	r.Notes = []string{
		fmt.Sprintf("Where our time goes (medians): start the upload and PUT the parts %.2f s; complete on the server %.2f s; total %.2f s against PutObject's %.2f s.",
			medianPhase(sub, "upload"), medianPhase(sub, "complete"), medianOf(sampleValues(sub, seconds)), medianOf(sampleValues(put, seconds))),
		fmt.Sprintf("The completion reads the whole object back (GetObject of the same bytes, medians): hashed with SHA-256 alone %.2f s (%.0f MB/s); with the ciphertext screen beside it on another core, as for this AES tender, %.2f s (%.0f MB/s); with SM3 and the screen too (a national-mode tender) %.2f s (%.0f MB/s).",
			medianOf(readBack[readBackWork{}]), size/medianOf(readBack[readBackWork{}])/1e6,
			medianOf(readBack[readBackWork{screen: true}]), size/medianOf(readBack[readBackWork{screen: true}])/1e6,
			medianOf(readBack[readBackWork{sm3: true, screen: true}]), size/medianOf(readBack[readBackWork{sm3: true, screen: true}])/1e6),
		fmt.Sprintf("bidder.Check (before Submit: the header parsed, the file key unwrapped with the bidder's key, every chunk opened, and the SHA-256 hashed in the same read; SM3 too in national mode): %.2f s, %.0f MB/s.",
			medianPhase(sub, "check"), size/medianPhase(sub, "check")/1e6),
		fmt.Sprintf("ru_maxrss of the children (KiB; on Linux it also counts the spawning process's peak, here the benchmark holding the kaiping server): submit %s; PutObject %s.",
			joinFloats(maxRSS(sub)), joinFloats(maxRSS(put))),
	}
	return emitResult(cmd, r)
}

// readBackWork says what a read-back computes beside the SHA-256.
type readBackWork struct{ sm3, screen bool }

// readBackSeconds times reading a stored version whole and checking it as the server's
// completion does (on two goroutines, as bidObjects.ReadBack), and checks the SHA-256 against
// want and, with the screen, that the file passes it.
func readBackSeconds(ctx context.Context, mc *minio.Client, bucket, key, version, want string, work readBackWork) (float64, error) {
	return timeIt(func() error {
		obj, err := mc.GetObject(ctx, bucket, key, minio.GetObjectOptions{VersionID: version})
		if err != nil {
			return err
		}
		defer obj.Close()
		sha, screen := sha256.New(), seal.NewScreen()
		var sums io.Writer = sha
		switch {
		case work.sm3 && work.screen:
			sums = iox.ParallelWriter(sm3.New(), io.MultiWriter(sha, screen))
		case work.sm3:
			sums = iox.ParallelWriter(sha, sm3.New())
		case work.screen:
			sums = iox.ParallelWriter(sha, screen)
		}
		if _, err := io.CopyBuffer(sums, obj, make([]byte, 1<<20)); err != nil {
			return err
		}
		if got := hex.EncodeToString(sha.Sum(nil)); got != want {
			return fmt.Errorf("read back %s, sealed %s", got, want)
		}
		if work.screen {
			return screen.Payload()
		}
		return nil
	})
}

func submitChildCommand() *cli.Command {
	return &cli.Command{
		Name: "submit",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "base", Required: true}, &cli.StringFlag{Name: "cert", Required: true},
			&cli.StringFlag{Name: "key", Required: true}, &cli.StringFlag{Name: "tender", Required: true},
			&cli.StringFlag{Name: "section", Required: true}, &cli.StringFlag{Name: "kind", Required: true},
			&cli.StringFlag{Name: "file", Required: true},
		},
		Action: childAction(func(ctx context.Context, cmd *cli.Command) error {
			certPEM, err := os.ReadFile(cmd.String("cert"))
			if err != nil {
				return err
			}
			keyPEM, err := os.ReadFile(cmd.String("key"))
			if err != nil {
				return err
			}
			key, err := devpki.ParseKeyPEM(keyPEM)
			if err != nil {
				return err
			}
			api := apiclient.New(cmd.String("base"))
			if _, err := api.Login(ctx, certPEM, key); err != nil {
				return err
			}
			f, err := os.Open(cmd.String("file"))
			if err != nil {
				return err
			}
			defer f.Close()
			leaf, err := bidder.LeafCertificate(certPEM)
			if err != nil {
				return err
			}
			id, err := seal.NewCertIdentity(leaf, key)
			if err != nil {
				return err
			}
			var d bidder.FileDigest
			checkSecs, err := timeIt(func() (err error) { d, err = bidder.Check(f, id); return err })
			if err != nil {
				return err
			}
			s := bidder.NewSubmitter(api)
			var partsDone time.Time
			s.OnPartDone = func(done, total int) {
				if done == total {
					partsDone = time.Now()
				}
			}
			start := time.Now()
			rc, err := s.Submit(ctx, cmd.String("tender"), cmd.String("section"), cmd.String("kind"), f, d)
			end := time.Now()
			if err != nil {
				return err
			}
			if len(rc.Envelopes) != 1 || rc.Envelopes[0].SHA256 != d.SHA256 || rc.Envelopes[0].Size != d.Size {
				return fmt.Errorf("receipt %+v does not name the file submitted (%d bytes, %s)", rc.Envelopes, d.Size, d.SHA256)
			}
			return finishChild(childReport{Bytes: d.Size, Seconds: end.Sub(start).Seconds(), Phases: map[string]float64{
				"check": checkSecs, "upload": partsDone.Sub(start).Seconds(), "complete": end.Sub(partsDone).Seconds(),
			}})
		}),
	}
}

func putChildCommand() *cli.Command {
	return &cli.Command{
		Name: "put",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "endpoint", Required: true}, &cli.StringFlag{Name: "access", Required: true},
			&cli.StringFlag{Name: "bucket", Required: true}, &cli.StringFlag{Name: "key", Required: true},
			&cli.StringFlag{Name: "file", Required: true},
		},
		Action: childAction(func(ctx context.Context, cmd *cli.Command) error {
			c, err := minio.New(cmd.String("endpoint"), &minio.Options{
				Creds: credentials.NewStaticV4(cmd.String("access"), os.Getenv(secretEnv), ""),
			})
			if err != nil {
				return err
			}
			f, err := os.Open(cmd.String("file"))
			if err != nil {
				return err
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				return err
			}
			var info minio.UploadInfo
			secs, err := timeIt(func() (err error) {
				info, err = c.PutObject(ctx, cmd.String("bucket"), cmd.String("key"), f, st.Size(), minio.PutObjectOptions{})
				return err
			})
			if err != nil {
				return err
			}
			return finishChild(childReport{Bytes: info.Size, Seconds: secs, Extra: map[string]string{"version_id": info.VersionID}})
		}),
	}
}
