package blob

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/kaiping/kaiping"
)

// TestTranslate covers the answers of servers the tests cannot start, AWS's in particular,
// next to MinIO's.
func TestTranslate(t *testing.T) {
	resp := func(status int, code, msg string) error {
		return minio.ErrorResponse{StatusCode: status, Code: code, Message: msg}
	}
	tests := []struct {
		name     string
		err      error
		wantKind kaiping.Kind
		wantCode string
	}{
		{"minio locked", resp(400, "InvalidRequest", "Object is WORM protected and cannot be overwritten"), kaiping.KindConflict, CodeLocked},
		{"aws locked", resp(403, "AccessDenied", "Access Denied because object protected by object lock."), kaiping.KindConflict, CodeLocked},
		{"wrapped locked", fmt.Errorf("x: %w", resp(400, "InvalidRequest", "Object is WORM protected")), kaiping.KindConflict, CodeLocked},
		{"access denied", resp(403, "AccessDenied", "Access Denied."), kaiping.KindInternal, "internal"},
		{"bad credentials", resp(403, "InvalidAccessKeyId", "The Access Key Id you provided does not exist."), kaiping.KindInternal, "internal"},
		{"past retain date", resp(400, "InvalidRequest", "the retain until date must be in the future"), kaiping.KindInvalid, CodeInvalid},
		{"no key", resp(404, "NoSuchKey", ""), kaiping.KindNotFound, CodeNotFound},
		{"no version", resp(404, "NoSuchVersion", ""), kaiping.KindNotFound, CodeNotFound},
		{"no bucket", resp(404, "NoSuchBucket", ""), kaiping.KindNotFound, CodeNoBucket},
		{"no upload", resp(404, "NoSuchUpload", ""), kaiping.KindNotFound, CodeNoUpload},
		{"exists", resp(412, "PreconditionFailed", ""), kaiping.KindConflict, CodeExists},
		{"small part", resp(400, "EntityTooSmall", ""), kaiping.KindInvalid, CodeInvalid},
		{"bad digest", resp(400, "BadDigest", ""), kaiping.KindInvalid, CodeInvalid},
		{"starting", resp(503, "XMinioServerNotInitialized", "Server not initialized yet"), kaiping.KindUnavailable, CodeUnavailable},
		{"slow down", resp(503, "SlowDown", ""), kaiping.KindUnavailable, CodeUnavailable},
		{"server fault", resp(500, "InternalError", ""), kaiping.KindInternal, "internal"},
		{"deadline", context.DeadlineExceeded, kaiping.KindUnavailable, CodeUnavailable},
		{"canceled", context.Canceled, kaiping.KindInternal, "internal"},
		{"kind kept", kaiping.E(kaiping.KindTooLate, "bid.late", "已过截止时间"), kaiping.KindTooLate, "bid.late"},
		{"anything else", errors.New("boom"), kaiping.KindInternal, "internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := translate("blob.Test", tt.err)
			if kaiping.KindOf(err) != tt.wantKind || kaiping.CodeOf(err) != tt.wantCode {
				t.Errorf("translate = %v, want %s/%s", err, tt.wantKind, tt.wantCode)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("translate lost the cause %v", tt.err)
			}
		})
	}
	if translate("blob.Test", nil) != nil {
		t.Error("translate(nil) != nil")
	}
}

func TestFullObjectSHA256(t *testing.T) {
	tests := []struct {
		name, b64, mode, want string
	}{
		{"full object", "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=", "FULL_OBJECT",
			"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"},
		{"no mode", "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=", "",
			"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"},
		{"composite", "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=", "COMPOSITE", ""},
		{"composite suffix", "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=-3", "", ""},
		{"not sha256", "AAAA", "", ""},
		{"none", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fullObjectSHA256(tt.b64, tt.mode); got != tt.want {
				t.Errorf("fullObjectSHA256(%q, %q) = %q, want %q", tt.b64, tt.mode, got, tt.want)
			}
		})
	}
}

func TestRetentionNormalize(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))
	tests := []struct {
		name     string
		in       Retention
		want     Retention
		wantCode string
	}{
		{"none", Retention{}, Retention{}, ""},
		{"mode filled in, UTC", Retention{RetainUntil: at}, Retention{Mode: Compliance, RetainUntil: at.UTC()}, ""},
		{"rounded up to the second", Retention{Mode: Compliance, RetainUntil: at.Add(time.Millisecond)},
			Retention{Mode: Compliance, RetainUntil: at.UTC().Add(time.Second)}, ""},
		{"governance", Retention{Mode: Governance, RetainUntil: at}, Retention{}, CodeRetention},
		{"mode without date", Retention{Mode: Compliance}, Retention{}, CodeRetention},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.normalize("blob.Test")
			if tt.wantCode != "" {
				if kaiping.CodeOf(err) != tt.wantCode || kaiping.KindOf(err) != kaiping.KindInvalid {
					t.Fatalf("normalize(%+v) error = %v, want invalid %s", tt.in, err, tt.wantCode)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("normalize(%+v) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}
