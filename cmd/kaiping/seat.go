package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping/clients/seat"
	lkseat "github.com/kaiping/kaiping/clients/seat/livekit"
	"github.com/kaiping/kaiping/signaling"
)

// seatCommand is `kaiping seat join`: the seat agent, a participant that joins a room with a
// grant, publishes audio and video from files or a synthetic source, and reports what it
// receives. Tests, the demo and the benchmarks use it as a participant.
func seatCommand() *cli.Command {
	return &cli.Command{
		Name:  "seat",
		Usage: "评标工位代理 the seat agent",
		Commands: []*cli.Command{{
			Name:  "join",
			Usage: "以入会凭证加入音视频房间，发布音视频并统计收到的媒体 join a room with a grant",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "grant", Required: true, Usage: "入会凭证（JSON，平台签发） the join grant JSON file"},
				&cli.StringFlag{Name: "video", Usage: "VP8 IVF 视频文件（默认合成画面） VP8 in IVF; default a synthetic source"},
				&cli.StringFlag{Name: "audio", Usage: "Opus Ogg 音频文件（默认静音） Opus in Ogg; default silence"},
				&cli.BoolFlag{Name: "loopback", Usage: "使用本机回环地址（演示、测试） gather loopback candidates"},
				&cli.BoolFlag{Name: "force-relay", Usage: "只经 TURN 中继（网络封锁 UDP 时） TURN relay only"},
				&cli.DurationFlag{Name: "duration", Usage: "运行时长后退出并打印统计（默认直到 Ctrl-C） run this long, then print the figures"},
			},
			Action: seatJoin,
		}},
	}
}

func seatJoin(ctx context.Context, cmd *cli.Command) error {
	b, err := os.ReadFile(cmd.String("grant"))
	if err != nil {
		return err
	}
	var g signaling.Grant
	if err := json.Unmarshal(b, &g); err != nil || g.URL == "" || g.Token == "" {
		return fmt.Errorf("入会凭证格式错误（需要平台签发的 JSON，含 url 与 token）: %v", err)
	}
	if d := cmd.Duration("duration"); d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	// The grant says which backend issued it, and so which client protocol its URL speaks.
	var stats func() (identity string, sent map[signaling.TrackKind]uint64, received int, all any)
	switch g.Backend {
	case "", "embedded":
		cfg := seat.ConfigFromGrant(g)
		cfg.VideoFile, cfg.AudioFile = cmd.String("video"), cmd.String("audio")
		cfg.Loopback, cfg.ForceRelay = cmd.Bool("loopback"), cmd.Bool("force-relay")
		ag := seat.New(cfg)
		err = ag.Run(ctx)
		stats = func() (string, map[signaling.TrackKind]uint64, int, any) {
			st := ag.Stats()
			return st.Identity, st.Sent, len(st.Received), st
		}
	case "livekit":
		// LiveKit's server chooses the candidates and the relay: --loopback and
		// --force-relay do not apply.
		cfg := lkseat.ConfigFromGrant(g)
		cfg.VideoFile, cfg.AudioFile = cmd.String("video"), cmd.String("audio")
		ag := lkseat.New(cfg)
		err = ag.Run(ctx)
		stats = func() (string, map[signaling.TrackKind]uint64, int, any) {
			st := ag.Stats()
			return st.Identity, st.Sent, len(st.Received), st
		}
	default:
		return fmt.Errorf("入会凭证的媒体后端 %q 不受支持（embedded 或 livekit）", g.Backend)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = nil
	}
	identity, sent, received, all := stats()
	fmt.Fprintf(os.Stderr, "工位 %s：已发送 音频 %d、视频 %d；收到 %d 路媒体，运行至 %s\n", identity,
		sent[signaling.Audio], sent[signaling.Video], received, time.Now().Format(time.TimeOnly))
	if perr := printJSON(all); err == nil {
		err = perr
	}
	return err
}
