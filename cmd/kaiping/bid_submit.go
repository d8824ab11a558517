package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping/clients/bidder"
	"github.com/kaiping/kaiping/identity"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

func bidSubmitCommand() *cli.Command {
	return &cli.Command{
		Name: "submit",
		Usage: "递交加密后的投标文件，取得回执：上传前先用本人私钥解开并逐块验证整个文件，未加密或无法解密的文件不上传任何内容；中断后再次运行即续传 " +
			"submit a sealed file and get the receipt (the whole file is opened with your key first: nothing of a file that fails is sent); run again after a crash to resume",
		Flags: append(serverFlags(), tenderFlag, sectionFlag,
			&cli.StringFlag{Name: "kind", Value: "summary", Usage: "信封 envelope: summary | technical | commercial"},
			&cli.StringFlag{Name: "file", Required: true, Usage: "加密后的文件 sealed file"},
			&cli.IntFlag{Name: "parallel", Value: 4, Usage: "并行上传的分片数 parts in flight"},
			&cli.BoolFlag{Name: "quiet", Usage: "不显示进度条 no progress bar"},
		),
		Action: bidSubmit,
	}
}

func bidSubmit(ctx context.Context, cmd *cli.Command) error {
	s, err := login(ctx, cmd)
	if err != nil {
		return err
	}
	defer s.Close()
	path := cmd.String("file")
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	leaf, err := bidder.LeafCertificate(s.cert)
	if err != nil {
		return err
	}
	id, err := seal.NewCertIdentity(leaf, s.key)
	if err != nil {
		return err
	}
	// The whole file is opened with the bidder's own key before any byte is sent.
	d, err := bidder.Check(f, id)
	if err != nil {
		return err
	}
	sub := bidder.NewSubmitter(s.api)
	sub.Parallel = cmd.Int("parallel")
	statePath, receiptPath := bidder.StatePath(path), bidder.ReceiptPath(path)
	sub.OnStarted = func(tk opening.UploadTicket) {
		if err := bidder.SaveJSON(statePath, bidder.UploadState{Upload: string(tk.Upload.ID), SHA256: d.SHA256}); err != nil {
			fmt.Fprintf(os.Stderr, "警告：无法记录上传任务以便续传: %v\n", err)
		}
	}
	if !cmd.Bool("quiet") {
		sub.OnPartDone = progress()
	}

	var rc opening.Receipt
	st, ok, err := bidder.ReadUploadState(statePath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "警告：无法读取续传记录 %s: %v\n", statePath, err)
	}
	if ok && st.SHA256 == d.SHA256 {
		fmt.Fprintf(os.Stderr, "续传上传任务 %s\n", st.Upload)
		rc, err = sub.Resume(ctx, st.Upload, f, d)
	} else {
		rc, err = sub.Submit(ctx, cmd.String("tender"), cmd.String("section"), cmd.String("kind"), f, d)
	}
	if err != nil {
		return err
	}
	os.Remove(statePath)
	if err := bidder.SaveJSON(receiptPath, rc); err != nil {
		return fmt.Errorf("投标文件已递交，但回执未能保存（请用 kaiping bid status 查询）: %w", err)
	}
	fmt.Println(bidder.String(rc))
	fmt.Printf("回执已保存：%s（可用 kaiping bid receipt verify 离线校验）\n", receiptPath)
	return nil
}

// progress returns an OnPartDone that draws a progress bar on stderr.
func progress() func(done, total int) {
	var once sync.Once
	var bar *progressbar.ProgressBar
	return func(done, total int) {
		once.Do(func() {
			bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(os.Stderr),
				progressbar.OptionSetDescription("上传分片"), progressbar.OptionShowCount(),
				progressbar.OptionOnCompletion(func() { fmt.Fprintln(os.Stderr) }))
		})
		_ = bar.Set(done)
	}
}

func bidStatusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "查询本单位在某标段的投标文件、未完成的上传和封存情况 show your own bid for a section",
		Flags: append(serverFlags(), tenderFlag, sectionFlag),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			s, err := login(ctx, cmd)
			if err != nil {
				return err
			}
			defer s.Close()
			var st opening.BidStatus
			if err := s.api.Do(ctx, http.MethodGet, sectionPath(cmd, "/bids/mine"), nil, &st); err != nil {
				return err
			}
			return printJSON(st)
		},
	}
}

func bidWithdrawCommand() *cli.Command {
	return &cli.Command{
		Name:  "withdraw",
		Usage: "在投标截止前撤回投标文件，取得回执 withdraw your bid before the deadline",
		Flags: append(serverFlags(), tenderFlag, sectionFlag,
			&cli.StringFlag{Name: "receipt", Usage: "回执保存位置 where to save the receipt"}),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			s, err := login(ctx, cmd)
			if err != nil {
				return err
			}
			defer s.Close()
			var rc opening.Receipt
			if err := s.api.Do(ctx, http.MethodPost, sectionPath(cmd, "/withdrawal"), nil, &rc); err != nil {
				return err
			}
			if p := cmd.String("receipt"); p != "" {
				if err := bidder.SaveJSON(p, rc); err != nil {
					return fmt.Errorf("已撤回，但回执未能保存: %w", err)
				}
			}
			fmt.Println(bidder.String(rc))
			return nil
		},
	}
}

func bidRegisterCommand() *cli.Command {
	return &cli.Command{
		Name:  "register",
		Usage: "投标报名：以登录证书报名某标段，投标文件将对该证书加密 register for a section with your certificate",
		Flags: append(serverFlags(), tenderFlag, sectionFlag),
		Action: func(ctx context.Context, cmd *cli.Command) error {
			s, err := login(ctx, cmd)
			if err != nil {
				return err
			}
			defer s.Close()
			leaf, err := bidder.LeafCertificate(s.cert)
			if err != nil {
				return err
			}
			var r opening.Registration
			if err := s.api.Do(ctx, http.MethodPost, sectionPath(cmd, "/registrations"),
				opening.RegisterRequest{Certificate: identity.Fingerprint(leaf.Raw)}, &r); err != nil {
				return err
			}
			fmt.Printf("已报名：项目 %s 标段 %s，证书 %s\n", r.Tender, r.Section, r.Certificate)
			return nil
		},
	}
}

func sectionPath(cmd *cli.Command, rest string) string {
	return "/api/v1/tenders/" + cmd.String("tender") + "/sections/" + cmd.String("section") + rest
}
