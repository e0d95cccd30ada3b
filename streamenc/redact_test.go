package streamenc_test

import (
	"reflect"
	"testing"

	"github.com/e3go/e3go/e3"
	"github.com/e3go/e3go/streamenc"
)

// No private key type is reachable from what streamenc hands to callers
// (messages, events, errors), whatever a caller prints or serialises.
func TestNoPrivateKeyReachable(t *testing.T) {
	secret := reflect.TypeOf(e3.PrivateKey{})
	client := reflect.TypeOf(e3.Client{})
	for _, v := range []any{streamenc.Message{}, streamenc.Attachment{}, streamenc.Event{}, streamenc.OpenError{}, streamenc.TooLongError{}, streamenc.File{}} {
		seen := map[reflect.Type]bool{}
		var walk func(reflect.Type, string)
		walk = func(ty reflect.Type, path string) {
			if seen[ty] {
				return
			}
			seen[ty] = true
			if ty == secret || ty == client {
				t.Errorf("%s reaches %v", path, ty)
				return
			}
			switch ty.Kind() {
			case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Chan:
				walk(ty.Elem(), path+"/*")
			case reflect.Map:
				walk(ty.Key(), path+"/key")
				walk(ty.Elem(), path+"/val")
			case reflect.Struct:
				for i := 0; i < ty.NumField(); i++ {
					walk(ty.Field(i).Type, path+"."+ty.Field(i).Name)
				}
			}
		}
		walk(reflect.TypeOf(v), reflect.TypeOf(v).Name())
	}
}
