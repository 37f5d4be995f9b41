// Package cache stores CLIP embeddings on disk so that work already done is
// never repeated: re-running an evaluation with new prompts re-encodes no
// image, and a run that was interrupted resumes where it stopped.
//
// The store is a single bbolt file (by default embeddings.db under
// [DefaultDir]). bbolt is a copy-on-write B+tree: a transaction writes new
// pages, fsyncs them, then fsyncs a new meta page that points at them, so
// after a crash or kill -9 the file opens at the last committed transaction
// and nothing committed is lost. Writers commit one batch per transaction
// ([Cache.PutImages], [Cache.PutTexts]), so a crash loses at most the batch
// being written.
//
// Entries are keyed by a model fingerprint (clip.Model.Fingerprint: every
// byte of the files the model was loaded from) and by the content of the
// input: the SHA-256 of an image's bytes (imageproc.Input.Key) or a
// prompt's text. Each model has
// its own buckets, one per [Kind], so one model never sees another's
// vectors.
//
// Vectors are stored as little-endian float32 with a small header (format
// version, dimension, CRC-32C of the payload). An entry that fails
// validation is treated as a miss, counted and reported through
// [Options.OnCorrupt]; it never causes a panic, and the next Put of the same
// key replaces it.
//
// A Cache is safe for concurrent use by multiple goroutines. One process at
// a time may open a file for writing (readers in other processes share a
// lock among themselves); a second process waits at most [Options.Timeout]
// and then gets an error wrapping [ErrLocked]. A file that is not a valid
// cache is refused with an error wrapping [ErrCorrupt] that names it; the
// package never deletes or rewrites such a file.
package cache
