package streamtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
)

// uploadConfig is file_upload_config / image_upload_config.
type uploadConfig struct {
	AllowedFileExtensions []string `json:"allowed_file_extensions,omitempty"`
	BlockedFileExtensions []string `json:"blocked_file_extensions,omitempty"`
	AllowedMimeTypes      []string `json:"allowed_mime_types,omitempty"`
	BlockedMimeTypes      []string `json:"blocked_mime_types,omitempty"`
}

type appSettings struct {
	name               string
	webhookURL         string
	webhookEvents      []string
	beforeSendHookURL  string
	customActionURL    string
	disableAuthChecks  bool
	disablePermissions bool
	fileUpload         uploadConfig
	imageUpload        uploadConfig
}

// GET /app
func (s *Server) getApp(c *reqCtx) (int, map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.app
	configs := map[string]any{}
	types := sortedKeys(channelTypes)
	sort.Strings(types)
	for _, t := range types {
		configs[t] = s.channelConfig(t)
	}
	app := map[string]any{
		"name":                         a.name,
		"organization":                 "streamtest",
		"suspended":                    false,
		"suspended_explanation":        "",
		"channel_configs":              configs,
		"disable_auth_checks":          a.disableAuthChecks,
		"disable_permissions_checks":   a.disablePermissions,
		"webhook_url":                  a.webhookURL,
		"webhook_events":               append([]string{}, a.webhookEvents...),
		"before_message_send_hook_url": a.beforeSendHookURL,
		"custom_action_handler_url":    a.customActionURL,
		"file_upload_config":           a.fileUpload,
		"image_upload_config":          a.imageUpload,
		"multi_tenant_enabled":         false,
		"permission_version":           "v2",
		"push_notifications": map[string]any{
			"version": "v2", "offline_only": false,
			"apn": map[string]any{"enabled": false}, "firebase": map[string]any{"enabled": false},
			"huawei": map[string]any{"enabled": false}, "xiaomi": map[string]any{"enabled": false},
		},
	}
	return http.StatusOK, map[string]any{"app": app}, nil
}

// PATCH /app: the emulator applies webhook_url, webhook_events,
// before_message_send_hook_url, custom_action_handler_url,
// disable_auth_checks, disable_permissions_checks and the upload configs,
// and ignores every other key (stream-chat-go's UpdateAppSettings sends
// many zero-valued ones).
func (s *Server) updateApp(c *reqCtx) (int, map[string]any, *apiError) {
	if !c.auth.server {
		return 0, nil, c.notAllowed("UpdateApp", "app")
	}
	body, aerr := c.bodyObject()
	if aerr != nil {
		return 0, nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.st.app
	urlField := func(key string, dst *string) *apiError {
		if _, ok := body[key]; !ok {
			return nil
		}
		v, aerr := c.str(body, key)
		if aerr != nil {
			return aerr
		}
		if v != "" {
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return c.inputErr("%s must be an absolute http or https URL", key)
			}
		}
		*dst = v
		return nil
	}
	if aerr := urlField("webhook_url", &next.webhookURL); aerr != nil {
		return 0, nil, aerr
	}
	if aerr := urlField("before_message_send_hook_url", &next.beforeSendHookURL); aerr != nil {
		return 0, nil, aerr
	}
	if aerr := urlField("custom_action_handler_url", &next.customActionURL); aerr != nil {
		return 0, nil, aerr
	}
	if _, ok := body["webhook_events"]; ok {
		ev, aerr := c.strList(body, "webhook_events")
		if aerr != nil {
			return 0, nil, aerr
		}
		next.webhookEvents = ev
	}
	for key, dst := range map[string]*bool{"disable_auth_checks": &next.disableAuthChecks, "disable_permissions_checks": &next.disablePermissions} {
		if _, ok := body[key]; ok {
			b, aerr := c.boolean(body, key)
			if aerr != nil {
				return 0, nil, aerr
			}
			*dst = b
		}
	}
	for key, dst := range map[string]*uploadConfig{"file_upload_config": &next.fileUpload, "image_upload_config": &next.imageUpload} {
		if raw, ok := body[key]; ok && !isNull(raw) {
			var uc uploadConfig
			if err := json.Unmarshal(raw, &uc); err != nil {
				return 0, nil, c.inputErr("%s must be an object of string lists", key)
			}
			*dst = uc
		}
	}
	s.st.app = next
	return http.StatusOK, map[string]any{}, nil
}

// SetWebhookURL sets the app's webhook URL, as PATCH /app with webhook_url
// does; "" turns webhooks off. Events that happen afterwards are delivered
// to it.
func (s *Server) SetWebhookURL(u string) {
	s.mu.Lock()
	s.st.app.webhookURL = u
	s.mu.Unlock()
}
