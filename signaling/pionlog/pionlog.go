// Package pionlog routes pion's logs (webrtc, ice, dtls, turn) into log/slog. pion reports
// as errors many things that are routine for a server (a socket closed during shutdown, a
// candidate for a finished ICE generation), so its errors are logged at Info, its warnings at
// Debug, and the rest not at all.
package pionlog

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/logging"
)

// Factory makes pion loggers that write to log.
func Factory(log *slog.Logger) logging.LoggerFactory { return factory{log} }

type factory struct{ log *slog.Logger }

func (f factory) NewLogger(scope string) logging.LeveledLogger {
	return logger{f.log.With("pion", scope)}
}

type logger struct{ log *slog.Logger }

func (l logger) emit(level slog.Level, msg string) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, msg)
	}
}

func (l logger) Trace(string)          {}
func (l logger) Tracef(string, ...any) {}
func (l logger) Debug(string)          {}
func (l logger) Debugf(string, ...any) {}
func (l logger) Info(string)           {}
func (l logger) Infof(string, ...any)  {}
func (l logger) Warn(msg string)       { l.emit(slog.LevelDebug, msg) }
func (l logger) Warnf(f string, a ...any) {
	l.emit(slog.LevelDebug, fmt.Sprintf(f, a...))
}
func (l logger) Error(msg string) { l.emit(slog.LevelInfo, msg) }
func (l logger) Errorf(f string, a ...any) {
	l.emit(slog.LevelInfo, fmt.Sprintf(f, a...))
}
