package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
)

// DecodeJSON decodes the request body into v strictly: the body must be JSON, unknown fields
// are refused (a typo must not silently drop a field), and exactly one value is allowed.
func DecodeJSON(c *fiber.Ctx, v any) error {
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return kaiping.E(kaiping.KindInvalid, "request.empty_body", "请求体为空，需要 JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalidJSON(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return kaiping.E(kaiping.KindInvalid, "request.trailing_data", "请求体在 JSON 之后还有多余内容")
	}
	return nil
}

func invalidJSON(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return kaiping.Errorf(kaiping.KindInvalid, "request.malformed_json", "JSON 格式错误（第 %d 字节）", syn.Offset)
	case errors.As(err, &typ):
		return kaiping.Errorf(kaiping.KindInvalid, "request.wrong_type", "字段 %s 的类型应为 %s", typ.Field, typ.Type)
	case bytes.HasPrefix([]byte(err.Error()), []byte("json: unknown field")):
		return kaiping.Errorf(kaiping.KindInvalid, "request.unknown_field", "未知字段：%s", err.Error()[len("json: unknown field "):])
	}
	return kaiping.E(kaiping.KindInvalid, "request.malformed_json", fmt.Sprintf("JSON 无法解析：%v", err))
}
