package hub

import (
	"context"
	"fmt"
	"os"
	"path"
	"regexp"
	"strings"
)

// repoIDPattern is huggingface_hub's validate_repo_id rule: an optional
// namespace and a name made of letters, digits, "-", "_" and ".".
var repoIDPattern = regexp.MustCompile(`^(?:[\w\-.]+/)?[\w\-.]+$`)

// commitPattern matches a full git commit hash as used in snapshot folders.
var commitPattern = regexp.MustCompile(`^[0-9a-f]{40}$`)

// ParseModelRef splits a model reference "org/name" or "org/name@revision"
// into the repository id and revision ("" when not given). ok is false when
// s is not a Hub reference: a string that names an existing file or folder
// is a local path, and so is anything that looks like one ("./x", "/x",
// "~/x", "C:\x") or is not of the form org/name.
func ParseModelRef(s string) (repo, revision string, ok bool) {
	if s == "" {
		return "", "", false
	}
	if _, err := os.Stat(s); err == nil {
		return "", "", false
	}
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "~") ||
		strings.ContainsAny(s, `\:`) {
		return "", "", false
	}
	repo, revision, hasRev := strings.Cut(s, "@")
	if hasRev && validateRevision(revision) != nil {
		return "", "", false
	}
	if strings.Count(repo, "/") != 1 || validateRepoID(repo) != nil {
		return "", "", false
	}
	return repo, revision, true
}

// validateRepoID applies huggingface_hub's repo id rules, which also keep
// the id safe to embed in a folder name and a URL path.
func validateRepoID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("hub: empty repository id")
	case len(id) > 96:
		return fmt.Errorf("hub: repository id %q is longer than 96 characters", id)
	case !repoIDPattern.MatchString(id),
		strings.Contains(id, "--"), strings.Contains(id, ".."),
		strings.HasPrefix(id, "-"), strings.HasPrefix(id, "."),
		strings.HasSuffix(id, "-"), strings.HasSuffix(id, "."):
		return fmt.Errorf("hub: invalid repository id %q: want org/name made of letters, digits, '-', '_' and '.'", id)
	}
	for _, part := range strings.Split(id, "/") {
		if strings.HasPrefix(part, ".") || strings.HasPrefix(part, "-") || strings.HasSuffix(part, ".") || strings.HasSuffix(part, "-") {
			return fmt.Errorf("hub: invalid repository id %q", id)
		}
	}
	return nil
}

// validateRevision accepts branch, tag and commit names (including
// "refs/pr/1") but nothing that could escape the refs folder.
func validateRevision(rev string) error {
	if rev == "" || strings.ContainsAny(rev, "\\\x00\n\r") || strings.HasPrefix(rev, "/") ||
		strings.HasSuffix(rev, "/") {
		return fmt.Errorf("hub: invalid revision %q", rev)
	}
	for _, part := range strings.Split(rev, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("hub: invalid revision %q", rev)
		}
	}
	return nil
}

// validateRepoFile accepts a relative, clean, slash-separated path inside a
// repository.
func validateRepoFile(name string) error {
	if name == "" || strings.ContainsAny(name, "\\\x00") || path.IsAbs(name) ||
		path.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../") || strings.Contains(name, ":") {
		return fmt.Errorf("hub: unsafe file name %q in repository listing", name)
	}
	return nil
}

// IsCommitHash reports whether rev is a full 40-character commit hash, the
// only kind of revision that never changes and so needs no network check.
func IsCommitHash(rev string) bool { return commitPattern.MatchString(rev) }

// RepoFolderName is the cache folder name of a model repository:
// "models--org--name".
func RepoFolderName(repoID string) string {
	return "models--" + strings.ReplaceAll(repoID, "/", "--")
}

// repoIDFromFolder inverts RepoFolderName; ok is false for other folders
// (datasets--, spaces--, .locks, ...).
func repoIDFromFolder(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "models--")
	if !ok || rest == "" {
		return "", false
	}
	return strings.ReplaceAll(rest, "--", "/"), true
}

// DefaultModel is the model a command uses when none is named: the model
// of the user's reference write-up.
const DefaultModel = "openai/clip-vit-base-patch32"

// ResolveModel turns a model reference into a local folder: a folder as it
// is; a Hub id (ParseModelRef) through the huggingface_hub cache, with a
// client configured by NewClientFromEnv, downloading what is missing
// (progress, when set, follows each file) unless the client is offline
// and the cache has the revision. An empty ref means DefaultModel.
func ResolveModel(ctx context.Context, ref string, progress func(file string, done, total int64)) (string, error) {
	if ref == "" {
		ref = DefaultModel
	}
	repo, rev, ok := ParseModelRef(ref)
	if !ok {
		fi, err := os.Stat(ref)
		if err != nil {
			return "", fmt.Errorf("model %s: %w", ref, err)
		}
		if !fi.IsDir() {
			return "", fmt.Errorf("model %s: not a folder (want a model folder or a Hub id such as %s)", ref, DefaultModel)
		}
		return ref, nil
	}
	c, err := NewClientFromEnv()
	if err != nil {
		return "", err
	}
	if dir, ok := c.Cached(repo, rev); ok && c.Offline {
		return dir, nil
	}
	c.Progress = progress
	dir, err := c.Download(ctx, repo, rev)
	if err != nil {
		return "", fmt.Errorf("model %s: %w", ref, err)
	}
	return dir, nil
}
