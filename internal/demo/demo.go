// Package demo is `kaiping demo`: a walk through the platform on real loopback servers, for
// a person to watch and for `make demo`. Each part (bids, evaluation, opening) drives the
// server only through its HTTP API and the clients' own packages, as the tools would.
package demo

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/cmd/kaiping/app"
	"github.com/kaiping/kaiping/internal/devenv"
	"github.com/kaiping/kaiping/internal/sim"
)

// Options are what `kaiping demo` reads from its flags.
type Options struct {
	Dir    string // folder for the servers, keys and config; a new temporary folder if empty
	Listen string // kaiping's listen address (port 0 picks a free one)
	Exit   bool   // stop after the demonstration instead of serving until ctx is done
}

// Run starts PostgreSQL, MinIO and kaiping on loopback and walks through the demonstration,
// printing each step on stdout: sealed bids, a full online opening, an expert draw with seat
// dispatch for the opened tender, and its evaluation session up to the committee reading the
// opened bids. Unless o.Exit, it then serves until ctx is done.
func Run(ctx context.Context, o Options) error {
	dir := o.Dir
	if dir == "" {
		var err error
		if dir, err = devenv.MkdirTemp("kaiping-demo-*"); err != nil {
			return err
		}
		if o.Exit {
			defer os.RemoveAll(dir)
		}
	}
	say := func(format string, args ...any) { fmt.Printf(format+"\n", args...) }
	say("== 开评 Kaiping 演示 / demo — 工作目录 %s", dir)

	say("启动 PostgreSQL …")
	pg, err := devenv.StartPostgres(ctx, filepath.Join(dir, "pg"))
	if err != nil {
		return err
	}
	defer pg.Stop()
	if err := pg.CreateDatabase(ctx, "kaiping"); err != nil {
		return err
	}
	say("启动 MinIO …")
	minio, err := devenv.StartMinIO(ctx, filepath.Join(dir, "minio"))
	if err != nil {
		return err
	}
	defer minio.Stop()

	setup, err := app.NewDevSetup(filepath.Join(dir, "kaiping"), app.DevServers{
		DatabaseURL: pg.URL("kaiping"), BlobEndpoint: minio.Endpoint, BlobAccess: minio.AccessKey, BlobSecret: minio.SecretKey,
	}, time.Now())
	if err != nil {
		return err
	}
	setup.Config.Listen = o.Listen
	ln, err := net.Listen("tcp", setup.Config.Listen)
	if err != nil {
		return fmt.Errorf("listen %s (try --listen 127.0.0.1:0): %w", setup.Config.Listen, err)
	}
	base := "http://" + ln.Addr().String()
	setup.Config.PublicURL = base
	a, err := app.New(ctx, setup.Config)
	if err != nil {
		ln.Close()
		return err
	}
	go func() { _ = a.Serve(ln) }()
	defer func() {
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Shutdown(shutdown)
	}()
	if err := sim.WaitReady(ctx, base); err != nil {
		return err
	}
	say("kaiping 已就绪 (ready): %s/readyz", base)

	// The administrator logs in with the SM2 certificate, as a centre's staff would with
	// their CA token.
	admin := apiclient.New(base)
	sess, err := admin.Login(ctx, setup.Admin.CertPEM(), setup.Admin.Key)
	if err != nil {
		return fmt.Errorf("demo admin login: %w", err)
	}
	say("管理员以 SM2 证书登录成功：%s（会话有效至 %s）", sess.Principal.Name, kaiping.BeijingString(sess.ExpiresAt))

	say("")
	say("== 不见面开标：密封投标 / sealed bids")
	tender, err := demoBids(ctx, base, dir, setup, admin, say)
	if err != nil {
		return fmt.Errorf("demo bids: %w", err)
	}
	say("")
	say("== 不见面开标：开标大厅 / a full online opening")
	opened, err := runDemoOpening(ctx, base, dir, setup, admin, tender, say)
	if err != nil {
		return fmt.Errorf("demo opening: %w", err)
	}
	// The camera leaves before the server stops (deferred calls run last first).
	defer func() {
		if err := opened.live.Stop(); err != nil {
			say("开标直播摄像机退出：%v", err)
		}
	}()
	say("")
	say("== 远程异地评标：专家抽取与工位调度 / expert draw and seat dispatch")
	committee, err := demoEvaluation(ctx, base, dir, setup, admin, opened.tender, say)
	if err != nil {
		return fmt.Errorf("demo evaluation: %w", err)
	}
	say("")
	say("== 远程异地评标：评标会议 / the evaluation session")
	meeting, seats, err := demoSession(ctx, base, opened, committee, say)
	if err != nil {
		return fmt.Errorf("demo session: %w", err)
	}
	defer func() {
		if err := seats.Stop(); err != nil {
			say("评标工位代理退出：%v", err)
		}
	}()
	say("")
	say("== 远程异地评标：评审、澄清、评标报告与公示 / review, clarification, the signed report and the publication")
	if err := demoReview(ctx, base, opened, committee, meeting, say); err != nil {
		return fmt.Errorf("demo review: %w", err)
	}
	say("")
	say("打开以下地址 / open these URLs:")
	say("  招标项目 tender     %s/api/v1/tenders/%s（需登录 / log in first）", base, tender.ID)
	say("  平台公钥 public key %s/api/v1/ledger/public-key", base)
	say("  参与方证书与私钥    %s", filepath.Join(dir, "parties"))
	say("  健康检查 health     %s/healthz", base)
	say("  就绪检查 readiness  %s/readyz", base)
	say("  监控指标 metrics    %s/metrics", base)
	say("  配置文件 config     %s", setup.ConfigPath)
	say("  审计日志校验 verify  go run ./cmd/kaiping ledger verify --config %s", setup.ConfigPath)
	if o.Exit {
		return nil
	}
	say("")
	say("按 Ctrl-C 结束演示 / press Ctrl-C to stop.")
	<-ctx.Done()
	return nil
}
