/* sinkstream's C API: load a model, run endless streams on it (a sinks +
 * window KV cache of fixed size), feed tokens, read logits, sample.
 *
 * Errors: functions return an ss_status (or a negative count); the message of
 * the last failure on the calling thread is ss_last_error() (valid until the
 * next failing call on that thread). No C++ exception crosses this API.
 *
 * Thread safety: functions that take a const ss_model (tokenizing, pieces,
 * metadata) may be called from any thread at once. One ss_stream is used by
 * one thread at a time; different streams may run on different threads.
 * Free every stream of a model before the model (a stream keeps the weights
 * alive until it is freed either way). */
#ifndef SINKSTREAM_H
#define SINKSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#  if defined(SINKSTREAM_BUILDING_SHARED)
#    define SS_API __declspec(dllexport)
#  elif defined(SINKSTREAM_SHARED)
#    define SS_API __declspec(dllimport)
#  else
#    define SS_API
#  endif
#else
#  define SS_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ss_model ss_model;
typedef struct ss_stream ss_stream;

typedef enum {
  SS_OK = 0,
  SS_ERR_INVALID_ARGUMENT, /* a NULL, an id out of range, a bad setting or file contents the caller chose */
  SS_ERR_IO,               /* a file that cannot be opened or read */
  SS_ERR_FORMAT,           /* a model file sinkstream cannot read */
  SS_ERR_NO_DEVICE,        /* no usable Vulkan device, or not the one asked for */
  SS_ERR_OUT_OF_MEMORY,    /* device (or host) memory exhausted; the message says what would fit */
  SS_ERR_DEVICE_LOST,      /* the device was lost or a submission timed out: free the stream */
  SS_ERR_NUMERICAL,        /* the NaN/Inf guard found a non-finite value */
  SS_ERR_INTERNAL
} ss_status;

/* Cache element type (fixed values: new ones are appended). SS_KV_Q8_0: ggml's q8_0
   blocks along head_dim, about half of f16's memory. */
typedef enum { SS_KV_F16 = 0, SS_KV_F32 = 1, SS_KV_Q8_0 = 2 } ss_kv_type;

typedef struct {
  const char *device;    /* NULL: best device; else an index or a name substring */
  const char *tokenizer; /* NULL: the model's own; a llama2.c checkpoint needs its tok*.bin */
} ss_model_params;

typedef struct {
  uint32_t sinks;  /* pinned attention-sink slots */
  uint32_t window; /* 0: model context - sinks */
  ss_kv_type kv_type;
} ss_stream_params;

typedef struct {
  float temperature; /* 0: greedy (the largest logit, the lowest id on ties) */
  int32_t top_k;     /* 0: off */
  float top_p;       /* 1: off */
  float min_p;       /* 0: off */
  float repeat_penalty; /* 1: off */
  uint64_t seed;
} ss_sampler_params;

SS_API ss_model_params ss_model_default_params(void);
SS_API ss_stream_params ss_stream_default_params(void); /* sinks 4, window 0, f16 */
SS_API ss_sampler_params ss_sampler_default_params(void); /* 0.8, 40, 0.95, 0.05, 1.0, seed 42 */

/* The message of the last failure on this thread ("" when none). */
SS_API const char *ss_last_error(void);
/* "0.1.0" */
SS_API const char *ss_version(void);

SS_API ss_status ss_model_load(const char *path, const ss_model_params *p, ss_model **out);
SS_API void ss_model_free(ss_model *m); /* NULL: nothing */
/* < 0 when m is NULL (as for every int32_t result below). */
SS_API int32_t ss_model_vocab_size(const ss_model *m);
SS_API int32_t ss_model_context(const ss_model *m); /* training context (0: unknown) */
SS_API int32_t ss_token_bos(const ss_model *m);     /* -1: none */
SS_API int32_t ss_token_eos(const ss_model *m);     /* -1: none */
SS_API bool ss_token_is_eog(const ss_model *m, int32_t token); /* ends generation (EOS, EOT, <|im_end|>, ...) */

/* Returns the token count; when it exceeds capacity nothing is written. < 0: error.
 * len < 0: text is NUL-terminated. Control-token text ("<|im_end|>") becomes
 * that token. out may be NULL when capacity is 0 (to ask for the count). */
SS_API int32_t ss_tokenize(const ss_model *m, const char *text, int32_t len, bool add_bos, int32_t *out,
                           int32_t capacity);
/* The bytes of one token (not NUL-terminated; may be part of a UTF-8
 * character). Returns the byte count; when it exceeds capacity nothing is
 * written. < 0: error. */
SS_API int32_t ss_token_to_piece(const ss_model *m, int32_t token, char *buf, int32_t capacity);
/* Chat messages -> prompt text with the model's built-in chat format (or the
 * one named by `format`: chatml, llama2, llama3, mistral, phi3, gemma, zephyr,
 * plain; NULL: the model's). Writes a NUL-terminated string; returns its length
 * without the NUL; when length + 1 exceeds capacity nothing is written. < 0: error.
 * Tokenize the result with add_bos = ss_chat_needs_bos(...): true where the
 * vocabulary asks for BOS (tokenizer.ggml.add_bos_token) and the format does not
 * write it. */
SS_API int32_t ss_chat_apply(const ss_model *m, const char *format, const char *const *roles,
                             const char *const *contents, int32_t n_messages, bool add_generation_prompt,
                             char *buf, int32_t capacity);
SS_API bool ss_chat_needs_bos(const ss_model *m, const char *format);

SS_API ss_status ss_stream_create(ss_model *m, const ss_stream_params *p, ss_stream **out);
SS_API void ss_stream_free(ss_stream *s); /* NULL: nothing */
SS_API ss_status ss_stream_feed(ss_stream *s, const int32_t *tokens, int32_t n); /* logits of the last one */
SS_API const float *ss_stream_logits(const ss_stream *s); /* vocab floats; NULL before the first feed */
SS_API ss_status ss_stream_sample(ss_stream *s, const ss_sampler_params *p, int32_t *token); /* does not feed */
/* Forgets the stream: the next feed starts at position 0 in an empty cache (the sampler's history too). */
SS_API ss_status ss_stream_reset(ss_stream *s);

typedef struct {
  uint64_t tokens;       /* fed since the stream started */
  uint64_t evicted;      /* tokens that have left the window */
  uint32_t slots_used;   /* filled sink + window slots */
  uint32_t capacity;     /* sinks + window */
  uint64_t device_bytes; /* weights + this stream's cache and activations */
} ss_stream_stats;
SS_API ss_status ss_stream_get_stats(const ss_stream *s, ss_stream_stats *out);

/* Generates from the stream's current logits (feed a prompt first): samples,
 * calls on_token with the token and its showable text (UTF-8-complete; `len`
 * bytes, not NUL-terminated), feeds it, and so on, until an end-of-generation
 * token (not handed over), max_tokens (0: no limit) or on_token returning
 * false. Plain greedy params decode several steps per GPU submission. The
 * number of tokens handed over goes to *n_generated (may be NULL). */
typedef bool (*ss_token_callback)(int32_t token, const char *text, int32_t len, void *user);
SS_API ss_status ss_stream_generate(ss_stream *s, const ss_sampler_params *p, int32_t max_tokens,
                                    ss_token_callback on_token, void *user, int32_t *n_generated);

#ifdef __cplusplus
}
#endif

#endif /* SINKSTREAM_H */
