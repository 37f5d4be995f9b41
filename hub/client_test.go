package hub

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestCacheDirFromEnv(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"HOME": "/home/u"}, "/home/u/.cache/huggingface/hub"},
		{map[string]string{"HOME": "/home/u", "XDG_CACHE_HOME": "/xdg"}, "/xdg/huggingface/hub"},
		{map[string]string{"HOME": "/home/u", "XDG_CACHE_HOME": "/xdg", "HF_HOME": "/hf"}, "/hf/hub"},
		{map[string]string{"HOME": "/home/u", "HF_HOME": "~/hf"}, "/home/u/hf/hub"},
		{map[string]string{"HF_HOME": "/hf", "HUGGINGFACE_HUB_CACHE": "/legacy"}, "/legacy"},
		{map[string]string{"HF_HOME": "/hf", "HUGGINGFACE_HUB_CACHE": "/legacy", "HF_HUB_CACHE": "/new"}, "/new"},
		{map[string]string{"DATA": "/data", "HF_HUB_CACHE": "$DATA/hub"}, "/data/hub"},
		{map[string]string{"HF_HUB_CACHE": "/x/$UNSET/hub"}, "/x/${UNSET}/hub"},
	}
	for _, tc := range cases {
		got, err := cacheDirFromEnv(envMap(tc.env))
		if err != nil || got != filepath.FromSlash(tc.want) {
			t.Errorf("cacheDirFromEnv(%v) = %q, %v; want %q", tc.env, got, err, tc.want)
		}
	}
}

func TestNewClientFromEnv(t *testing.T) {
	home := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(home, "hf"), 0o777))
	must(t, os.WriteFile(filepath.Join(home, "hf", "token"), []byte("hf_fromfile\n"), 0o600))
	base := map[string]string{"HOME": home, "HF_HOME": filepath.Join(home, "hf")}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}

	c, err := newClientFromEnv(envMap(base))
	if err != nil {
		t.Fatal(err)
	}
	if c.Endpoint != DefaultEndpoint || c.Token != "hf_fromfile" || c.Offline ||
		c.CacheDir != filepath.Join(home, "hf", "hub") || c.HTTP == nil {
		t.Errorf("defaults: %+v", c)
	}
	c, err = newClientFromEnv(envMap(with("HF_TOKEN", "hf_env", "HF_ENDPOINT", "https://mirror.example/",
		"HF_HUB_OFFLINE", "yes", "HF_HUB_ETAG_TIMEOUT", "3", "HF_HUB_DOWNLOAD_TIMEOUT", "60")))
	if err != nil {
		t.Fatal(err)
	}
	if c.Token != "hf_env" || c.Endpoint != "https://mirror.example" || !c.Offline ||
		c.RequestTimeout != 3*time.Second || c.StallTimeout != time.Minute {
		t.Errorf("from env: %+v", c)
	}
	tokenPath := filepath.Join(home, "other-token")
	must(t, os.WriteFile(tokenPath, []byte("  hf_other  "), 0o600))
	if c, err = newClientFromEnv(envMap(with("HF_TOKEN_PATH", tokenPath, "TRANSFORMERS_OFFLINE", "1"))); err != nil ||
		c.Token != "hf_other" || !c.Offline {
		t.Errorf("HF_TOKEN_PATH / TRANSFORMERS_OFFLINE: %+v, %v", c, err)
	}
	if c, err = newClientFromEnv(envMap(map[string]string{"HOME": home})); err != nil || c.Token != "" {
		t.Errorf("no token file: %+v, %v", c, err)
	}
	for _, v := range []string{"0", "false", "no", ""} {
		if envTrue(v) {
			t.Errorf("envTrue(%q)", v)
		}
	}
	if _, err := newClientFromEnv(envMap(with("HF_HUB_ETAG_TIMEOUT", "soon"))); err == nil {
		t.Error("bad timeout accepted")
	}
}
