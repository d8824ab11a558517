package httpapi

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/kaiping/kaiping"
)

// DecodeJSON decodes the request body into v strictly: the body must be JSON, unknown fields
// are refused (a typo must not silently drop a field), exactly one value is allowed, and then
// checkStrict refuses what encoding/json lets through: a key that names a field in another
// case ({"Price":…} for "price"), a key twice in one object (which of the two counts
// depends on the parser: a signed or ledgered body must mean one thing), and text with
// bidirectional or control characters (kaiping.CheckText). Every route decodes its body
// here, so this is where those rules live.
//
// A string field tagged `text:"line"` is single-line: newline and tab are refused too.
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
	return checkStrict(body, reflect.TypeOf(v))
}

// checkStrict walks the (already decoded, so well-formed) body alongside the type it was
// decoded into.
func checkStrict(body []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	w := walker{dec: dec}
	if err := w.value(t, "", kaiping.MultiLine); err != nil {
		if kaiping.KindOf(err) == kaiping.KindInternal {
			return invalidJSON(err)
		}
		return err
	}
	return nil
}

type walker struct{ dec *json.Decoder }

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// concrete is the type whose fields the JSON maps to, or nil where the shape is free (an
// interface, a type that decodes itself, or a key unknown to the type).
func concrete(t reflect.Type) reflect.Type {
	for t != nil {
		if t.Kind() != reflect.Pointer && (reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler)) {
			return nil
		}
		if t.Kind() != reflect.Pointer {
			return t
		}
		t = t.Elem()
	}
	return nil
}

func (w walker) value(t reflect.Type, path string, mode kaiping.TextMode) error {
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	t = concrete(t)
	switch tok := tok.(type) {
	case string:
		return kaiping.CheckText(orRoot(path), tok, mode)
	case json.Delim:
		switch tok {
		case '{':
			return w.object(t, path)
		case '[':
			var elem reflect.Type
			if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
				elem = t.Elem()
			}
			for i := 0; w.dec.More(); i++ {
				if err := w.value(elem, fmt.Sprintf("%s[%d]", path, i), mode); err != nil {
					return err
				}
			}
			_, err := w.dec.Token() // ']'
			return err
		}
	}
	return nil
}

func (w walker) object(t reflect.Type, path string) error {
	var fields map[string]field
	var elem reflect.Type
	if t != nil {
		switch t.Kind() {
		case reflect.Struct:
			fields = jsonFields(t)
		case reflect.Map:
			elem = t.Elem()
		}
	}
	seen := map[string]bool{}
	for w.dec.More() {
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		key := tok.(string)
		at := key
		if path != "" {
			at = path + "." + key
		}
		if err := kaiping.CheckText(at, key, kaiping.SingleLine); err != nil {
			return err
		}
		if seen[key] {
			return kaiping.Errorf(kaiping.KindInvalid, "request.duplicate_key", "字段 %s 重复出现", at)
		}
		seen[key] = true
		next, mode := elem, kaiping.MultiLine
		if fields != nil {
			f, ok := fields[key]
			if !ok {
				for name := range fields {
					if strings.EqualFold(name, key) {
						return kaiping.Errorf(kaiping.KindInvalid, "request.key_case",
							"字段名 %s 的大小写不对，应为 %s", at, name)
					}
				}
			}
			next, mode = f.typ, f.mode
		}
		if err := w.value(next, at, mode); err != nil {
			return err
		}
	}
	_, err := w.dec.Token() // '}'
	return err
}

type field struct {
	typ  reflect.Type
	mode kaiping.TextMode
}

// jsonFields are the JSON names of t's fields as encoding/json sees them (a tag's name or
// the Go name; "-" and unexported fields skipped; untagged embedded structs flattened).
func jsonFields(t reflect.Type) map[string]field {
	out := map[string]field{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			if et := concrete(f.Type); et != nil && et.Kind() == reflect.Struct {
				for k, v := range jsonFields(et) {
					if _, ok := out[k]; !ok {
						out[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		mode := kaiping.MultiLine
		if f.Tag.Get("text") == "line" {
			mode = kaiping.SingleLine
		}
		out[name] = field{typ: f.Type, mode: mode}
	}
	return out
}

func orRoot(path string) string {
	if path == "" {
		return "（请求体）"
	}
	return path
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
