// Package hub downloads CLIP checkpoints from the Hugging Face Hub and finds
// the ones already on disk, using the very cache layout of Python's
// huggingface_hub so that a model fetched by transformers is reused by goclip
// and the other way round.
//
// The cache (see [DefaultCacheDir]) holds one folder per repository:
//
//	{cache}/models--{org}--{name}/
//	    blobs/{etag}                 file contents, named by their ETag
//	                                 (the SHA-256 for LFS files, the git
//	                                 blob SHA-1 for small files)
//	    snapshots/{commit}/{file}    relative symlinks ../../blobs/{etag}
//	                                 (copies where symlinks are unsupported)
//	    refs/{revision}              the commit hash a branch or tag named,
//	                                 without a trailing newline
//	{cache}/.locks/models--{org}--{name}/{etag}.lock
//
// Downloads go to blobs/{etag}.incomplete, resume from it with a Range
// request, are checked against the LFS SHA-256 before they are renamed into
// place, and happen under an exclusive lock per blob, so concurrent goclip
// (or Python) processes share one cache safely.
//
// Settings follow huggingface_hub's environment variables: HF_HUB_CACHE,
// HF_HOME, XDG_CACHE_HOME, HF_ENDPOINT, HF_TOKEN, HF_TOKEN_PATH,
// HF_HUB_OFFLINE, HF_HUB_ETAG_TIMEOUT, HF_HUB_DOWNLOAD_TIMEOUT, and the usual
// proxy variables (HTTPS_PROXY, NO_PROXY, ...).
package hub
