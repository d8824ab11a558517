package bidder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/kaiping/kaiping/clients/apiclient"
	"github.com/kaiping/kaiping/internal/iox"
	"github.com/kaiping/kaiping/opening"
	"github.com/kaiping/kaiping/opening/seal"
)

// Unlocker is the bidder's side of the decryption at the opening, on one section's hall:
// the file keys are unwrapped on this machine with the certificate's key (a key file or a
// PKCS#11 token: the key never leaves it) and only they are handed in.
type Unlocker struct {
	API  *apiclient.Client
	Hall string        // the section's hall path: /api/v1/tenders/{t}/sections/{s}/hall
	Poll time.Duration // how often to ask for progress
	Out  io.Writer     // where the progress is shown
}

// Run checks in (first waiting for the decrypt window if wait), fetches the bidder's own
// envelope headers, unwraps each file key with id, hands the file keys in and follows the
// verification until every envelope is decrypted.
func (u Unlocker) Run(ctx context.Context, id seal.Identity, wait bool) error {
	if wait {
		if err := u.waitForWindow(ctx); err != nil {
			return err
		}
	}
	if err := u.API.Do(ctx, http.MethodPost, u.Hall+"/checkins", nil, nil); err != nil {
		return fmt.Errorf("签到失败 check-in: %w", err)
	}
	fmt.Fprintln(u.Out, "已签到 (checked in)")
	var envs struct{ Envelopes []opening.EnvelopeHeader }
	if err := u.API.Do(ctx, http.MethodGet, u.Hall+"/envelopes", nil, &envs); err != nil {
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

// handIn posts one file key, waiting and trying again while the queue is full.
func (u Unlocker) handIn(ctx context.Context, e opening.EnvelopeHeader, key []byte) error {
	for {
		var st opening.UnlockStatus
		err := u.API.Do(ctx, http.MethodPost, u.Hall+"/unlocks", opening.UnlockRequest{Envelope: e.Envelope, FileKey: key}, &st)
		var ae *apiclient.Error
		switch {
		case err == nil:
			fmt.Fprintf(u.Out, "%s：密钥已提交 (key handed in)\n", kindLabel(e.Kind))
			return nil
		case errors.As(err, &ae) && (ae.Code == "hall.already_queued" || ae.Code == "hall.already_decrypted"):
			return nil
		case errors.As(err, &ae) && ae.Code == "hall.busy":
			fmt.Fprintf(u.Out, "%s：%s\n", kindLabel(e.Kind), ae.Message)
			if err := iox.Sleep(ctx, u.Poll); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s：%w", kindLabel(e.Kind), err)
		}
	}
}

// waitForWindow polls the hall until the decrypt window is open.
func (u Unlocker) waitForWindow(ctx context.Context) error {
	for shown := opening.HallState(""); ; {
		var v opening.BidderHallView
		if err := u.API.Do(ctx, http.MethodGet, u.Hall, nil, &v); err != nil {
			return err
		}
		switch v.State {
		case opening.HallCheckingIn, opening.HallSealed, opening.HallBidding:
			if v.State != shown {
				fmt.Fprintf(u.Out, "开标大厅：%s，等待主持人开启解密…\n", v.StateLabel)
				shown = v.State
			}
		default:
			return nil
		}
		if err := iox.Sleep(ctx, u.Poll); err != nil {
			return err
		}
	}
}

// follow shows each envelope's place in line and state until none is being verified; an
// envelope that ends corrupt or in error fails the command.
func (u Unlocker) follow(ctx context.Context) error {
	last := map[string]string{}
	for {
		var v opening.BidderHallView
		if err := u.API.Do(ctx, http.MethodGet, u.Hall, nil, &v); err != nil {
			return err
		}
		pending, failed := 0, 0
		for _, e := range v.Envelopes {
			line := progressLine(e)
			if last[string(e.Envelope)] != line {
				fmt.Fprintf(u.Out, "%s：%s\n", kindLabel(e.Kind), line)
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
			fmt.Fprintln(u.Out, "全部投标文件已解密 (all envelopes decrypted)")
			return nil
		}
		if err := iox.Sleep(ctx, u.Poll); err != nil {
			return err
		}
	}
}

// progressLine says where an envelope is, in words.
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

// kindLabel is an envelope kind in words.
func kindLabel(kind string) string { return seal.EnvelopeKind(kind).Label() }
