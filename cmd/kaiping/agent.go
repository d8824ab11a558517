package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v3"

	"github.com/kaiping/kaiping"
	"github.com/kaiping/kaiping/clients/agent"
)

func agentCommand() *cli.Command {
	return &cli.Command{
		Name:  "agent",
		Usage: "本地签名助手：让平台网页通过本机证书或 UKEY 登录和签名 (local signing agent for the pages)",
		Flags: append([]cli.Flag{certFlag,
			&cli.StringSliceFlag{Name: "origin", Required: true, Sources: cli.EnvVars("KAIPING_AGENT_ORIGIN"),
				Usage: "允许调用签名助手的平台地址，可重复 (platform origin allowed to call, repeatable), e.g. https://kaiping.example.cn"},
			&cli.IntFlag{Name: "port", Value: agent.DefaultPort, Usage: "监听端口（只监听 127.0.0.1） loopback port"},
			&cli.StringFlag{Name: "state", Usage: "配对信息文件 (pairings file, default: <user config dir>/kaiping/agent-state.json)"},
		}, keyFlags()...),
		Action: runAgent,
	}
}

func runAgent(ctx context.Context, cmd *cli.Command) error {
	chain, err := os.ReadFile(cmd.String("cert"))
	if err != nil {
		return fmt.Errorf("读取证书 --cert: %w", err)
	}
	key, closeKey, err := loadKey(cmd)
	if err != nil {
		return err
	}
	defer closeKey()
	state := cmd.String("state")
	if state == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return fmt.Errorf("找不到用户配置目录，请用 --state 指定配对信息文件: %w", err)
		}
		state = filepath.Join(dir, "kaiping", "agent-state.json")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	a, err := agent.New(agent.Config{
		Certificate: chain, Key: key, Origins: cmd.StringSlice("origin"), StatePath: state,
		Clock: kaiping.SystemClock{}, Version: version, Log: log,
		ShowCode: func(origin, code string) {
			fmt.Printf("\n  网页 %s 请求与签名助手配对。\n  如果这是您刚打开的平台页面，请在页面中输入配对码：%s\n\n", origin, code)
		},
	})
	if err != nil {
		return err
	}
	ln, err := agent.Listen(int(cmd.Int("port")))
	if err != nil {
		return err
	}
	fmt.Printf("签名助手已启动：http://%s （允许的平台：%v；配对信息：%s）\n", ln.Addr(), cmd.StringSlice("origin"), state)
	return a.Serve(ctx, ln)
}
