package recorder

import (
	"github.com/kaiping/kaiping"
)

// The stable error codes of the recorder.
const (
	// CodeBackendUnsupported: the grant names a backend the recorder cannot join.
	CodeBackendUnsupported = "recorder.backend_unsupported"
	// CodeJoinFailed: the recorder could not join the room (the server's own refusal keeps
	// its signaling.* code instead).
	CodeJoinFailed = "recorder.join_failed"
	// CodeClosed: the recorder was shut down.
	CodeClosed = "recorder.closed"
	// CodeStorePending: Stop gave up waiting while the files were still being stored; they
	// stay in the spool and are stored later (Recover).
	CodeStorePending = "recorder.store_pending"
	// CodeDigestMismatch: an archived object does not hold the bytes the manifest names.
	CodeDigestMismatch = "recorder.digest_mismatch"
	// CodeManifestInvalid: a manifest in the spool or the archive cannot be read.
	CodeManifestInvalid = "recorder.manifest_invalid"
	// CodeIncomplete: a recording begun in the catalog lacks objects in the archive.
	CodeIncomplete = "recorder.incomplete"
)

func errClosed() *kaiping.Error {
	return kaiping.E(kaiping.KindUnavailable, CodeClosed, "录制服务已停止")
}

func errBackend(backend string) *kaiping.Error {
	return kaiping.Errorf(kaiping.KindInvalid, CodeBackendUnsupported, "录制服务不支持音视频后端 %q", backend)
}

func errDigest(key string) *kaiping.Error {
	return kaiping.Errorf(kaiping.KindConflict, CodeDigestMismatch, "归档文件 %s 的内容与录像清单不符", key)
}

func errManifest(format string, args ...any) *kaiping.Error {
	return kaiping.Errorf(kaiping.KindInvalid, CodeManifestInvalid, "录像清单无法读取："+format, args...)
}
