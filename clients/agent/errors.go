package agent

import "net/http"

// apiError is a refusal as the agent answers it: {"error": {"code", "message"}}, the shape
// of the platform's own errors, so the pages show both alike.
type apiError struct {
	status  int
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

var (
	errOrigin = &apiError{http.StatusForbidden, "agent.origin_refused",
		"签名助手拒绝了此网页：该网站不在签名助手允许的平台地址（--origin）之列"}
	errHost = &apiError{http.StatusForbidden, "agent.host_refused",
		"签名助手只接受以 127.0.0.1 或 localhost 访问"}
	errNotPaired = &apiError{http.StatusUnauthorized, "agent.not_paired",
		"本网页尚未与签名助手配对，请输入签名助手窗口中显示的 6 位配对码"}
	errNoCode = &apiError{http.StatusConflict, "agent.pairing_code_missing",
		"配对码已失效或尚未生成，请重新发起配对"}
	errWrongCode = &apiError{http.StatusForbidden, "agent.pairing_code_wrong",
		"配对码不正确，请核对签名助手窗口中显示的 6 位数字（连续输错 3 次需重新发起配对）"}
	errBody = &apiError{http.StatusBadRequest, "agent.bad_request",
		"请求格式不正确"}
	errPurpose = &apiError{http.StatusBadRequest, "agent.purpose_refused",
		"签名助手不签署此类内容：只签署登录、开标记录确认、评标报告签名和澄清答复"}
	errNotFound = &apiError{http.StatusNotFound, "agent.not_found", "签名助手没有此功能"}
	errMethod   = &apiError{http.StatusMethodNotAllowed, "agent.method", "请求方法不正确"}
	errSign     = &apiError{http.StatusServiceUnavailable, "agent.sign_failed",
		"签名失败：请确认 UKEY 已插好并已解锁，然后重试"}
	errState = &apiError{http.StatusInternalServerError, "agent.state",
		"签名助手无法保存配对信息，请检查其状态文件的权限"}
)

// fieldError names the field that is missing or malformed.
func fieldError(field string) *apiError {
	return &apiError{http.StatusBadRequest, "agent.bad_field", "字段 " + field + " 缺失或格式不正确"}
}
