package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

func bidUnlockCommand() *cli.Command {
	return &cli.Command{
		Name: "unlock",
		Usage: "开标时签到并解密本人的投标文件：在本机用证书私钥解出文件密钥后提交，显示排队与验证进度 " +
			"check in and decrypt your bid at the opening: file keys are unwrapped on this machine",
		Flags: append(serverFlags(), tenderFlag, sectionFlag,
			&cli.BoolFlag{Name: "wait", Usage: "等待主持人开启解密 wait until the host opens the decrypt window"},
			&cli.DurationFlag{Name: "poll", Value: 2 * time.Second, Usage: "查询进度的间隔 how often to ask for progress"},
			&cli.DurationFlag{Name: "timeout", Value: 30 * time.Minute, Usage: "最长等待时间 give up after"},
		),
		Action: bidUnlock,
	}
}

// bidUnlock checks in, fetches the bidder's own envelope headers, unwraps each file key with
// the certificate's key (a key file or a PKCS#11 token: the key never leaves it), hands the
// file keys in and follows the verification until every envelope is decrypted.
func bidUnlock(ctx context.Context, cmd *cli.Command) error {
	ctx, cancel := context.WithTimeout(ctx, cmd.Duration("timeout"))
	defer cancel()
	s, err := login(ctx, cmd)
	if err != nil {
		return err
	}
	defer s.Close()
	leaf, err := leafCertificate(s.cert)
	if err != nil {
		return err
	}
	id, err := seal.NewCertIdentity(leaf, s.key)
	if err != nil {
		return err
	}
	u := unlocker{api: s.api, path: sectionPath(cmd, "/hall"), poll: cmd.Duration("poll")}
	if cmd.Bool("wait") {
		if err := u.waitForWindow(ctx); err != nil {
			return err
		}
	}
	if err := s.api.Do(ctx, http.MethodPost, u.path+"/checkins", nil, nil); err != nil {
		return fmt.Errorf("签到失败 check-in: %w", err)
	}
	fmt.Println("已签到 (checked in)")
	var envs struct{ Envelopes []opening.EnvelopeHeader }
	if err := s.api.Do(ctx, http.MethodGet, u.path+"/envelopes", nil, &envs); err != nil {
		return err
	}
	for _, e := range envs.Envelopes {
		if e.State != opening.EnvSealed && e.State != opening.EnvError {
			continue
		}
		hdr, _, err := seal.ParseHeader(bytes.NewReader(e.Header))
		if err != nil {
			return fmt.Errorf("%s 的文件头无法解析: %w", kindLabel(e.Kind), err)
		}
		key, err := hdr.UnwrapFileKey(id)
		if err != nil {
			return fmt.Errorf("无法用本证书私钥解出%s的文件密钥: %w", kindLabel(e.Kind), err)
		}
		err = u.handIn(ctx, e, key)
		clear(key)
		if err != nil {
			return err
		}
	}
	return u.follow(ctx)
}

// unlocker talks to one section's hall.
type unlocker struct {
	api  *apiclient.Client
	path string
	poll time.Duration
}

// handIn posts one file key, waiting and trying again while the queue is full.
func (u unlocker) handIn(ctx context.Context, e opening.EnvelopeHeader, key []byte) error {
	for {
		var st opening.UnlockStatus
		err := u.api.Do(ctx, http.MethodPost, u.path+"/unlocks", opening.UnlockRequest{Envelope: e.Envelope, FileKey: key}, &st)
		var ae *apiclient.Error
		switch {
		case err == nil:
			fmt.Printf("%s：密钥已提交 (key handed in)\n", kindLabel(e.Kind))
			return nil
		case errors.As(err, &ae) && (ae.Code == "hall.already_queued" || ae.Code == "hall.already_decrypted"):
			return nil
		case errors.As(err, &ae) && ae.Code == "hall.busy":
			fmt.Printf("%s：%s\n", kindLabel(e.Kind), ae.Message)
			if err := sleep(ctx, u.poll); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s：%w", kindLabel(e.Kind), err)
		}
	}
}

// waitForWindow polls the hall until the decrypt window is open.
func (u unlocker) waitForWindow(ctx context.Context) error {
	for shown := opening.HallState(""); ; {
		var v opening.BidderHallView
		if err := u.api.Do(ctx, http.MethodGet, u.path, nil, &v); err != nil {
			return err
		}
		switch v.State {
		case opening.HallCheckingIn, opening.HallSealed, opening.HallBidding:
			if v.State != shown {
				fmt.Printf("开标大厅：%s，等待主持人开启解密…\n", v.StateLabel)
				shown = v.State
			}
		default:
			return nil
		}
		if err := sleep(ctx, u.poll); err != nil {
			return err
		}
	}
}

// follow shows each envelope's place in line and state until none is being verified; an
// envelope that ends corrupt or in error fails the command.
func (u unlocker) follow(ctx context.Context) error {
	last := map[string]string{}
	for {
		var v opening.BidderHallView
		if err := u.api.Do(ctx, http.MethodGet, u.path, nil, &v); err != nil {
			return err
		}
		pending, failed := 0, 0
		for _, e := range v.Envelopes {
			line := progressLine(e)
			if last[string(e.Envelope)] != line {
				fmt.Printf("%s：%s\n", kindLabel(e.Kind), line)
				last[string(e.Envelope)] = line
			}
			switch e.State {
			case opening.EnvQueued, opening.EnvVerifying:
				pending++
			case opening.EnvCorrupt, opening.EnvError:
				failed++
			}
		}
		switch {
		case pending > 0:
		case failed > 0:
			return fmt.Errorf("%d 份投标文件未能解密", failed)
		default:
			fmt.Println("全部投标文件已解密 (all envelopes decrypted)")
			return nil
		}
		if err := sleep(ctx, u.poll); err != nil {
			return err
		}
	}
}

func progressLine(e opening.UnlockStatus) string {
	switch e.State {
	case opening.EnvQueued:
		if e.Waiting != "" {
			return e.Waiting
		}
		if e.Position > 0 {
			return fmt.Sprintf("排队等待验证，第 %d 位", e.Position)
		}
		return "排队等待验证"
	case opening.EnvVerifying:
		return "正在逐块验证"
	case opening.EnvDecrypted:
		return "已解密"
	case opening.EnvCorrupt:
		return "文件损坏，无法解密（" + e.ErrorCode + "）"
	case opening.EnvError:
		return "平台验证出错，将自动重新验证"
	}
	return "未解密"
}

func kindLabel(kind string) string { return seal.EnvelopeKind(kind).Label() }

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
