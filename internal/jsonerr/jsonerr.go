// Package jsonerr turns encoding/json's errors into messages for the
// person who wrote the file: the field by its JSON path and the kind of
// value wanted, never a Go type name.
package jsonerr

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
)

// Explain rewrites an error of json.Unmarshal or json.Decoder.Decode; in
// is the path of the object being decoded ("text_config", or "" for the
// top level). Other errors are returned as they are.
func Explain(err error, in string) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te):
		field := te.Field
		if in != "" {
			field = in + "." + field
		}
		if field == "" {
			return fmt.Errorf("the JSON is %s, want %s", article(te.Value), want(te.Type))
		}
		return fmt.Errorf("%s is %s, want %s", field, article(te.Value), want(te.Type))
	case errors.Is(err, io.ErrUnexpectedEOF) || err.Error() == "unexpected end of JSON input":
		return errors.New("not valid JSON: it ends before it is complete")
	case errors.As(err, &se):
		return fmt.Errorf("not valid JSON (at byte %d): %v", se.Offset, se)
	}
	return err
}

// article names a JSON value kind as json reports it ("string", "number
// -1", "array") with its article.
func article(v string) string {
	switch {
	case v == "":
		return "a value"
	case v[0] == 'a' || v[0] == 'o':
		return "an " + v
	}
	return "a " + v
}

// want names what a Go type accepts, in JSON's words.
func want(t reflect.Type) string {
	if t == nil {
		return "another kind of value"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number, at least 0"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return want(t.Elem())
	}
	return "another kind of value"
}
