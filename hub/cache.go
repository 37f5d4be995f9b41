package hub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/goclip/goclip/internal/atomicfile"
)

// linkPointer makes pointer a relative symlink to blob (for
// snapshots/{commit}/config.json: ../../blobs/{etag}), replacing whatever
// was there atomically. Where symlinks are not supported (Windows without
// developer mode, some network shares) it copies the blob instead, as
// huggingface_hub does.
func linkPointer(blob, pointer string) error {
	dir := filepath.Dir(pointer)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return wrapWriteErr(dir, err)
	}
	rel, err := filepath.Rel(dir, blob)
	if err != nil {
		return fmt.Errorf("hub: %w", inner(err))
	}
	tmp := tempName(pointer)
	if err := os.Symlink(rel, tmp); err != nil {
		return copyFile(blob, pointer)
	}
	if err := os.Rename(tmp, pointer); err != nil {
		os.Remove(tmp)
		return wrapWriteErr(pointer, err)
	}
	return nil
}

// tempName is a sibling of path unlikely to collide between processes.
func tempName(path string) string {
	return path + ".tmp" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(rand.Uint64(), 36)
}

// copyFile copies src to dst atomically (package atomicfile).
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("hub: %w", inner(err))
	}
	defer in.Close()
	return wrapWriteErr(dst, atomicfile.Write(dst, 0o666, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	}))
}

// writeRef records that revision names commit: refs/{revision} holds the
// hash without a newline. It is rewritten only when it changes.
func writeRef(repoDir, revision, commit string) error {
	path := filepath.Join(repoDir, "refs", filepath.FromSlash(revision))
	if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) == commit {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		return wrapWriteErr(filepath.Dir(path), err)
	}
	return wrapWriteErr(path, atomicfile.WriteFile(path, []byte(commit), 0o666))
}

// readRef returns the commit refs/{revision} names, or "" if none.
func readRef(repoDir, revision string) string {
	b, err := os.ReadFile(filepath.Join(repoDir, "refs", filepath.FromSlash(revision)))
	if err != nil {
		return ""
	}
	commit := strings.TrimSpace(string(b))
	if !IsCommitHash(commit) {
		return ""
	}
	return commit
}

// Cached returns the snapshot folder of repoID at revision ("" means
// "main") if the cache holds a usable copy, without any network access. A
// branch or tag is resolved through refs/{revision}; a commit hash names
// the snapshot directly. Usable means the configuration and the weights
// (all shards of a sharded checkpoint) are there and readable, whoever
// downloaded them (goclip, transformers, huggingface-cli).
func (c *Client) Cached(repoID, revision string) (string, bool) {
	if revision == "" {
		revision = DefaultRevision
	}
	if c.CacheDir == "" || validateRepoID(repoID) != nil || validateRevision(revision) != nil {
		return "", false
	}
	repoDir := filepath.Join(c.CacheDir, RepoFolderName(repoID))
	commit := revision
	if !IsCommitHash(revision) {
		if commit = readRef(repoDir, revision); commit == "" {
			return "", false
		}
	}
	dir := filepath.Join(repoDir, "snapshots", commit)
	if snapshotComplete(dir) != nil {
		return "", false
	}
	return dir, true
}

// snapshotFiles lists the files of a snapshot folder (slash-separated,
// relative), keeping only entries that resolve to a regular file, so a
// symlink to a deleted blob counts as missing.
func snapshotFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	return out, err
}

// snapshotComplete returns nil when dir holds a loadable checkpoint: the
// files SelectFiles picks from what is there, including every shard named
// by a shard index.
func snapshotComplete(dir string) error {
	names, err := snapshotFiles(dir)
	if err != nil {
		return err
	}
	files, _, err := SelectFiles(names)
	if err != nil {
		return err
	}
	for _, f := range files {
		if !isShardIndex(f) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil {
			return err
		}
		shards, err := ShardFiles(b)
		if err != nil {
			return err
		}
		for _, sh := range shards {
			if !slices.Contains(names, sh) {
				return fmt.Errorf("hub: shard %s missing from %s", sh, dir)
			}
		}
	}
	return nil
}

// CachedModel describes one model repository found in a cache folder.
type CachedModel struct {
	RepoID string // "org/name"
	Dir    string // {cache}/models--org--name
	// Size is the bytes the repository takes on disk: every blob counted
	// once however many snapshots link it, plus partial downloads and
	// files copied into snapshots where symlinks are unsupported.
	Size      int64
	Revisions []CachedRevision // sorted by commit
	// CLIP reports a CLIP checkpoint: a snapshot has open_clip_config.json
	// or a config.json whose model_type is "clip".
	CLIP bool
}

// CachedRevision is one snapshot of a cached repository.
type CachedRevision struct {
	Commit string
	Refs   []string // branches and tags naming this commit, sorted
	Dir    string   // the snapshot folder
	// Complete reports that Download would use this snapshot offline (see
	// Client.Cached).
	Complete bool
}

// ListCached lists the model repositories of a hub cache folder, sorted by
// repository id. A missing folder is an empty cache, not an error.
func ListCached(cacheDir string) ([]CachedModel, error) {
	entries, err := os.ReadDir(cacheDir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("hub: listing cache: %w", inner(err))
	}
	var out []CachedModel
	for _, e := range entries {
		id, ok := repoIDFromFolder(e.Name())
		if !ok || !e.IsDir() {
			continue
		}
		m, err := scanRepo(filepath.Join(cacheDir, e.Name()), id)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b CachedModel) int { return strings.Compare(a.RepoID, b.RepoID) })
	return out, nil
}

func scanRepo(dir, id string) (CachedModel, error) {
	m := CachedModel{RepoID: id, Dir: dir}
	// WalkDir does not follow symlinks, so each blob is counted once.
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrPermission) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				m.Size += info.Size()
			}
		}
		return nil
	})
	if err != nil {
		return m, fmt.Errorf("hub: scanning %s: %w", dir, inner(err))
	}
	refs := map[string][]string{}
	refsDir := filepath.Join(dir, "refs")
	filepath.WalkDir(refsDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(refsDir, p)
		if commit := readRef(dir, filepath.ToSlash(rel)); commit != "" {
			refs[commit] = append(refs[commit], filepath.ToSlash(rel))
		}
		return nil
	})
	snaps, _ := os.ReadDir(filepath.Join(dir, "snapshots"))
	for _, s := range snaps {
		if !s.IsDir() {
			continue
		}
		r := CachedRevision{Commit: s.Name(), Refs: refs[s.Name()], Dir: filepath.Join(dir, "snapshots", s.Name())}
		slices.Sort(r.Refs)
		r.Complete = snapshotComplete(r.Dir) == nil
		m.CLIP = m.CLIP || isCLIPSnapshot(r.Dir)
		m.Revisions = append(m.Revisions, r)
	}
	return m, nil
}

// isCLIPSnapshot looks for open_clip_config.json or a CLIP config.json.
func isCLIPSnapshot(dir string) bool {
	if fileExists(filepath.Join(dir, fileOpenCLIPConfig)) {
		return true
	}
	b, err := os.ReadFile(filepath.Join(dir, fileConfig))
	if err != nil || len(b) > 1<<20 {
		return false
	}
	var cfg struct {
		ModelType string `json:"model_type"`
	}
	return json.Unmarshal(bytes.TrimSpace(b), &cfg) == nil && cfg.ModelType == "clip"
}
